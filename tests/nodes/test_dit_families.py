"""Flux.1, Chroma and SD3.5 transformers read from their single-file layouts: the key tables against
diffusers' own converters at the real width, the architecture and exact weights of tiny models saved as
users have them, fp8 and scaled fp8, model sampling, latent formats, and each family's adapter against the
diffusers module called as diffusers' own pipelines call it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.families import bfl, detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.families.flux import FLUX_LATENT, pack, rope_axes, unpack
from inkgraph.nodes.diffusion.families.sd3 import SD3_LATENT
from inkgraph.nodes.diffusion.state_dict import ModelFileError
from tests.fixtures import tiny_dit as td

CASES = {"flux-dev": ("flux", "dev"), "flux-schnell": ("flux", "schnell"), "flux-fill": ("flux", "fill"),
         "chroma": ("chroma", "chroma"), "sd3.5": ("sd3", "3.5")}


def tiny(case: str) -> tuple[Any, dict[str, torch.Tensor]]:
    if case == "chroma":
        model = td.chroma()
        return model, td.flux_state(model, chroma_model=True)
    if case == "sd3.5":
        model = td.sd3()
        return model, td.sd3_state(model)
    model = td.flux(case.split("-")[1])
    return model, td.flux_state(model)


# -- the key tables against diffusers' converters -------------------------------------------------------

def _full_size(cls: Any, chroma: bool, **config: Any) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """A full-width model's original-layout state dict on the meta device, but for the fused layers, which
    hold their row number in every column (int16, expanded: no memory) so the row split can be checked."""
    with torch.device("meta"):
        model = cls(num_layers=1, num_single_layers=1, **config)
    full = dict(model.config)
    state = td.to_original(model.state_dict(), bfl.table(full, chroma=chroma))
    for key, value in list(state.items()):
        if key.endswith(("qkv.weight", "linear1.weight")):
            rows, cols = value.shape
            state[key] = torch.arange(rows, dtype=torch.int16)[:, None].expand(rows, cols)
    return full, state


@pytest.mark.parametrize("chroma", [False, True], ids=["flux", "chroma"])
def test_the_bfl_table_agrees_with_diffusers_converter_at_the_real_width(chroma: bool) -> None:
    from diffusers import ChromaTransformer2DModel, FluxTransformer2DModel
    from diffusers.loaders.single_file_utils import (
        convert_chroma_transformer_checkpoint_to_diffusers,
        convert_flux_transformer_checkpoint_to_diffusers,
    )

    if chroma:
        config, state = _full_size(ChromaTransformer2DModel, True)
        theirs = convert_chroma_transformer_checkpoint_to_diffusers(dict(state))
    else:
        config, state = _full_size(FluxTransformer2DModel, False, guidance_embeds=True)
        theirs = convert_flux_transformer_checkpoint_to_diffusers(dict(state))
    ours = bfl.to_diffusers(dict(state), bfl.table(config, chroma=chroma))
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert ours[key].shape == value.shape, key
        if value.device.type != "meta":
            assert torch.equal(ours[key], value), key


# -- files as users have them ----------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["", "model.diffusion_model."])
@pytest.mark.parametrize("case", list(CASES))
def test_files_load_with_their_architecture_and_exact_weights(tmp_path: Path, case: str, prefix: str) -> None:
    model, state = tiny(case)
    path = tmp_path / f"{case}.safetensors"
    td.save(state, path, prefix, torch.bfloat16)
    detected, _ = detect_file(path)
    family, variant = CASES[case]
    assert (detected.family.name, detected.variant, detected.prefix) == (family, variant, prefix)
    loaded, _ = load_diffusion_model(path, torch.float32)
    assert type(loaded) is type(model)
    for key, value in dict(model.config).items():
        if not key.startswith("_") and key != "sample_size" and value is not None:
            assert loaded.config[key] == value or list(loaded.config[key]) == list(value), key
    got, want = loaded.state_dict(), model.state_dict()
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert torch.equal(got[key], value.to(torch.bfloat16).float()), key


def test_scaled_fp8_transformer_keeps_fp8_weights_with_their_scales(tmp_path: Path) -> None:
    model, state = tiny("flux-dev")
    linear = {k[: -len(".weight")] for k in state if k.endswith(".weight") and state[k].ndim == 2
              and "norm" not in k}
    scaled = td.scaled_fp8(state, linear)
    path = tmp_path / "flux1-dev_fp8_scaled.safetensors"
    td.save(scaled, path, "model.diffusion_model.")
    loaded, _ = load_diffusion_model(path, torch.float32)
    q = loaded.transformer_blocks[0].attn.to_q
    width = model.config.num_attention_heads * model.config.attention_head_dim
    fused = scaled["double_blocks.0.img_attn.qkv.weight"]
    assert q.weight.dtype == torch.float8_e4m3fn and torch.equal(q.weight, fused[:width])
    assert torch.equal(q.scale_weight, scaled["double_blocks.0.img_attn.qkv.scale_weight"])
    x = torch.randn(1, 8, 64)
    with torch.no_grad():
        want = model.transformer_blocks[0].attn.to_q(x)
        assert ((q(x) - want).norm() / want.norm()) < 0.1


def test_fp8_mixed_files_read_their_per_layer_quantisation(tmp_path: Path) -> None:
    model, state = tiny("chroma")
    linear = {k[: -len(".weight")] for k in state if k.startswith("double_blocks.") and k.endswith("qkv.weight")}
    mixed = td.fp8_mixed(state, linear)
    path = tmp_path / "Chroma1-HD-fp8mixed.safetensors"
    td.save(mixed, path)
    loaded, _ = load_diffusion_model(path, torch.float32)
    q = loaded.transformer_blocks[0].attn.to_q
    assert q.weight.dtype == torch.float8_e4m3fn
    assert torch.equal(q.scale_weight, mixed["double_blocks.0.img_attn.qkv.weight_scale"])
    assert loaded.single_transformer_blocks[0].attn.to_q.weight.dtype == torch.float32  # a full-precision layer
    int8 = dict(mixed)
    int8["double_blocks.0.img_attn.qkv.comfy_quant"] = td.quant_record("int8_convrot")
    td.save(int8, tmp_path / "int8.safetensors")
    with pytest.raises(ModelFileError, match="int8.safetensors: double_blocks.0.img_attn.qkv is quantised as "
                                             "'int8_convrot'"):
        load_diffusion_model(tmp_path / "int8.safetensors", torch.float32)


def test_fp8_storage_on_request(tmp_path: Path) -> None:
    _, state = tiny("flux-schnell")
    path = tmp_path / "flux1-schnell.safetensors"
    td.save(state, path)
    loaded, _ = load_diffusion_model(path, torch.float32, storage=torch.float8_e5m2)
    linears = [m for m in loaded.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.weight.dtype == torch.float8_e5m2 for m in linears)


def test_an_unreadable_flux_names_the_file(tmp_path: Path) -> None:
    _, state = tiny("flux-dev")
    state = {k: v for k, v in state.items() if not k.startswith("single_blocks.1.")}
    state["single_blocks.1.linear1.weight"] = torch.zeros(3)
    path = tmp_path / "broken.safetensors"
    td.save(state, path)
    with pytest.raises(ModelFileError, match="broken.safetensors"):
        load_diffusion_model(path, torch.float32)


def test_rotary_axes_follow_flux_at_other_head_widths() -> None:
    assert rope_axes(128) == (16, 56, 56) and rope_axes(32) == (4, 14, 14)
    with pytest.raises(ValueError):
        rope_axes(20)


# -- sampling, latents -----------------------------------------------------------------------------------

def test_model_sampling_and_latent_formats_are_comfyuis(tmp_path: Path) -> None:
    flux, flow = ms.ModelSamplingFlux, ms.ModelSamplingDiscreteFlow
    expected = {"flux-dev": (flux, 1.15, None), "flux-schnell": (flow, 1.0, 1.0), "chroma": (flux, 1.15, None),
                "sd3.5": (flow, 3.0, 1000)}
    for case, (schedule, shift, multiplier) in expected.items():
        _, state = tiny(case)
        path = tmp_path / f"{case}.safetensors"
        td.save(state, path)
        detected, _ = detect_file(path)
        sampling = detected.family.model_sampling(detected)
        assert isinstance(sampling, schedule) and isinstance(sampling, ms.CONST) and sampling.shift == shift, case
        if multiplier is not None:
            assert sampling.multiplier == multiplier
        assert detected.family.latent.channels == 16
    assert (FLUX_LATENT.scale_factor, FLUX_LATENT.shift_factor) == (0.3611, 0.1159)
    assert (SD3_LATENT.scale_factor, SD3_LATENT.shift_factor) == (1.5305, 0.0609)
    assert len(FLUX_LATENT.rgb_factors or ()) == len(SD3_LATENT.rgb_factors or ()) == 16


def test_previews_project_16_channel_latents() -> None:
    from inkgraph.nodes.diffusion.previews import latent_rgb

    x0 = torch.zeros(1, 16, 2, 3)
    x0[0, 1] = 1.0  # channel 1 alone: its factors plus the bias
    pixel = latent_rgb(x0, "flux", FLUX_LATENT).getpixel((0, 0))
    factors, bias = FLUX_LATENT.rgb_factors[1], FLUX_LATENT.rgb_bias  # type: ignore[index]
    assert pixel == tuple(int(((f + b + 1) / 2) * 255) for f, b in zip(factors, bias, strict=True))  # type: ignore[arg-type]


# -- adapters against diffusers' pipelines -------------------------------------------------------------------

def ctx(shape: tuple[int, ...], **kwargs: Any) -> EncodeContext:
    return EncodeContext("positive", shape, torch.device("cpu"), torch.float32, **kwargs)


def test_flux_adapter_equals_the_module_called_as_diffusers_flux_pipeline_calls_it() -> None:
    from diffusers import FluxPipeline

    model = td.flux("dev", 4)
    adapter = __import__("inkgraph.nodes.diffusion.families.flux", fromlist=["FluxAdapter"]).FluxAdapter(FLUX_LATENT)
    x = torch.randn(2, 16, 6, 10)
    context, pooled = torch.randn(1, 7, td.CONTEXT), torch.randn(1, td.POOLED)
    conds = adapter.encode(model, context, {"pooled_output": pooled, "guidance": 4.0}, ctx(tuple(x.shape)))
    timestep = torch.tensor([0.7, 0.7])
    with torch.no_grad():
        ours = adapter.apply(model, x, timestep, {k: v.expand(2, *v.shape[1:]) for k, v in conds.items()})
        ids = FluxPipeline._prepare_latent_image_ids(2, 3, 5, x.device, x.dtype)
        out = model(hidden_states=FluxPipeline._pack_latents(x, 2, 16, 6, 10),
                    encoder_hidden_states=context.expand(2, -1, -1), pooled_projections=pooled.expand(2, -1),
                    timestep=timestep, guidance=torch.tensor([4.0, 4.0]), img_ids=ids, txt_ids=torch.zeros(7, 3),
                    return_dict=False)[0]
        want = FluxPipeline._unpack_latents(out, 48, 80, 8)
    assert torch.allclose(ours, want, atol=1e-5)
    assert torch.equal(pack(x), FluxPipeline._pack_latents(x, 2, 16, 6, 10))
    assert torch.equal(unpack(pack(x), 16, 6, 10), x)


def test_flux_pads_odd_latents_and_crops_back() -> None:
    model = td.flux("schnell", 2)
    adapter = __import__("inkgraph.nodes.diffusion.families.flux", fromlist=["FluxAdapter"]).FluxAdapter(FLUX_LATENT)
    x = torch.randn(1, 16, 5, 7)
    conds = adapter.encode(model, torch.randn(1, 3, td.CONTEXT), {}, ctx(tuple(x.shape)))
    with torch.no_grad():
        out = adapter.apply(model, x, torch.tensor([0.5]), conds)
    assert out.shape == x.shape and "guidance" not in conds and torch.equal(conds["pooled"], torch.zeros(1, td.POOLED))


def test_kontext_reference_latents_are_placed_as_diffusers_kontext_places_them() -> None:
    from diffusers import FluxKontextPipeline

    from inkgraph.nodes.diffusion.families.flux import image_ids, reference_ids

    ref = torch.randn(1, 16, 8, 6)
    (ids,) = reference_ids([ref], 10, 10)
    want = FluxKontextPipeline._prepare_latent_image_ids(1, 4, 3, ref.device, ref.dtype)
    want[..., 0] = 1
    assert torch.equal(ids, want)
    assert torch.equal(image_ids(10, 10), FluxKontextPipeline._prepare_latent_image_ids(1, 5, 5, ref.device, ref.dtype))
    wide, tall = reference_ids([torch.zeros(1, 16, 4, 8), torch.zeros(1, 16, 6, 2)], 8, 8)
    assert wide[:, 1].max() == 1 and tall[:, 1].min() == 2  # ComfyUI's "offset": the second below the first
    first, second = reference_ids([torch.zeros(1, 16, 4, 4)] * 2, 8, 8, "index")
    assert first[:, 0].unique().tolist() == [1.0] and second[:, 0].unique().tolist() == [2.0]
    from inkgraph.nodes.edit_models import FluxKontextMultiReferenceLatentMethod

    ((_, options),) = FluxKontextMultiReferenceLatentMethod([[torch.zeros(1), {"guidance": 2.5}]], "uxo/uno")
    assert options == {"guidance": 2.5, "reference_latents_method": "uxo"}


def test_fill_inputs_are_built_as_diffusers_fill_pipeline_builds_them() -> None:
    model = td.flux("fill", 1)
    adapter = __import__("inkgraph.nodes.diffusion.families.flux", fromlist=["FluxAdapter"]).FluxAdapter(FLUX_LATENT)
    image = torch.randn(1, 16, 4, 6)
    mask = (torch.rand(1, 1, 32, 48) > 0.5).float()
    conds = adapter.encode(model, torch.randn(1, 3, td.CONTEXT), {"concat_latent_image": image, "concat_mask": mask},
                           ctx((1, 16, 4, 6)))
    concat = conds["concat"]
    assert concat.shape == (1, 16 + 64, 4, 6)
    assert torch.allclose(concat[:, :16], (image - 0.1159) * 0.3611)
    packed_mask = mask[:, 0].view(1, 4, 8, 6, 8).permute(0, 2, 4, 1, 3).reshape(1, 64, 4, 6)  # diffusers' Fill
    assert torch.equal(concat[:, 16:], packed_mask)
    with torch.no_grad():
        assert adapter.apply(model, torch.randn(1, 16, 4, 6), torch.tensor([0.5]), conds).shape == (1, 16, 4, 6)


def test_sd3_adapter_equals_the_module_called_directly_and_pads_odd_sizes() -> None:
    from inkgraph.nodes.diffusion.families.sd3 import SD3Adapter

    model = td.sd3(3)
    adapter = SD3Adapter()
    x = torch.randn(1, 16, 6, 8)
    context, pooled = torch.randn(1, 5, td.CONTEXT), torch.randn(1, 2 * td.POOLED)
    conds = adapter.encode(model, context, {"pooled_output": pooled}, ctx(tuple(x.shape)))
    with torch.no_grad():
        ours = adapter.apply(model, x, torch.tensor([500.0]), conds)
        want = model(hidden_states=x, encoder_hidden_states=context, pooled_projections=pooled,
                     timestep=torch.tensor([500.0]), return_dict=False)[0]
        assert torch.allclose(ours, want, atol=1e-6)
        odd = adapter.apply(model, torch.randn(1, 16, 5, 7), torch.tensor([500.0]), conds)
    assert odd.shape == (1, 16, 5, 7)
