"""Z-Image and Lumina 2 transformers read from their original single-file layouts: the architecture the
full-size files show (against the values ComfyUI hard-codes for them), the renaming against diffusers'
own converters at the real width, tiny models' exact weights with and without ComfyUI's prefix, scaled
fp8, clear errors, model sampling and latents, LoRA names, and each adapter against the diffusers module
called as diffusers' pipelines call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.families import detect, detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT
from inkgraph.nodes.diffusion.families.lumina2 import Lumina2Adapter, split_qkv
from inkgraph.nodes.diffusion.families.z_image import ZImageAdapter
from inkgraph.nodes.diffusion.state_dict import ModelFileError, TensorIndex, TensorInfo
from tests.fixtures import tiny_dit as td
from tests.fixtures import tiny_lumina as tl


def index_of(state: dict[str, torch.Tensor], prefix: str = "") -> TensorIndex:
    return TensorIndex({prefix + k: TensorInfo(tuple(v.shape), "BF16") for k, v in state.items()}, {})


def full_size(kind: str) -> tuple[Any, dict[str, torch.Tensor]]:
    """The real model on the meta device and its original-layout state dict (shapes only)."""
    from diffusers import Lumina2Transformer2DModel, ZImageTransformer2DModel

    with torch.device("meta"):
        if kind == "z_image":
            model = ZImageTransformer2DModel()  # diffusers' defaults are Z-Image's
            return model, tl.z_image_state(model)
        model = Lumina2Transformer2DModel(cap_feat_dim=2304)  # Lumina-Image-2.0: Gemma 2 2B's width
        return model, tl.lumina2_state(model)


def test_the_real_files_read_as_comfyui_configures_them() -> None:
    """ComfyUI's model_detection: Z-Image 3840 wide, 30 heads and 30 key/value heads, axes (32, 48, 48), θ 256,
    time ×1000; Lumina 2 2304 wide, 24 heads, 8 key/value heads, axes (32, 32, 32), MLP 4× the width."""
    _, z_state = full_size("z_image")
    z = detect(index_of(z_state, "model.diffusion_model."))
    assert (z.family.name, z.prefix) == ("z_image", "model.diffusion_model.")
    assert {k: z.config[k] for k in ("dim", "n_heads", "n_kv_heads", "n_layers", "n_refiner_layers", "cap_feat_dim",
                                     "axes_dims", "rope_theta", "t_scale", "in_channels")} == {
        "dim": 3840, "n_heads": 30, "n_kv_heads": 30, "n_layers": 30, "n_refiner_layers": 2, "cap_feat_dim": 2560,
        "axes_dims": [32, 48, 48], "rope_theta": 256.0, "t_scale": 1000.0, "in_channels": 16}
    _, l_state = full_size("lumina2")
    lumina = detect(index_of(l_state))
    assert (lumina.family.name, lumina.prefix) == ("lumina2", "")
    config = lumina.config
    assert (config["hidden_size"], config["num_attention_heads"], config["num_kv_heads"], config["num_layers"],
            config["num_refiner_layers"], config["cap_feat_dim"], tuple(config["axes_dim_rope"])) == (
        2304, 24, 8, 26, 2, 2304, (32, 32, 32))
    assert lumina.extra["shapes"]["mlp"] == 9216


@pytest.mark.parametrize("kind", ["z_image", "lumina2"])
def test_renaming_agrees_with_diffusers_converter_at_the_real_width(kind: str) -> None:
    """diffusers' converters split q, k, v themselves at the full-size widths; ours split by the widths read
    from the file first. The fused rows hold their row number, so the split is checked row by row."""
    from diffusers.loaders.single_file_utils import (
        convert_lumina2_to_diffusers,
        convert_z_image_transformer_checkpoint_to_diffusers,
    )

    model, state = full_size(kind)
    for key, value in list(state.items()):
        rows, cols = value.shape if value.ndim == 2 else (0, 0)
        state[key] = (torch.arange(rows, dtype=torch.int16)[:, None].expand(rows, cols) if key.endswith("qkv.weight")
                      else torch.empty(value.shape, dtype=torch.int8))
    found = detect(index_of(state))
    converter = (convert_z_image_transformer_checkpoint_to_diffusers if kind == "z_image"
                 else convert_lumina2_to_diffusers)
    shapes = found.extra["shapes"]
    ours = converter(split_qkv(dict(state), shapes["width"], shapes["kv_heads"] * shapes["head_dim"]))
    theirs = converter(dict(state))
    assert set(ours) == set(theirs) == set(model.state_dict())
    for key, value in ours.items():
        assert value.shape == model.state_dict()[key].shape, key
        if key.endswith(("to_q.weight", "to_k.weight", "to_v.weight")):
            assert torch.equal(value, theirs[key]), key


@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
@pytest.mark.parametrize("kind", ["z_image", "lumina2"])
def test_files_load_with_their_architecture_and_exact_weights(tmp_path: Path, kind: str, prefix: str) -> None:
    model = tl.z_image(1) if kind == "z_image" else tl.lumina2(2)
    state = tl.z_image_state(model) if kind == "z_image" else tl.lumina2_state(model)
    path = tmp_path / "model.safetensors"
    td.save(state, path, prefix)
    loaded, detected = load_diffusion_model(path, torch.float32)
    assert (detected.family.name, detected.prefix) == (kind, prefix)
    expected = model.state_dict()
    assert set(loaded.state_dict()) == set(expected)
    assert all(torch.equal(loaded.state_dict()[k], expected[k]) for k in expected)


def test_scaled_fp8_z_image_keeps_fp8_weights_with_their_scales(tmp_path: Path) -> None:
    model = tl.z_image(3)
    state = tl.z_image_state(model)
    linear = {k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2}
    path = tmp_path / "z_image_turbo_fp8_scaled.safetensors"
    td.save(td.scaled_fp8(state, linear), path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    to_k = loaded.layers[0].attention.to_k
    assert to_k.weight.dtype == torch.float8_e4m3fn
    assert torch.allclose(to_k.weight.float() * to_k.scale_weight, model.layers[0].attention.to_k.weight, rtol=0.07,
                          atol=1e-3)
    x, cap = [torch.randn(16, 1, 4, 4)], [torch.randn(5, tl.QWEN_WIDTH)]
    with torch.no_grad():
        ours = loaded(x, torch.tensor([0.3]), cap, return_dict=False)[0][0]
        reference = model(x, torch.tensor([0.3]), cap, return_dict=False)[0][0]
    assert torch.allclose(ours, reference, atol=0.1 * reference.abs().max().item())


def test_an_unreadable_z_image_names_the_file(tmp_path: Path) -> None:
    state = tl.z_image_state(tl.z_image(1))
    state["layers.0.feed_forward.w1.weight"] = torch.zeros(100, 64)
    path = tmp_path / "broken_z_image.safetensors"
    td.save(state, path)
    with pytest.raises(ModelFileError, match="broken_z_image.safetensors.*z_image.*MLP 100 wide"):
        detect_file(path)


def test_model_sampling_and_latents_are_comfyuis(tmp_path: Path) -> None:
    """ComfyUI: Z-Image shift 3, Lumina 2 shift 6, both discrete flow fed t (multiplier 1); Flux's latents."""
    for kind, shift in (("z_image", 3.0), ("lumina2", 6.0)):
        state = tl.z_image_state(tl.z_image()) if kind == "z_image" else tl.lumina2_state(tl.lumina2())
        found = detect(index_of(state))
        sampling = found.family.model_sampling(found)
        assert isinstance(sampling, ms.ModelSamplingDiscreteFlow) and isinstance(sampling, ms.CONST)
        assert (sampling.shift, sampling.multiplier) == (shift, 1.0)
        assert float(sampling.timestep(torch.tensor(0.25))) == 0.25
        assert found.family.latent == FLUX_LATENT and found.family.vae == "flux"


