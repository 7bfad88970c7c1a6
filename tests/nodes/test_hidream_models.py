"""HiDream from ComfyUI's files: the transformer (HiDream's layout with and without ComfyUI's prefix, fp8mixed),
its adapter against the diffusers module called as diffusers' HiDream pipeline calls it, the hidream CLIP type
against transformers' modules (CLIP-L's projected pooled output with the file's projection, bigG's, T5's 128
masked tokens, every Llama layer), Llama's tokenizer beside the file or a clear error, and the official I1
(dev, fast, full) and E1 (full, 1.1) templates run end to end with tiny models under their file names."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine.core.formats import ui_to_api
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.encoders import EncodeRequest, files, recipe
from inkgraph.nodes.diffusion.families import load_diffusion_model
from inkgraph.nodes.diffusion.families.hidream import HiDreamAdapter
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_hidream as th
from tests.fixtures import tiny_text as tt

TEMPLATES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows" / "templates"
RUNS = ["hidream_i1_dev", "hidream_i1_fast", "hidream_i1_full", "hidream_e1_full", "hidream_e1_1"]
UNETS = {"hidream_i1_dev_fp8.safetensors": 1, "hidream_i1_fast_fp8.safetensors": 2,
         "hidream_i1_full_fp8.safetensors": 3, "hidream_e1_full_bf16.safetensors": 4,
         "hidream_e1_1_bf16.safetensors": 5}


def _linear(state: dict[str, torch.Tensor], start: tuple[str, ...]) -> set[str]:
    return {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
            and k.startswith(start) and not k.endswith("gate.weight")}


def clip_l_with_projection(seed: int) -> tuple[Any, dict[str, torch.Tensor]]:
    model = tt.clip("clip_l", seed)
    state = tt.comfy_clip_state(model)
    state["text_projection.weight"] = torch.randn(tt.CLIP_WIDTH, tt.CLIP_WIDTH,
                                                  generator=torch.Generator().manual_seed(seed)) * 0.2
    return model, state


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hidream")
    models = root / "models"
    encoders = models / "text_encoders"
    _, clip_l = clip_l_with_projection(1)
    tt.save_encoder(clip_l, encoders / "clip_l_hidream.safetensors")
    tt.save_encoder(tt.comfy_clip_state(tt.clip("clip_g", 2)), encoders / "clip_g_hidream.safetensors")
    tt.save_encoder(tt.comfy_t5_state(tt.t5(3)), encoders / "t5xxl_fp8_e4m3fn_scaled.safetensors", "scaled_fp8")
    llama = th.comfy_llama_state(th.llama(4))
    td.save(td.scaled_fp8(llama, _linear(llama, ("model.layers.",))),
            encoders / "llama_3.1_8b_instruct_fp8_scaled.safetensors")
    th.save_tokenizer(encoders)
    for name, seed in UNETS.items():
        state = th.hidream(seed).state_dict()
        if "fp8" in name:
            td.save(td.fp8_mixed(state, _linear(state, ("double_stream_blocks.", "single_stream_blocks."))),
                    models / "diffusion_models" / name)
        else:
            td.save(state, models / "diffusion_models" / name, "model.diffusion_model.", dtype=torch.bfloat16)
    td.save(td.vae_state(td.vae(6)), models / "vae" / "ae.safetensors")
    (root / "input").mkdir()
    return root


@pytest.fixture(scope="module")
def runtime(base: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=base, cache="none"))


# -- the transformer ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
def test_files_load_with_their_architecture_and_exact_weights(tmp_path: Path, prefix: str) -> None:
    model = th.hidream(7, doubles=2, singles=1, experts=3)
    td.save(model.state_dict(), tmp_path / "hidream.safetensors", prefix)
    loaded, detected = load_diffusion_model(tmp_path / "hidream.safetensors", torch.float32)
    assert (detected.family.name, detected.prefix) == ("hidream", prefix)
    config = detected.config
    assert (config["num_layers"], config["num_single_layers"], config["num_routed_experts"]) == (2, 1, 3)
    assert config["caption_channels"] == [tt.T5_WIDTH, th.LLAMA_WIDTH] and config["llama_layers"] == [0, 1, 2]
    expected = model.state_dict()
    assert set(loaded.state_dict()) == set(expected)
    assert all(torch.equal(loaded.state_dict()[k], expected[k]) for k in expected)


def test_the_real_file_reads_as_comfyui_configures_it() -> None:
    """HiDream I1 full: 16 + 32 blocks 2560 wide (20 heads of 128, axes 64/32/32), patch 2, 4 routed experts,
    captions from T5 (4096) and Llama (4096), pooled 2048; ComfyUI's Llama layer per block."""
    from diffusers import HiDreamImageTransformer2DModel

    from inkgraph.nodes.diffusion.families.hidream import LLAMA_LAYERS, HiDream
    from inkgraph.nodes.diffusion.state_dict import TensorIndex, TensorInfo

    with torch.device("meta"):
        model = HiDreamImageTransformer2DModel(
            patch_size=2, in_channels=16, out_channels=16, num_layers=16, num_single_layers=32,
            attention_head_dim=128, num_attention_heads=20, caption_channels=[4096, 4096], text_emb_dim=2048,
            num_routed_experts=4, num_activated_experts=2, axes_dims_rope=(64, 32, 32), max_resolution=(128, 128),
            llama_layers=list(LLAMA_LAYERS))
    index = TensorIndex({"model.diffusion_model." + k: TensorInfo(tuple(v.shape), "BF16")
                         for k, v in model.state_dict().items()}, {})
    detected = HiDream().detect(index)
    assert detected is not None
    for key, value in model.config.items():
        if key in detected.config:
            assert list(detected.config[key]) == list(value) if isinstance(value, (list, tuple)) \
                else detected.config[key] == value, key
    assert LLAMA_LAYERS == (*range(32), *[31] * 16)


