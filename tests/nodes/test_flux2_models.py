"""Flux.2 from ComfyUI's files: the transformer (BFL's layout, with and without ComfyUI's prefix, fp8mixed; the
architecture the full-size dev and klein files show; the renaming against diffusers' own converter), its adapter
against the diffusers module called as diffusers' Flux.2 pipelines call it, the VAE's patchified and normalised
latents, and the text encoders — Mistral 3 Small with its tokenizer read from the file, Qwen3-4B/8B for klein
— with their templates token for token and the three layers ComfyUI reads against transformers' own module."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.encoders import EncodeRequest, files, recipe
from inkgraph.nodes.diffusion.encoders.flux2 import KLEIN_TEMPLATE, MISTRAL_TEMPLATE, klein_prompt, mistral_prompt
from inkgraph.nodes.diffusion.encoders.qwen3 import qwen_tokenizer
from inkgraph.nodes.diffusion.families import detect, load_diffusion_model
from inkgraph.nodes.diffusion.families.flux2 import FLUX2_LATENT, Flux2Adapter, table
from inkgraph.nodes.diffusion.state_dict import ModelFileError, TensorIndex, TensorInfo
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_flux2 as tf
from tests.fixtures import tiny_lumina as tl


def index_of(state: dict[str, Any], prefix: str = "") -> TensorIndex:
    return TensorIndex({prefix + k: TensorInfo(tuple(v.shape), "BF16") for k, v in state.items()}, {})


def full_size(**config: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    from diffusers import Flux2Transformer2DModel

    with torch.device("meta"):
        model = Flux2Transformer2DModel(**config)
    return model, tf.flux2_state(model)


# the released models' configs (diffusers' transformer/config.json of each)
DEV = {}
KLEIN_4B = {"num_layers": 5, "num_single_layers": 20, "num_attention_heads": 24, "joint_attention_dim": 7680,
            "guidance_embeds": False}
KLEIN_9B = {"num_layers": 8, "num_single_layers": 24, "num_attention_heads": 32, "joint_attention_dim": 12288,
            "guidance_embeds": False}


@pytest.mark.parametrize(("config", "expected"), [
    (DEV, (6144, 48, 8, 48, 15360, True, "dev")), (KLEIN_4B, (3072, 24, 5, 20, 7680, False, "klein")),
    (KLEIN_9B, (4096, 32, 8, 24, 12288, False, "klein"))])
def test_the_real_files_read_as_comfyui_configures_them(config: dict[str, Any], expected: tuple[Any, ...]) -> None:
    """ComfyUI's model_detection: heads of 128 (width / Σ axes), axes (32, 32, 32, 32), θ 2000, MLP ratio 3, 128
    channels in and out at patch size 1, guidance embedder only in dev."""
    _, state = full_size(**config)
    found = detect(index_of(state, "model.diffusion_model."))
    c = found.config
    assert (found.family.name, found.prefix) == ("flux2", "model.diffusion_model.")
    assert (c["num_attention_heads"] * c["attention_head_dim"], c["num_attention_heads"], c["num_layers"],
            c["num_single_layers"], c["joint_attention_dim"], c["guidance_embeds"], found.variant) == expected
    assert (c["axes_dims_rope"], c["rope_theta"], c["mlp_ratio"], c["in_channels"], c["out_channels"],
            c["patch_size"]) == ((32, 32, 32, 32), 2000, 3.0, 128, 128, 1)


def test_renaming_agrees_with_diffusers_converter_at_the_real_width() -> None:
    """diffusers' converter splits q, k, v in thirds and swaps the final modulation itself; every tensor of the
    dev file lands on the same diffusers key with the same content either way (rows numbered to check)."""
    from diffusers.loaders.single_file_utils import convert_flux2_transformer_checkpoint_to_diffusers

    from inkgraph.nodes.diffusion.families import bfl

    model, state = full_size(num_layers=1, num_single_layers=1)
    state = {k: torch.arange(v.shape[0], dtype=torch.int32)[:, None].expand(*v.shape).clone() if v.ndim == 2
             else torch.arange(v.shape[0], dtype=torch.int32) for k, v in state.items()}
    found = detect(index_of(state))
    ours = bfl.to_diffusers(dict(state), table(found.config))
    theirs = convert_flux2_transformer_checkpoint_to_diffusers(dict(state))
    assert set(ours) == set(theirs) == set(model.state_dict())
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)


@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
@pytest.mark.parametrize("variant", ["dev", "klein"])
def test_files_load_with_their_architecture_and_exact_weights(tmp_path: Path, variant: str, prefix: str) -> None:
    model = tf.flux2(variant, 1)
    path = tmp_path / "flux2.safetensors"
    td.save(tf.flux2_state(model), path, prefix)
    loaded, detected = load_diffusion_model(path, torch.float32)
    assert (detected.family.name, detected.prefix, detected.variant) == ("flux2", prefix, variant)
    expected = model.state_dict()
    assert set(loaded.state_dict()) == set(expected)
    assert all(torch.equal(loaded.state_dict()[k], expected[k]) for k in expected)


def test_fp8mixed_flux2_keeps_fp8_weights_with_their_scales(tmp_path: Path) -> None:
    """``flux2_dev_fp8mixed.safetensors``: the blocks' linear layers fp8 with per-layer scales (the fused q, k, v
    rows split, each part keeping the layer's scale), the rest bf16."""
    model = tf.flux2("dev", 2)
    state = tf.flux2_state(model)
    blocks = {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
              and k.startswith(("double_blocks.", "single_blocks."))}
    path = tmp_path / "flux2_dev_fp8mixed.safetensors"
    td.save(td.fp8_mixed(state, blocks), path, "model.diffusion_model.")
    loaded, _ = load_diffusion_model(path, torch.float32)
    to_k = loaded.transformer_blocks[0].attn.to_k
    assert to_k.weight.dtype == torch.float8_e4m3fn
    reference = model.transformer_blocks[0].attn.to_k.weight
    assert torch.allclose(to_k.weight.float() * to_k.scale_weight, reference, rtol=0.07, atol=2e-3)


