"""Wan22FunControlToVideo and Wan 2.2 Fun's reference embedder (ComfyUI's ``nodes_wan.py`` and
``WanModel.ref_conv``): /object_info against ComfyUI's declaration; the node's conditioning against the tiny
Wan VAEs' own encodings (16 channels 8× down and 48 channels 16× down); a file with ``ref_conv`` loads it; the
adapter's output with a reference equals a plain forward with the reference's tokens prepended (rotary
positions one frame longer) and dropped after the projection, and is unchanged without one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.families.wan import WAN21_LATENT, WAN22_LATENT
from inkgraph.nodes.diffusion.families.wan_adapter import WanAdapter
from inkgraph.nodes.diffusion.vae_ops import encode
from inkgraph.nodes.image_utils import common_upscale
from tests.fixtures import tiny_video as tv


def _int(default: int, lo: int, hi: int, step: int | None = None) -> list[Any]:
    config: dict[str, Any] = {"default": default, "min": lo, "max": hi}
    if step is not None:
        config["step"] = step
    return ["INT", config]


def test_object_info_matches_comfyui() -> None:
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "Wan22FunControlToVideo")
    info = node_info(spec, None)
    assert info["category"] == "conditioning/video_models"
    assert info["input"] == {
        "required": {"positive": ["CONDITIONING"], "negative": ["CONDITIONING"], "vae": ["VAE"],
                     "width": _int(832, 16, 16384, 16), "height": _int(480, 16, 16384, 16),
                     "length": _int(81, 1, 16384, 4), "batch_size": _int(1, 1, 4096)},
        "optional": {"ref_image": ["IMAGE"], "control_video": ["IMAGE"]}}
    assert info["input_order"] == {"required": ["positive", "negative", "vae", "width", "height", "length",
                                                "batch_size"], "optional": ["ref_image", "control_video"]}
    assert info["output"] == ["CONDITIONING", "CONDITIONING", "LATENT"]
    assert info["output_name"] == ["positive", "negative", "latent"]


class Handle:
    """A VAE handle over a module (what ``VaeHandle.use`` yields)."""

    def __init__(self, vae: Any) -> None:
        self.vae = vae

    @contextmanager
    def use(self) -> Iterator[Any]:
        yield self.vae


class Ctx:
    def check_interrupted(self) -> None:
        return None


def _resized(image: torch.Tensor, width: int, height: int) -> torch.Tensor:
    return common_upscale(image.movedim(-1, 1), width, height, "bilinear", "center").movedim(1, -1)


@pytest.mark.parametrize(("version", "channels", "scale"), [("2.1", 16, 8), ("2.2", 48, 16)])
def test_the_node_builds_comfyuis_conditioning(version: str, channels: int, scale: int) -> None:
    from inkgraph.nodes.wan_fun import Wan22FunControlToVideo

    torch.manual_seed(0)
    vae = tv.wan_vae(version).eval()
    control, ref = torch.rand(5, 24, 40, 3), torch.rand(2, 20, 20, 3)
    width, height, length = 32, 32, 5
    with torch.no_grad():
        positive, negative, latent = Wan22FunControlToVideo(
            ctx=Ctx(), positive=[[torch.zeros(1, 2, 4), {"x": 1}]], negative=[[torch.zeros(1, 2, 4), {}]],
            vae=Handle(vae), width=width, height=height, length=length, batch_size=2, ref_image=ref,
            control_video=control)
        want_control = encode(vae, _resized(control, width, height))
        want_ref = encode(vae, _resized(ref[:1], width, height))
    frames = (length - 1) // 4 + 1
    assert latent["samples"].shape == (2, channels, frames, height // scale, width // scale)
    assert not latent["samples"].any()
    for conditioning in (positive, negative):
        options = conditioning[0][1]
        concat = options["concat_latent_image"]
        assert concat.shape == (2, 2 * channels, frames, height // scale, width // scale)
        assert torch.allclose(concat[:, :channels], want_control.expand(2, -1, -1, -1, -1), atol=1e-6)
        fmt = WAN22_LATENT if channels == 48 else WAN21_LATENT
        cells = (height // scale, width // scale)
        assert torch.allclose(concat[:, channels:], fmt.process_out(torch.zeros(2, channels, frames, *cells)))
        assert options["concat_mask_index"] == channels
        assert options["concat_mask"].shape == (1, 4, frames, height // scale, width // scale)
        assert bool(options["concat_mask"].eq(1).all())
        (reference,) = options["reference_latents"]
        assert torch.allclose(reference, want_ref, atol=1e-6)
    assert positive[0][1]["x"] == 1


# -- the reference embedder --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fun22(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, torch.Tensor], Any]:
    model, ref = tv.wan("fun22", 3), tv.ref_conv_state(16, 4)
    path = tmp_path_factory.mktemp("fun22") / "wan2.2_fun_control.safetensors"
    tv.save_wan(model, path, prefix="model.diffusion_model.", dtype=None, extra=ref)
    detected, _ = detect_file(path)
    assert detected.extra.get("reference") is True and detected.variant == "fun_control"
    loaded, _ = load_diffusion_model(path, torch.float32)
    return loaded.eval(), ref, detected


def test_a_file_with_ref_conv_loads_the_reference_embedder(fun22: tuple[Any, dict[str, torch.Tensor], Any]) -> None:
    loaded, ref, _ = fun22
    assert torch.equal(loaded.reference_embedder.ref_conv.weight, ref["ref_conv.weight"])
    assert torch.equal(loaded.reference_embedder.ref_conv.bias, ref["ref_conv.bias"])


def _plain(model: Any, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor, reference: torch.Tensor
           ) -> torch.Tensor:
    """diffusers' Wan forward written out, with the reference's tokens before the video's."""
    b, _, f, h, w = x.shape
    rope = model.rope.forward(torch.zeros(b, 1, f + 1, h, w))  # one more frame: the reference is frame 0
    video = model.patch_embedding(x).flatten(2).transpose(1, 2)
    ref = model.reference_embedder.ref_conv(reference).flatten(2).transpose(1, 2)
    tokens = torch.cat([ref, video], dim=1)
    temb, projected, text, _ = model.condition_embedder(t, context, None)
    projected = projected.unflatten(1, (6, -1))
    for block in model.blocks:
        tokens = block(tokens, text, projected, rope)
    shift, scale = (model.scale_shift_table + temb.unsqueeze(1)).chunk(2, dim=1)
    tokens = model.proj_out((model.norm_out(tokens.float()) * (1 + scale) + shift).type_as(tokens))
    tokens = tokens[:, ref.shape[1]:]
    out = tokens.reshape(b, f, h // 2, w // 2, 1, 2, 2, -1).permute(0, 7, 1, 4, 2, 5, 3, 6)
    return out.flatten(6, 7).flatten(4, 5).flatten(2, 3)


class EncodeCtx:
    device, dtype = torch.device("cpu"), torch.float32
    latent_shape = (1, 16, 2, 8, 8)
    denoise_mask = None


def test_the_reference_goes_before_the_video_as_comfyui_puts_it(fun22: tuple[Any, dict[str, torch.Tensor], Any]
                                                                 ) -> None:
    model, _, detected = fun22
    adapter = WanAdapter(WAN21_LATENT, bool(detected.extra.get("image_to_video")), False, detected.config)
    torch.manual_seed(5)
    reference = torch.randn(1, 16, 1, 8, 8)
    concat = torch.randn(1, 32, 2, 8, 8)
    options = {"concat_latent_image": concat, "concat_mask": torch.ones(1, 4, 2, 8, 8), "concat_mask_index": 16,
               "reference_latents": [reference]}
    context = torch.randn(1, 7, tv.TEXT_WIDTH)
    x, t = torch.randn(1, 16, 2, 8, 8), torch.tensor([700.0])
    with torch.no_grad():
        conds = adapter.encode(model, context, options, EncodeCtx())
        assert torch.allclose(conds["reference"], WAN21_LATENT.process_in(reference)[:, :, 0])
        ours = adapter.apply(model, x, t, conds)
        full_x = torch.cat([x, conds["concat"]], dim=1)
        want = _plain(model, full_x, t, context, conds["reference"])
        without = {k: v for k, v in conds.items() if k != "reference"}
        plain = adapter.apply(model, x, t, without)
        direct = model(hidden_states=full_x, timestep=t, encoder_hidden_states=context, return_dict=False)[0]
    assert model.reference_embedder.pending is None
    assert torch.allclose(ours, want, atol=1e-5)
    assert torch.allclose(plain, direct, atol=1e-6) and not torch.allclose(ours, plain, atol=1e-4)
    # the concatenated channels: control latent, then the mask (1 − 1 = 0), then the start group
    assert torch.equal(conds["concat"][:, 16:20], torch.zeros(1, 4, 2, 8, 8))


def test_models_without_ref_conv_ignore_reference_latents() -> None:
    model = tv.wan("t2v", 2).eval()
    adapter = WanAdapter(WAN21_LATENT, False, False, {})
    with torch.no_grad():
        conds = adapter.encode(model, torch.randn(1, 7, tv.TEXT_WIDTH),
                               {"reference_latents": [torch.randn(1, 16, 1, 8, 8)]}, EncodeCtx())
    assert "reference" not in conds


def test_a_reference_of_another_size_is_refused_clearly(fun22: tuple[Any, dict[str, torch.Tensor], Any]) -> None:
    model, _, _ = fun22
    model.reference_embedder.pending = torch.randn(1, 16, 4, 4)
    try:
        with pytest.raises(ValueError, match="ref_image at the video's size"):
            model(hidden_states=torch.randn(1, 52, 2, 8, 8), timestep=torch.tensor([10.0]),
                  encoder_hidden_states=torch.randn(1, 7, tv.TEXT_WIDTH), return_dict=False)
    finally:
        model.reference_embedder.pending = None