def ctx(shape: tuple[int, ...]) -> EncodeContext:
    return EncodeContext("positive", shape, torch.device("cpu"), torch.float32)


def test_the_adapter_feeds_the_module_as_diffusers_hidream_pipeline() -> None:
    """HiDreamImagePipeline (square latents): the latents as they are, timesteps 1000·σ, T5's states, Llama's
    layers stacked first, the pooled embeddings; the prediction negated. ComfyUI's HiDream feeds the same."""
    model = th.hidream(8)
    adapter = HiDreamAdapter()
    generator = torch.Generator().manual_seed(0)
    t5, llama = torch.randn(1, 128, tt.T5_WIDTH, generator=generator), torch.randn(1, 2, 20, 32, generator=generator)
    pooled = torch.randn(1, 64, generator=generator)
    x = torch.randn(2, 16, 6, 6, generator=generator)
    timestep = torch.tensor([700.0, 700.0])
    with torch.no_grad():
        conds = adapter.encode(model, t5, {"pooled_output": pooled, "conditioning_llama3": llama}, ctx(tuple(x.shape)))
        ours = adapter.apply(model, x, timestep, {k: v.expand(2, *v.shape[1:]) for k, v in conds.items()})
        reference = -model(hidden_states=x, timesteps=timestep, encoder_hidden_states_t5=t5.expand(2, -1, -1),
                           encoder_hidden_states_llama3=llama.expand(2, -1, -1, -1).movedim(1, 0),
                           pooled_embeds=pooled.expand(2, -1), return_dict=False)[0]
    assert torch.allclose(ours, reference, atol=1e-5)