def test_model_sampling_and_latents_are_comfyuis() -> None:
    """ComfyUI's Flux2: ModelSamplingFlux shift 2.02 fed σ; 128 latent channels at 1/16, no scale or shift."""
    found = detect(index_of(tf.flux2_state(tf.flux2())))
    sampling = found.family.model_sampling(found)
    assert isinstance(sampling, ms.ModelSamplingFlux) and isinstance(sampling, ms.CONST) and sampling.shift == 2.02
    assert float(sampling.timestep(torch.tensor(0.25))) == 0.25
    latent = torch.randn(1, 128, 2, 2)
    assert (FLUX2_LATENT.channels, FLUX2_LATENT.downscale) == (128, 16)
    assert torch.equal(FLUX2_LATENT.process_in(latent), latent)
    assert torch.equal(FLUX2_LATENT.process_out(latent), latent)


def test_an_unreadable_flux2_names_the_file(tmp_path: Path) -> None:
    from inkgraph.nodes.diffusion.families import detect_file

    state = tf.flux2_state(tf.flux2())
    state["double_blocks.0.img_mlp.0.weight"] = torch.zeros(101, 64)
    path = tmp_path / "broken_flux2.safetensors"
    td.save(state, path)
    with pytest.raises(ModelFileError, match="broken_flux2.safetensors.*flux2.*101 rows"):
        detect_file(path)


# -- the adapter against diffusers' pipelines ----------------------------------------------------------------

def ctx(shape: tuple[int, ...]) -> EncodeContext:
    return EncodeContext("positive", shape, torch.device("cpu"), torch.float32)