def test_lora_names_follow_the_original_layout() -> None:
    found = detect(index_of(tl.z_image_state(tl.z_image())))
    names = found.family.lora_names(found, None)
    assert names["layers_0_attention_qkv"] == [("layers.0.attention.to_q", (0, 64)),
                                               ("layers.0.attention.to_k", (64, 128)),
                                               ("layers.0.attention.to_v", (128, 192))]
    assert names["x_embedder"] == [("all_x_embedder.2-1", None)]
    assert names["layers_0_adaLN_modulation_0"] == [("layers.0.adaLN_modulation.0", None)]
    lumina = detect(index_of(tl.lumina2_state(tl.lumina2())))
    names = lumina.family.lora_names(lumina, None)
    assert names["layers_1_attention_qkv"] == [("layers.1.attn.to_q", (0, 48)), ("layers.1.attn.to_k", (48, 72)),
                                               ("layers.1.attn.to_v", (72, 96))]
    assert names["layers_1_adaLN_modulation_1"] == [("layers.1.norm1.linear", None)]
    assert names["final_layer_linear"] == [("norm_out.linear_2", None)]


# -- adapters against diffusers' pipelines -------------------------------------------------------------------

def ctx(shape: tuple[int, ...]) -> EncodeContext:
    return EncodeContext("positive", shape, torch.device("cpu"), torch.float32)