def test_odd_and_wide_latents_are_padded_wrapping_and_cropped_without_diffusers_4096_token_padding() -> None:
    """ComfyUI pads a latent to the patch size (wrapping) and patchifies only its own tokens; the output is
    cropped back. E1's image goes beside the latent along the width and is cut off the prediction."""
    from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT

    model = th.hidream(9)
    adapter = HiDreamAdapter()
    generator = torch.Generator().manual_seed(1)
    t5, llama = torch.randn(1, 128, tt.T5_WIDTH, generator=generator), torch.randn(1, 2, 20, 32, generator=generator)
    x = torch.randn(1, 16, 5, 7, generator=generator)
    image = torch.randn(1, 16, 5, 7, generator=generator)
    tokens: list[int] = []
    hook = model.x_embedder.register_forward_pre_hook(lambda module, args: tokens.append(args[0].shape[1]))
    with torch.no_grad():
        plain = adapter.encode(model, t5, {"conditioning_llama3": llama}, ctx(tuple(x.shape)))
        assert torch.equal(plain["pooled"], torch.zeros(1, 64))
        ours = adapter.apply(model, x, torch.tensor([500.0]), plain)
        edit = adapter.encode(model, t5, {"conditioning_llama3": llama, "concat_latent_image": image},
                              ctx(tuple(x.shape)))
        assert torch.allclose(edit["image_cond"], FLUX_LATENT.process_in(image))
        edited = adapter.apply(model, x, torch.tensor([500.0]), edit)
    hook.remove()
    assert tokens == [3 * 4, 3 * 7]  # 6×8 latent: 3×4 patches; with E1's image beside it (5×14 → 6×14): 3×7
    assert ours.shape == edited.shape == x.shape
    assert not torch.allclose(ours, edited, atol=1e-4)


# -- the text encoders -------------------------------------------------------------------------------------

def _load(path: Path) -> Any:
    (found,) = files.find_file(path)
    return found, files.load(path, found, torch.float32)


def test_the_hidream_type_reads_each_encoder_as_comfyui(base: Path) -> None:
    """Pooled: CLIP-L's pooled state through the file's projection beside bigG's projected output; T5: 128
    tokens (the prompt, ``</s>``, padding) run with the mask; Llama: ``<|begin_of_text|>``, the prompt, padding
    to 128 with ``<|eot_id|>`` masked, and what enters each layer after the first plus the normed output."""
    from transformers import PreTrainedTokenizerFast

    from inkgraph.nodes.diffusion.encoders.t5 import t5_tokenizer

    folder = base / "models" / "text_encoders"
    encoders = {}
    for name in ("clip_l_hidream", "clip_g_hidream", "t5xxl_fp8_e4m3fn_scaled", "llama_3.1_8b_instruct_fp8_scaled"):
        found, encoder = _load(folder / f"{name}.safetensors")
        encoders[found.kind.name] = encoder
    assert set(encoders) == {"clip_l", "clip_g", "t5xxl", "llama3_8b"}
    texts = {"clip_l": "a red fox", "clip_g": "a cat on a mat", "t5xxl": "a house in the snow", "llama": "a bowl"}
    ((states, extra),) = recipe("hidream").encode_texts(encoders, texts, None, EncodeRequest())
    with torch.no_grad():
        from inkgraph.nodes.diffusion.text import clip_tokenizer

        l_ids = torch.tensor([[49406, *clip_tokenizer()("a red fox", add_special_tokens=False)["input_ids"], 49407]])
        l_pooled = encoders["clip_l"](input_ids=l_ids).pooler_output @ encoders["clip_l"].inkgraph_text_projection.T
        g_ids = torch.tensor([[49406, *clip_tokenizer()("a cat on a mat", add_special_tokens=False)["input_ids"],
                               49407]])
        g_pooled = encoders["clip_g"](input_ids=g_ids).text_embeds
        words = t5_tokenizer()("a house in the snow", add_special_tokens=False)["input_ids"]
        t5_ids = torch.tensor([[*words, 1] + [0] * (127 - len(words))])
        t5_mask = (torch.arange(128) <= len(words)).long()[None]
        t5_states = encoders["t5xxl"](input_ids=t5_ids, attention_mask=t5_mask).last_hidden_state
        tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(folder / "llama_tokenizer" / "tokenizer.json"))
        start, pad = tokenizer.convert_tokens_to_ids(["<|begin_of_text|>", "<|eot_id|>"])
        prompt = tokenizer("a bowl", add_special_tokens=False)["input_ids"]
        llama_ids = torch.tensor([[start, *prompt] + [pad] * (127 - len(prompt))])
        llama_mask = (torch.arange(128) <= len(prompt)).long()[None]
        hidden = encoders["llama3_8b"](input_ids=llama_ids, attention_mask=llama_mask,
                                       output_hidden_states=True).hidden_states
    assert torch.allclose(extra["pooled_output"][:, :32], l_pooled, atol=1e-5)
    assert torch.allclose(extra["pooled_output"][:, 32:], g_pooled, atol=1e-5)
    assert states.shape == (1, 128, tt.T5_WIDTH) and torch.allclose(states, t5_states, atol=1e-5)
    llama = extra["conditioning_llama3"]
    assert llama.shape == (1, 2, 128, th.LLAMA_WIDTH)
    assert torch.allclose(llama, torch.stack(hidden[1:], dim=1), atol=1e-5)