def test_the_adapter_feeds_the_module_as_diffusers_flux2_pipeline() -> None:
    """Flux2Pipeline: latents packed [B, h·w, 128] with ids (0, row, column, 0), text ids (0, 0, 0, i), the
    timestep σ and guidance as given (the module multiplies both by 1000), the output unpacked. ComfyUI pads
    the text to 512 tokens with zeros in front; the reference module gets the same padded text."""
    from inkgraph.nodes.diffusion.families.flux2 import pad_text

    model = tf.flux2("dev", 3)
    adapter = Flux2Adapter()
    text = torch.randn(1, 20, 48)
    x = torch.randn(2, 128, 3, 5)
    sigma = torch.tensor([0.7, 0.7])
    with torch.no_grad():
        conds = adapter.encode(model, text, {"guidance": 4.0}, ctx(tuple(x.shape)))
        ours = adapter.apply(model, x, sigma, {k: v.expand(2, *v.shape[1:]) if k == "context" else v.repeat(2)
                                               for k, v in conds.items()})
        padded = torch.cat([torch.zeros(1, 492, 48), text], dim=1)
        assert torch.equal(pad_text(text), padded)
        h, w = 3, 5
        img_ids = torch.cartesian_prod(torch.arange(1), torch.arange(h), torch.arange(w), torch.arange(1)).float()
        txt_ids = torch.cartesian_prod(torch.arange(1), torch.arange(1), torch.arange(1), torch.arange(512)).float()
        tokens = x.reshape(2, 128, h * w).permute(0, 2, 1)
        out = model(hidden_states=tokens, encoder_hidden_states=padded.expand(2, -1, -1), timestep=sigma,
                    guidance=torch.tensor([4.0, 4.0]), img_ids=img_ids, txt_ids=txt_ids, return_dict=False)[0]
        reference = out.permute(0, 2, 1).reshape(2, 128, h, w)
    assert torch.allclose(ours, reference, atol=1e-5)


def test_reference_latents_are_placed_as_diffusers_flux2_pipeline_places_them() -> None:
    """Flux2Pipeline's image ids for reference images: frame 10, 20 … (t = 10 + 10·i), rows and columns from 0;
    the reference tokens follow the generated image's and only the image's come out. ComfyUI's default method
    for Flux.2 ("index", ref_index_scale 10) is the same; klein (no guidance embedder) is fed none."""
    model = tf.flux2("klein", 4)
    adapter = Flux2Adapter()
    text = torch.randn(1, 512, 48)
    x = torch.randn(1, 128, 2, 3)
    refs = [torch.randn(1, 128, 4, 2), torch.randn(1, 128, 3, 3)]
    with torch.no_grad():
        conds = adapter.encode(model, text, {"reference_latents": refs}, ctx(tuple(x.shape)))
        assert "guidance" not in conds
        ours = adapter.apply(model, x, torch.tensor([0.4]), conds)
        ids = [torch.cartesian_prod(torch.tensor([t]), torch.arange(r.shape[-2]), torch.arange(r.shape[-1]),
                                    torch.arange(1)).float() for t, r in zip((0, 10, 20), [x, *refs], strict=True)]
        tokens = torch.cat([r.reshape(1, 128, -1).permute(0, 2, 1) for r in (x, *refs)], dim=1)
        txt_ids = torch.cartesian_prod(torch.arange(1), torch.arange(1), torch.arange(1), torch.arange(512)).float()
        out = model(hidden_states=tokens, encoder_hidden_states=text, timestep=torch.tensor([0.4]),
                    img_ids=torch.cat(ids), txt_ids=txt_ids, return_dict=False)[0]
        reference = out[:, :6].permute(0, 2, 1).reshape(1, 128, 2, 3)
    assert torch.allclose(ours, reference, atol=1e-5)