def test_z_image_adapter_equals_the_module_called_as_diffusers_pipeline_calls_it() -> None:
    model, adapter = tl.z_image(5), ZImageAdapter()
    x = torch.randn(2, 16, 6, 4)
    prompts = [torch.randn(1, 7, tl.QWEN_WIDTH), torch.randn(1, 7, tl.QWEN_WIDTH)]
    conds = [adapter.encode(model, p, {"attention_mask": torch.ones(1, 7)}, ctx(tuple(x.shape))) for p in prompts]
    sigma = torch.tensor([0.7, 0.7])
    with torch.no_grad():
        ours = adapter.apply(model, x, sigma, {"context": torch.cat([c["context"] for c in conds])})
        for i in range(2):  # ZImagePipeline: frames [C, 1, H, W], t = 1 − σ, the output negated
            reference = -model([x[i].unsqueeze(1)], torch.tensor([0.3]), [prompts[i][0]], return_dict=False)[0][0][:, 0]
            assert torch.allclose(ours[i], reference, atol=1e-5)


def test_z_image_drops_masked_caption_tokens_and_pads_odd_latents() -> None:
    model, adapter = tl.z_image(5), ZImageAdapter()
    states = torch.randn(1, 6, tl.QWEN_WIDTH)
    conds = adapter.encode(model, states, {"attention_mask": torch.tensor([[1, 1, 1, 1, 0, 0]])}, ctx((1, 16, 5, 7)))
    assert torch.equal(conds["context"], states[:, :4])
    with torch.no_grad():
        out = adapter.apply(model, torch.randn(1, 16, 5, 7), torch.tensor([0.5]), conds)
    assert out.shape == (1, 16, 5, 7)


def test_lumina2_adapter_equals_the_module_called_as_diffusers_pipeline_calls_it() -> None:
    model, adapter = tl.lumina2(6), Lumina2Adapter()
    x = torch.randn(1, 16, 4, 6)
    states = torch.randn(1, 5, tl.GEMMA_WIDTH)
    conds = adapter.encode(model, states, {"attention_mask": torch.ones(1, 5, dtype=torch.long)}, ctx(tuple(x.shape)))
    with torch.no_grad():
        ours = adapter.apply(model, x, torch.tensor([0.8]), conds)
        # Lumina2Pipeline: timestep 1 − t/1000, the prompt's mask, the output negated
        reference = -model(hidden_states=x, timestep=torch.tensor([0.2]), encoder_hidden_states=states,
                           encoder_attention_mask=torch.ones(1, 5, dtype=torch.bool), return_dict=False)[0]
        odd = adapter.apply(model, torch.randn(1, 16, 5, 7), torch.tensor([0.8]), conds)
    assert torch.allclose(ours, reference, atol=1e-5)
    assert odd.shape == (1, 16, 5, 7)
    no_mask = adapter.encode(model, states, {}, ctx(tuple(x.shape)))
    assert no_mask["mask"].dtype == torch.bool and bool(no_mask["mask"].all())


def test_a_gguf_z_image_computes_what_the_file_holds(tmp_path: Path) -> None:
    """As ComfyUI-GGUF users have it (Q8_0 blocks, the original keys): the fused q, k, v split by block rows."""
    from gguf import GGMLQuantizationType as Q

    from tests.fixtures import tiny_gguf

    model = tl.z_image(8)
    path = tmp_path / "z_image_turbo-Q8_0.gguf"
    tiny_gguf.write(path, tl.z_image_state(model), Q.Q8_0, arch="lumina2", shape_fix=False)
    loaded, detected = load_diffusion_model(path, torch.float32)
    assert detected.family.name == "z_image" and type(loaded.layers[0].attention.to_q).__name__ == "GGUFLinear"
    x, cap = [torch.randn(16, 1, 4, 4)], [torch.randn(5, tl.QWEN_WIDTH)]
    with torch.no_grad():
        ours = loaded(x, torch.tensor([0.3]), cap, return_dict=False)[0][0]
        reference = model(x, torch.tensor([0.3]), cap, return_dict=False)[0][0]
    assert torch.allclose(ours, reference, atol=0.05 * reference.abs().max().item())
