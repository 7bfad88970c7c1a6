"""Text encoders as ComfyUI's repackaged files have them (CLIP-L, bigG, OpenCLIP-H, T5-XXL in fp16, fp8 and
scaled fp8, alone or under an all-in-one prefix) and the prompt recipes of CLIPLoader's types, against the
transformers modules called directly and ComfyUI's tokenizer rules written out by hand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.nodes.diffusion.encoders import RECIPES, EncodeRequest, files
from inkgraph.nodes.diffusion.encoders.clip import openclip_to_hf
from inkgraph.nodes.diffusion.encoders.prompt import tokenize
from inkgraph.nodes.diffusion.encoders.t5 import t5_rules, t5_tokenizer
from inkgraph.nodes.diffusion.ldm_format import openclip_hf_to_ldm
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from inkgraph.nodes.diffusion.text import END, START, clip_rules
from tests.fixtures import tiny_text as tt


@pytest.fixture(scope="module")
def encoders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("te")
    models = tt.save_set(root)
    models["clip_h"] = tt.clip("clip_h", 5)
    tt.save_encoder(tt.comfy_clip_state(models["clip_h"]), root / "clip_h.safetensors")
    return {"root": root, **models}


def load(path: Path, index: int = 0) -> tuple[Any, Any]:
    found = files.find_file(path)
    return found[index], files.load(path, found[index], torch.float32)


def plain(model: Any) -> dict[str, torch.Tensor]:
    return {k.removeprefix("text_model."): v for k, v in model.state_dict().items()}


@pytest.mark.parametrize("kind", ["clip_l", "clip_g", "t5xxl"])
def test_repackaged_files_load_with_their_architecture_and_exact_weights(encoders: dict[str, Any], kind: str) -> None:
    name = {"t5xxl": "t5xxl_fp16"}.get(kind, kind)
    detected, model = load(encoders["root"] / f"{name}.safetensors")
    original = encoders[kind]
    assert detected.kind.name == kind and detected.prefix == ""
    assert type(model) is type(original)
    got, want = plain(model), plain(original)
    assert {k for k in want if "position_ids" not in k} <= set(got)
    for key, value in want.items():
        if "position_ids" not in key:
            assert torch.equal(got[key], value.half().float()), key  # the file is fp16
    for field in ("hidden_size", "num_hidden_layers", "intermediate_size", "d_model", "num_heads", "d_ff", "d_kv",
                  "num_layers", "vocab_size", "projection_dim"):
        if hasattr(original.config, field) and field in model.config.to_dict():
            assert getattr(model.config, field) == getattr(original.config, field), field


def test_openclip_h_is_read_without_its_last_layer_as_sd2_reads_it(encoders: dict[str, Any]) -> None:
    detected, model = load(encoders["root"] / "clip_h.safetensors")
    assert detected.kind.name == "clip_h" and model.config.num_hidden_layers == 23
    ids = torch.tensor([[START, 320, 1125, END]])
    with torch.no_grad():
        want = encoders["clip_h"](input_ids=ids, output_hidden_states=True).hidden_states[-2]
        got = model(input_ids=ids, output_hidden_states=True).hidden_states[-1]
    assert torch.allclose(got, want, atol=1e-3)


def test_openclip_keys_are_recognised(encoders: dict[str, Any], tmp_path: Path) -> None:
    model = encoders["clip_g"]
    state = openclip_hf_to_ldm(model.state_dict(), prefix="")
    assert torch.equal(openclip_to_hf(state)["text_projection.weight"], model.state_dict()["text_projection.weight"])
    path = tmp_path / "open_clip_bigG.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    detected, loaded = load(path)
    assert detected.kind.name == "clip_g" and detected.config["layout"] == "openclip"
    ids = torch.tensor([[START, 320, END]])
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).text_embeds, model(input_ids=ids).text_embeds, atol=1e-5)


def test_fp8_weights_stay_fp8_and_scaled_fp8_computes_with_its_scales(tmp_path: Path) -> None:
    model = tt.t5(3)
    state = tt.comfy_t5_state(model)
    tt.save_encoder(state, tmp_path / "t5xxl_fp8_e4m3fn.safetensors", "fp8")
    tt.save_encoder(state, tmp_path / "t5xxl_fp8_e4m3fn_scaled.safetensors", "scaled_fp8")
    _, fp8 = load(tmp_path / "t5xxl_fp8_e4m3fn.safetensors")
    _, scaled = load(tmp_path / "t5xxl_fp8_e4m3fn_scaled.safetensors")
    from safetensors.torch import load_file

    raw = load_file(str(tmp_path / "t5xxl_fp8_e4m3fn_scaled.safetensors"))
    assert "scaled_fp8" in raw
    q = scaled.encoder.block[0].layer[0].SelfAttention.q
    assert q.weight.dtype == torch.float8_e4m3fn and fp8.encoder.block[0].layer[0].SelfAttention.q.weight.dtype \
        == torch.float8_e4m3fn
    key = "encoder.block.0.layer.0.SelfAttention.q"
    assert torch.equal(q.weight, raw[key + ".weight"]) and torch.equal(q.scale_weight, raw[key + ".scale_weight"])
    ids = torch.tensor([[3, 9, 1712, 1]])
    reference = tt.t5(3)  # the same network with the scaled file's effective weights
    with torch.no_grad():
        for name, param in reference.named_parameters():
            module = name.removesuffix(".weight")
            if module + ".scale_weight" in raw:
                param.copy_(raw[name].float() * raw[module + ".scale_weight"])
            else:
                param.copy_(raw["shared.weight" if name == "encoder.embed_tokens.weight" else name].float())
        want = reference(input_ids=ids).last_hidden_state
        assert torch.allclose(scaled(input_ids=ids).last_hidden_state, want, atol=1e-4)
        exact = model(input_ids=ids).last_hidden_state
        assert (fp8(input_ids=ids).last_hidden_state - exact).norm() / exact.norm() < 0.1


def test_all_in_one_prefixes_are_found(encoders: dict[str, Any], tmp_path: Path) -> None:
    state: dict[str, torch.Tensor] = {}
    for slot in ("clip_l", "clip_g"):
        state.update({f"text_encoders.{slot}.transformer.{k}": v
                      for k, v in tt.comfy_clip_state(encoders[slot]).items()})
    state.update({f"text_encoders.t5xxl.transformer.{k}": v for k, v in tt.comfy_t5_state(encoders["t5xxl"]).items()})
    state["model.diffusion_model.x.weight"] = torch.zeros(1)
    path = tmp_path / "aio.safetensors"
    save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    found = files.find_file(path)
    assert [(f.kind.name, f.prefix) for f in found] == [
        ("clip_g", "text_encoders.clip_g.transformer."), ("clip_l", "text_encoders.clip_l.transformer."),
        ("t5xxl", "text_encoders.t5xxl.transformer.")]


def test_a_file_without_a_text_encoder_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "lora.safetensors"
    save_file({"lora_unet_x.lora_down.weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(ModelFileError, match="lora.safetensors holds no text encoder.*lora_unet_x"):
        files.find_file(path)


# -- tokenization ---------------------------------------------------------------------------------------

def ids(chunks: list[Any]) -> list[list[int]]:
    return [[int(t) for t, _ in chunk] for chunk in chunks]


def test_t5_prompts_end_with_eos_and_pad_to_each_recipes_minimum() -> None:
    words = t5_tokenizer()("a photo of a fox", add_special_tokens=False)["input_ids"]
    for minimum in (256, 77):
        (chunk,) = ids(tokenize("a photo of a fox", t5_rules(minimum)))
        assert chunk == words + [1] + [0] * (minimum - len(words) - 1)
    assert ids(tokenize("a photo of a fox", t5_rules(1, empty_has_end=False))) == [words + [1]]  # Chroma: no padding
    long = " ".join(["fox"] * 400)
    (chunk,) = ids(tokenize(long, t5_rules(256)))
    assert len(chunk) > 256 and chunk[-1] == 1  # one chunk, however long


def test_t5_tokenizer_options_pad_as_comfyui() -> None:
    words = t5_tokenizer()("a fox", add_special_tokens=False)["input_ids"]
    rules = t5_rules(256).configured({"t5xxl_min_padding": 3, "t5xxl_min_length": 0})
    assert ids(tokenize("a fox", rules)) == [words + [1, 0, 0, 0]]
    assert t5_rules(256).configured({}) == t5_rules(256)


def test_emphasis_is_measured_against_the_recipes_empty_prompt() -> None:
    assert t5_rules(256).empty(4) == [1, 0, 0, 0]
    assert t5_rules(1, empty_has_end=False).empty(4) == [0, 0, 0, 0]  # PixArt/Chroma: padding only
    assert clip_rules().empty(5) == [START, END, END, END, END]


# -- recipes --------------------------------------------------------------------------------------------

def run_recipe(name: str, modules: dict[str, Any], text: str | dict[str, str], **options: Any) -> list[list[Any]]:
    recipe = RECIPES[name]
    request = EncodeRequest(None, [], options)
    with torch.no_grad():
        if isinstance(text, dict):
            return recipe.encode_texts(modules, text, None, request)
        return recipe.encode(modules, text, None, request)


def t5_ids(text: str, minimum: int) -> torch.Tensor:
    return torch.tensor(ids(tokenize(text, t5_rules(minimum))))


def clip_ids(text: str, pad: int = END) -> torch.Tensor:
    return torch.tensor(ids(tokenize(text, clip_rules(pad))))


def test_flux_recipe_is_t5_states_and_clip_l_pooled_unprojected(encoders: dict[str, Any]) -> None:
    l_model, t5 = encoders["clip_l"], encoders["t5xxl"]
    ((states, options),) = run_recipe("flux", {"clip_l": l_model, "t5xxl": t5}, "a red fox")
    with torch.no_grad():
        want_states = t5(input_ids=t5_ids("a red fox", 256)).last_hidden_state
        want_pooled = l_model(input_ids=clip_ids("a red fox")).pooler_output
    assert states.shape == (1, 256, tt.T5_WIDTH) and torch.allclose(states, want_states, atol=1e-6)
    assert torch.allclose(options["pooled_output"], want_pooled, atol=1e-6)
    (separate,) = run_recipe("flux", {"clip_l": l_model, "t5xxl": t5}, {"clip_l": "a fox", "t5xxl": "a red fox"})
    assert torch.allclose(separate[0], want_states, atol=1e-6) and not torch.allclose(separate[1]["pooled_output"],
                                                                                      want_pooled)


def test_sd3_recipe_joins_clip_widths_pads_to_t5_and_appends_t5_tokens(encoders: dict[str, Any]) -> None:
    l_model, g_model, t5 = encoders["clip_l"], encoders["clip_g"], encoders["t5xxl"]
    ((context, options),) = run_recipe("sd3", {"clip_l": l_model, "clip_g": g_model, "t5xxl": t5}, "a fox")
    with torch.no_grad():
        lo = l_model(input_ids=clip_ids("a fox"), output_hidden_states=True)
        go = g_model(input_ids=clip_ids("a fox", 0), output_hidden_states=True)
        t5_states = t5(input_ids=t5_ids("a fox", 77)).last_hidden_state
    lg = torch.cat([lo.hidden_states[-2], go.hidden_states[-2]], dim=-1)  # penultimate, no final norm
    width = tt.T5_WIDTH
    want = torch.cat([torch.nn.functional.pad(lg, (0, width - lg.shape[-1])), t5_states], dim=1)
    assert context.shape == (1, 77 + 77, width) and torch.allclose(context, want, atol=1e-6)
    assert torch.allclose(options["pooled_output"], torch.cat([lo.pooler_output, go.text_embeds], -1), atol=1e-6)


def test_sd3_recipe_zero_fills_missing_encoders(encoders: dict[str, Any]) -> None:
    l_model, t5 = encoders["clip_l"], encoders["t5xxl"]
    ((context, options),) = run_recipe("sd3", {"t5xxl": t5}, "a fox")
    assert context.shape == (1, 77, tt.T5_WIDTH) and torch.equal(options["pooled_output"], torch.zeros(1, 2048))
    ((context, options),) = run_recipe("sd3", {"clip_l": l_model}, "a fox")
    assert context.shape == (1, 77, 4096)  # padded to T5-XXL's width when there is no T5
    assert torch.equal(context[..., tt.CLIP_WIDTH:], torch.zeros(1, 77, 4096 - tt.CLIP_WIDTH))
    assert torch.equal(options["pooled_output"][:, tt.CLIP_WIDTH:], torch.zeros(1, 1280))


def test_sd3_empty_padding_none_gives_an_empty_prompt_no_tokens(encoders: dict[str, Any]) -> None:
    modules = {"clip_l": encoders["clip_l"], "clip_g": encoders["clip_g"], "t5xxl": encoders["t5xxl"]}
    texts = {"clip_l": "", "clip_g": "", "t5xxl": "a fox"}
    ((padded, _),) = run_recipe("sd3", modules, texts, empty_padding="empty_prompt")
    ((unpadded, pooled),) = run_recipe("sd3", modules, texts, empty_padding="none")
    assert padded.shape[1] == 77 + 77 and unpadded.shape[1] == 77  # no CLIP tokens at all
    assert torch.equal(pooled["pooled_output"], torch.zeros(1, 2048))
    ((only_eos, _),) = run_recipe("sd3", modules, {"clip_l": "a", "clip_g": "a", "t5xxl": ""}, empty_padding="none")
    assert only_eos.shape[1] == 77 + 1  # T5 with no tokens: its empty prompt, </s> alone


def test_chroma_recipe_is_unpadded_t5_without_pooled_output(encoders: dict[str, Any]) -> None:
    t5 = encoders["t5xxl"]
    ((states, options),) = run_recipe("chroma", {"t5xxl": t5}, "a red fox")
    with torch.no_grad():
        want = t5(input_ids=torch.tensor(ids(tokenize("a red fox", t5_rules(1))))).last_hidden_state
    assert states.shape[1] == want.shape[1] < 10 and torch.allclose(states, want, atol=1e-6)
    assert options == {}


def test_t5_reads_an_earlier_layer_with_its_final_norm(encoders: dict[str, Any]) -> None:
    t5 = encoders["t5xxl"]
    with torch.no_grad():
        ((states, _),) = RECIPES["chroma"].encode({"t5xxl": t5}, "a fox", -2, EncodeRequest(None, [], {}))
        hidden = t5(input_ids=torch.tensor(ids(tokenize("a fox", t5_rules(1)))), output_hidden_states=True)
        want = t5.encoder.final_layer_norm(hidden.hidden_states[-2])
    assert torch.allclose(states, want, atol=1e-6)


def test_recipes_refuse_encoders_they_do_not_take() -> None:
    with pytest.raises(ValueError, match="type 'flux' needs a t5xxl"):
        RECIPES["flux"].check(["clip_l"], "clip_l.safetensors")
    with pytest.raises(ValueError, match="takes t5xxl"):
        RECIPES["chroma"].check(["clip_l"])
    with pytest.raises(ValueError, match="Stable Diffusion takes"):
        RECIPES["stable_diffusion"].check(["clip_h", "clip_g"])