# -- the VAE ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("decoder", [None, (32, 32, 32, 32)])
def test_the_vae_gives_patchified_normalised_latents_as_the_pipeline(tmp_path: Path,
                                                                      decoder: tuple[int, ...] | None) -> None:
    """Flux2Pipeline: the mode of the VAE's latent in 2×2 patches, (z − mean) / √(var + ε) by the VAE's batch-norm
    statistics; decoding undoes both. ``full_encoder_small_decoder``: a narrower decoder, read from its tensors."""
    from inkgraph.nodes.diffusion import vae_files, vae_ops

    model = tf.vae(3, decoder)
    path = tmp_path / "flux2-vae.safetensors"
    td.save(tf.vae_state(model), path)
    vae = vae_files.load(path, torch.float32)
    assert type(vae).__name__ == "AutoencoderKLFlux2" and vae_ops.factor(vae) == 16
    assert all(torch.equal(vae.state_dict()[k], v) for k, v in model.state_dict().items())
    image = torch.rand(1, 70, 50, 3)  # cropped to 64 × 48 (multiples of 16), centred
    latent = vae_ops.encode(vae, image)
    with torch.no_grad():
        pixels = image[:, 3:67, 1:49].movedim(-1, 1) * 2 - 1
        z = model.encode(pixels).latent_dist.mode()
        patched = z.view(1, 32, 4, 2, 3, 2).permute(0, 1, 3, 5, 2, 4).reshape(1, 128, 4, 3)
        mean, var = model.bn.running_mean.view(1, -1, 1, 1), model.bn.running_var.view(1, -1, 1, 1)
        expected = (patched - mean) / torch.sqrt(var + 1e-4)
        assert torch.allclose(latent, expected, atol=1e-5)
        decoded = vae_ops.decode(vae, latent)
        unpatched = (latent * torch.sqrt(var + 1e-4) + mean).view(1, 32, 2, 2, 4, 3).permute(0, 1, 4, 2, 5, 3)
        reference = model.decode(unpatched.reshape(1, 32, 8, 6)).sample
    assert torch.allclose(decoded, ((reference + 1) / 2).clamp(0, 1).movedim(1, -1), atol=1e-5)


# -- text encoders ---------------------------------------------------------------------------------------

def load(path: Path) -> tuple[Any, Any]:
    (found,) = files.find_file(path)
    return found, files.load(path, found, torch.float32)


def stacked(module: Any, ids: torch.Tensor, mask: torch.Tensor, layers: tuple[int, ...]) -> torch.Tensor:
    """diffusers' Flux2 pipelines: hidden_states[k] for each layer, side by side per token."""
    with torch.no_grad():
        out = module(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False)
    return torch.stack([out.hidden_states[k] for k in layers], dim=1).permute(0, 2, 1, 3).flatten(2)


def test_the_tekken_tokenizer_is_read_from_the_file_as_transformers_converts_it(tmp_path: Path) -> None:
    """transformers' MistralConverter on the same tekken.json (its pattern is the one ComfyUI splits with)."""
    from transformers.integrations.mistral.tokenizer import MistralConverter

    td.save(tf.comfy_mistral_state(tf.mistral(1, layers=2)), tmp_path / "mistral.safetensors")
    found, encoder = load(tmp_path / "mistral.safetensors")
    assert (found.kind.name, found.also_read) == ("mistral3_24b", ("tekken_model",))
    (tmp_path / "tekken.json").write_bytes(tf.tekken())
    reference = MistralConverter(str(tmp_path / "tekken.json")).converted()
    for text in (mistral_prompt("a red fox, 1024 px"), "héllo wörld\n\n  it's 12345", "[INST]x[/INST]<s>"):
        assert encoder.inkgraph_tokenizer(text)["input_ids"] == reference.encode(text, add_special_tokens=False).ids


def test_flux2_dev_template_token_for_token(tmp_path: Path) -> None:
    """Mistral Small 3's v7 chat format with Flux.2's system message (diffusers' SYSTEM_MESSAGE, from BFL's
    reference code): ``<s>[SYSTEM_PROMPT]…[/SYSTEM_PROMPT][INST]prompt[/INST]``, specials at their tekken ids."""
    from diffusers.pipelines.flux2.system_messages import SYSTEM_MESSAGE

    from inkgraph.nodes.diffusion.encoders.flux2 import mistral_rules
    from inkgraph.nodes.diffusion.encoders.llm import attention_mask
    from inkgraph.nodes.diffusion.encoders.prompt import tokenize

    assert MISTRAL_TEMPLATE.format("a fox") == f"[SYSTEM_PROMPT]{SYSTEM_MESSAGE}[/SYSTEM_PROMPT][INST]a fox[/INST]"
    td.save(tf.comfy_mistral_state(tf.mistral(1, layers=2)), tmp_path / "mistral.safetensors")
    _, encoder = load(tmp_path / "mistral.safetensors")
    tokenizer = encoder.inkgraph_tokenizer
    (chunk,) = tokenize(mistral_prompt("a (red:1.5) fox"), mistral_rules(tokenizer))
    words = tokenizer(SYSTEM_MESSAGE)["input_ids"]
    assert [t for t, _ in chunk] == [1, 17, *words, 18, 3, *tokenizer("a (red:1.5) fox")["input_ids"], 4]
    assert all(w == 1.0 for _, w in chunk)  # literal text
    # ComfyUI pads in front with <pad> (11), and its model masks id 0 only: padding stays attended
    ids = torch.tensor([[11, 11, 1, 17, 5]])
    assert attention_mask(ids, 0).tolist() == [[1, 1, 1, 1, 1]]