def test_missing_encoders_are_comfyuis_zeros(base: Path) -> None:
    folder = base / "models" / "text_encoders"
    _, clip_g = _load(folder / "clip_g_hidream.safetensors")
    ((states, extra),) = recipe("hidream").encode({"clip_g": clip_g}, "a fox", None, EncodeRequest())
    assert torch.equal(states, torch.zeros(1, 128, 4096))
    assert torch.equal(extra["conditioning_llama3"], torch.zeros(1, 32, 1, 4096))
    assert torch.equal(extra["pooled_output"][:, :768], torch.zeros(1, 768))


def test_a_lone_llama_file_is_hidreams_and_needs_its_tokenizer(base: Path, tmp_path: Path) -> None:
    from inkgraph.engine.core.devices import ModelManager
    from inkgraph.nodes.diffusion.loading import load_text_encoders

    folder = base / "models" / "text_encoders"
    handle = load_text_encoders(ModelManager(), [folder / "llama_3.1_8b_instruct_fp8_scaled.safetensors"], "sd3")
    assert handle.recipe == "hidream"
    td.save(th.comfy_llama_state(th.llama(5)), tmp_path / "llama_3.1_8b_instruct_fp16.safetensors")
    (found,) = files.find_file(tmp_path / "llama_3.1_8b_instruct_fp16.safetensors")
    with pytest.raises(ModelFileError, match=r"llama_3.1_8b_instruct_fp16.safetensors: Llama 3's tokenizer is not "
                                             r"shipped.*llama_tokenizer/tokenizer.json"):
        files.load(tmp_path / "llama_3.1_8b_instruct_fp16.safetensors", found, torch.float32)


# -- the official templates ------------------------------------------------------------------------------------

def template(name: str, runtime: Runtime) -> dict[str, Any]:
    from PIL import Image

    prompt, _ = ui_to_api(json.loads((TEMPLATES / f"{name}.json").read_text()), runtime.registry.get)
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "LoadImage" and not (runtime.folders.input / inputs["image"]).exists():
            Image.new("RGB", (48, 40), (120, 60, 200)).save(runtime.folders.input / inputs["image"])
        if node["class_type"] == "EmptySD3LatentImage":
            inputs["width"], inputs["height"] = 64, 48
        if node["class_type"] == "ImageScale":
            inputs["width"], inputs["height"] = 64, 48
        if node["class_type"] == "ImageScaleToTotalPixels":
            inputs["megapixels"] = 0.01
        if isinstance(inputs.get("steps"), int):
            inputs["steps"] = 2
    return prompt


@pytest.mark.parametrize("name", RUNS)
def test_official_templates_run_with_tiny_models(runtime: Runtime, name: str) -> None:
    _, outcome = runtime.run(template(name, runtime))
    assert outcome.status_str == "success", outcome.error
    assert [item for output in outcome.outputs.values() for item in output.get("images", [])]