def test_klein_template_token_for_token() -> None:
    """Qwen3's chat template as diffusers' Flux2KleinPipeline renders it (``enable_thinking=False``: an empty
    thinking block), ids written out from Qwen's vocabulary; padded with <|endoftext|> to 512."""
    from inkgraph.nodes.diffusion.encoders.flux2 import klein_rules
    from inkgraph.nodes.diffusion.encoders.prompt import tokenize

    assert KLEIN_TEMPLATE.format("a fox") == ("<|im_start|>user\na fox<|im_end|>\n<|im_start|>assistant\n"
                                              "<think>\n\n</think>\n\n")
    (chunk,) = tokenize(klein_prompt("a fox"), klein_rules("qwen3_4b"))
    fox = qwen_tokenizer()("a fox")["input_ids"]
    head = [151644, 872, 198, *fox, 151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271]
    assert [t for t, _ in chunk] == head + [151643] * (512 - len(head))


@pytest.mark.parametrize("fmt", ["bf16", "fp8mixed"])
def test_mistral_reads_layers_10_20_30_side_by_side(tmp_path: Path, fmt: str) -> None:
    from inkgraph.nodes.diffusion.encoders.flux2 import mistral_rules
    from inkgraph.nodes.diffusion.encoders.prompt import tokenize

    model = tf.mistral(2)
    state = tf.comfy_mistral_state(model)
    path = tmp_path / f"mistral_3_small_flux2_{fmt}.safetensors"
    if fmt == "fp8mixed":
        layers = {k[: -len(".weight")] for k, v in state.items() if ".mlp." in k and v.ndim == 2}
        tekken = state.pop("tekken_model")
        td.save(td.fp8_mixed(state, layers), path, extra={"tekken_model": tekken})
    else:
        td.save(state, path, dtype=torch.bfloat16)
    found, encoder = load(path)
    assert (found.kind.name, found.config["num_hidden_layers"], found.config["head_dim"]) == ("mistral3_24b", 31, 128)
    (cond,) = recipe("flux2").encode({"mistral3_24b": encoder}, "a red fox", None, EncodeRequest())
    (chunk,) = tokenize(mistral_prompt("a red fox"), mistral_rules(encoder.inkgraph_tokenizer))
    ids = torch.tensor([[t for t, _ in chunk]])
    expected = stacked(encoder, ids, torch.ones_like(ids), (10, 20, 30))
    assert cond[0].shape == (1, ids.shape[1], 3 * tf.MISTRAL_WIDTH)
    assert torch.allclose(cond[0], expected, atol=1e-5)
    assert torch.equal(cond[1]["attention_mask"], torch.ones_like(ids))
    if fmt == "bf16":  # the file's weights, read in bf16: the reading as the original module computes it
        reference = stacked(model, ids, torch.ones_like(ids), (10, 20, 30))
        assert float((cond[0] - reference).norm() / reference.norm()) < 0.03


def test_klein_encoders_read_layers_9_18_27_with_the_padding_masked(tmp_path: Path) -> None:
    """Qwen3 for klein: 512 tokens, the padding masked in the encoder and flagged in the conditioning's mask;
    CLIPSetLastLayer changes nothing (ComfyUI ignores it for a list of layers)."""
    model = tf.klein_qwen3(5)
    td.save(tl.comfy_llm_state(model), tmp_path / "qwen_3_4b.safetensors")
    found, encoder = load(tmp_path / "qwen_3_4b.safetensors")
    (cond,) = recipe("flux2").encode({"qwen3_4b": encoder}, "a red fox", None, EncodeRequest())
    again = recipe("flux2").encode({"qwen3_4b": encoder}, "a red fox", -2, EncodeRequest())[0][0]
    head = len(qwen_tokenizer()(klein_prompt("a red fox"))["input_ids"])
    ids = torch.tensor([qwen_tokenizer()(klein_prompt("a red fox"))["input_ids"] + [151643] * (512 - head)])
    mask = (torch.arange(512) < head).long()[None]
    assert torch.equal(cond[1]["attention_mask"], mask)
    assert cond[0].shape == (1, 512, 3 * tl.QWEN_WIDTH)
    assert torch.allclose(cond[0], stacked(model, ids, mask, (9, 18, 27)), atol=1e-5)
    assert torch.equal(again, cond[0])


def test_comfyui_picks_flux2_from_the_encoder_file(tmp_path: Path) -> None:
    """Mistral 3 Small: Flux.2 for any type; Qwen3-4B: klein for flux and flux2, Z-Image's lumina2 otherwise."""
    from inkgraph.engine.core.devices import ModelManager
    from inkgraph.nodes.diffusion.loading import load_text_encoders

    td.save(tf.comfy_mistral_state(tf.mistral(1, layers=2)), tmp_path / "mistral.safetensors")
    td.save(tl.comfy_llm_state(tl.qwen3(1)), tmp_path / "qwen_3_4b.safetensors")
    manager = ModelManager()
    for name, clip_type, expected in (("mistral", "stable_diffusion", "flux2"), ("mistral", "flux2", "flux2"),
                                      ("qwen_3_4b", "flux2", "flux2"), ("qwen_3_4b", "flux", "flux2"),
                                      ("qwen_3_4b", "sd3", "lumina2")):
        handle = load_text_encoders(manager, [tmp_path / f"{name}.safetensors"], clip_type)
        assert handle.recipe == expected, (name, clip_type)
    with pytest.raises(ValueError, match="type 'flux2' takes one text encoder"):
        recipe("flux2").check(["mistral3_24b", "qwen3_4b"])


def test_real_encoder_files_are_told_apart_as_comfyui_does() -> None:
    """detect_te_model: no q/k norm and 5120 wide → Mistral 3 Small (40 layers; fewer: the pruned Flux.2 one);
    Qwen3 with q/k norms 4096 wide → Qwen3-8B, 2560 → Qwen3-4B. Shapes only (meta tensors)."""
    from transformers import MistralConfig, MistralModel, Qwen3Config, Qwen3Model

    with torch.device("meta"):
        mistral = MistralModel(MistralConfig(vocab_size=131072, hidden_size=5120, intermediate_size=32768,
                                             num_hidden_layers=40, num_attention_heads=32, num_key_value_heads=8,
                                             head_dim=128))
        qwen8 = Qwen3Model(Qwen3Config(vocab_size=151936, hidden_size=4096, intermediate_size=12288,
                                       num_hidden_layers=36, num_attention_heads=32, num_key_value_heads=8,
                                       head_dim=128))
    found = files.find(index_of({"model." + k: v for k, v in mistral.state_dict().items()}))[0]
    assert (found.kind.name, found.config["num_attention_heads"], found.config["num_key_value_heads"]) == (
        "mistral3_24b", 32, 8)
    found = files.find(index_of({"model." + k: v for k, v in qwen8.state_dict().items()}))[0]
    assert (found.kind.name, found.kind.recipe_for("stable_diffusion")) == ("qwen3_8b", "flux2")


def test_a_mistral_without_its_tokenizer_names_the_file() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mistral_no_tekken.safetensors"
        state = {"model." + k: v for k, v in tf.mistral(1, layers=2).state_dict().items()}
        state["model.embed_tokens.weight"] = torch.zeros(100, 5120)  # the real width: Mistral without its tekken
        state = {k: v for k, v in state.items() if "embed" in k or "layers.0." in k}
        state["model.layers.0.self_attn.q_proj.weight"] = torch.zeros(4096, 5120)
        state["model.layers.0.self_attn.k_proj.weight"] = torch.zeros(1024, 5120)
        td.save(state, path)
        (found,) = files.find_file(path)
        with pytest.raises(ModelFileError, match="mistral_no_tekken.safetensors.*no tokenizer.*tekken_model"):
            files.load(path, found, torch.float32)