def test_a_hidream_lora_in_comfyuis_and_kohyas_names_reaches_the_model(runtime: Runtime, base: Path) -> None:
    from safetensors.torch import save_file

    from inkgraph.nodes.loaders import LoraLoaderModelOnly, UNETLoader

    generator = torch.Generator().manual_seed(11)
    comfy = "diffusion_model.double_stream_blocks.0.block.attn1.to_q."
    kohya = "lora_unet_single_stream_blocks_0_block_attn1_to_v."
    lora = {comfy + "lora_A.weight": torch.randn(2, 64, generator=generator),
            comfy + "lora_B.weight": torch.randn(64, 2, generator=generator),
            kohya + "lora_down.weight": torch.randn(2, 64, generator=generator),
            kohya + "lora_up.weight": torch.randn(64, 2, generator=generator), kohya + "alpha": torch.tensor(2.0)}
    (base / "models" / "loras").mkdir(exist_ok=True)
    save_file(lora, str(base / "models" / "loras" / "hidream_lora.safetensors"))

    class Ctx:
        models, folders, extra_data, node_id = runtime.models, runtime.folders, {}, "t"

    model = UNETLoader(Ctx(), "hidream_e1_full_bf16.safetensors", weight_dtype="default")  # type: ignore[arg-type]
    patched = LoraLoaderModelOnly(Ctx(), model, "hidream_lora.safetensors", 0.5)  # type: ignore[arg-type]
    names = ("double_stream_blocks.0.block.attn1.to_q", "single_stream_blocks.0.block.attn1.to_v")
    with torch.inference_mode(), model.use() as module:
        before = [module.get_submodule(n).weight.float().clone() for n in names]
    with torch.inference_mode(), patched.use() as module:
        after = [module.get_submodule(n).weight.float().clone() for n in names]
    q = lora[comfy + "lora_B.weight"] @ lora[comfy + "lora_A.weight"]
    v = lora[kohya + "lora_up.weight"] @ lora[kohya + "lora_down.weight"]
    assert torch.allclose(after[0] - before[0], 0.5 * q, atol=3e-2)  # bf16 weights
    assert torch.allclose(after[1] - before[1], 0.5 * v, atol=3e-2)


def test_long_clip_files_tokenize_in_chunks_as_long_as_their_position_table(tmp_path: Path) -> None:
    """clip_l_hidream / clip_g_hidream have 248 positions: ComfyUI chunks their prompts at 248, so the pooled
    output of a 100-token prompt is the one chunk's (a 77-token chunking would pool the first 75 tokens)."""
    from transformers import CLIPTextConfig, CLIPTextModel

    from inkgraph.nodes.diffusion.text import clip_tokenizer
    from tests.fixtures.tiny_dit import randomize

    config = CLIPTextConfig(hidden_size=32, intermediate_size=64, num_attention_heads=1, num_hidden_layers=2,
                            vocab_size=49408, max_position_embeddings=248, projection_dim=32, hidden_act="quick_gelu",
                            bos_token_id=49406, eos_token_id=49407, pad_token_id=1)
    model = randomize(CLIPTextModel(config), 12)
    tt.save_encoder(tt.comfy_clip_state(model), tmp_path / "clip_l_hidream.safetensors")
    _, encoder = _load(tmp_path / "clip_l_hidream.safetensors")
    assert encoder.config.max_position_embeddings == 248
    text = " ".join(["a red fox jumps over the lazy dog"] * 12)  # ≈ 96 tokens
    ((_, extra),) = recipe("hidream").encode({"clip_l": encoder}, text, None, EncodeRequest())
    words = clip_tokenizer()(text, add_special_tokens=False)["input_ids"]
    assert 75 < len(words) < 246
    ids = torch.tensor([[49406, *words, 49407] + [49407] * (246 - len(words))])
    with torch.no_grad():  # the file's weights (fp16), its projection the identity here
        expected = encoder(input_ids=ids).pooler_output
        first_77 = encoder(input_ids=torch.tensor([[49406, *words[:75], 49407]])).pooler_output
    assert torch.allclose(extra["pooled_output"][:, :32], expected, atol=1e-5)
    assert not torch.allclose(expected, first_77, atol=1e-3)
