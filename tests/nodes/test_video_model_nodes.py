"""The video models' nodes: /object_info against ComfyUI's declarations (written down by hand from
comfy_extras/nodes_wan.py, nodes_hunyuan.py, nodes_lt.py, nodes_camera_trajectory.py and nodes.py), and
their tensors against hand-computed results: latent shapes, the masks the Wan nodes build, TrimVideoLatent,
the camera embedding's layout, LTXVScheduler's sigmas, and 5-D resizing."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info

COND = ["CONDITIONING"]
SIZE = {"width": ["INT", {"default": 832, "min": 16, "max": 16384, "step": 16}],
        "height": ["INT", {"default": 480, "min": 16, "max": 16384, "step": 16}],
        "length": ["INT", {"default": 81, "min": 1, "max": 16384, "step": 4}],
        "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}]}
WAN_IN = {"positive": COND, "negative": COND, "vae": ["VAE"], **SIZE}
WAN_OUT = [("CONDITIONING", "positive"), ("CONDITIONING", "negative"), ("LATENT", "latent")]
VIDEO = "conditioning/video_models"
HUNYUAN = {"width": ["INT", {"default": 848, "min": 16, "max": 16384, "step": 16}],
           "height": ["INT", {"default": 480, "min": 16, "max": 16384, "step": 16}],
           "length": ["INT", {"default": 25, "min": 1, "max": 16384, "step": 4}],
           "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}]}
LTX_SIZE = {"width": ["INT", {"default": 768, "min": 64, "max": 16384, "step": 32}],
            "height": ["INT", {"default": 512, "min": 64, "max": 16384, "step": 32}]}
TILES = {"tile_size": ["INT", {"default": 512, "min": 64, "max": 4096, "step": 32}],
         "overlap": ["INT", {"default": 64, "min": 0, "max": 4096, "step": 32}],
         "temporal_size": ["INT", {"default": 64, "min": 8, "max": 4096, "step": 4}],
         "temporal_overlap": ["INT", {"default": 8, "min": 4, "max": 4096, "step": 4}]}

# class_type: (category, display name, required inputs, optional inputs, outputs [(type, name)])
REFERENCE: dict[str, tuple[str, str, dict[str, Any], dict[str, Any], list[tuple[str, str]]]] = {
    "WanImageToVideo": (VIDEO, "WanImageToVideo", WAN_IN,
                        {"clip_vision_output": ["CLIP_VISION_OUTPUT"], "start_image": ["IMAGE"]}, WAN_OUT),
    "WanFirstLastFrameToVideo": (VIDEO, "WanFirstLastFrameToVideo", WAN_IN, {
        "clip_vision_start_image": ["CLIP_VISION_OUTPUT"], "clip_vision_end_image": ["CLIP_VISION_OUTPUT"],
        "start_image": ["IMAGE"], "end_image": ["IMAGE"]}, WAN_OUT),
    "WanFunInpaintToVideo": (VIDEO, "WanFunInpaintToVideo", WAN_IN, {
        "clip_vision_output": ["CLIP_VISION_OUTPUT"], "start_image": ["IMAGE"], "end_image": ["IMAGE"]}, WAN_OUT),
    "WanFunControlToVideo": (VIDEO, "WanFunControlToVideo", WAN_IN, {
        "clip_vision_output": ["CLIP_VISION_OUTPUT"], "start_image": ["IMAGE"], "control_video": ["IMAGE"]}, WAN_OUT),
    "WanVaceToVideo": (VIDEO, "WanVaceToVideo", {
        **WAN_IN, "strength": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1000.0, "step": 0.01}]},
        {"control_video": ["IMAGE"], "control_masks": ["MASK"], "reference_image": ["IMAGE"]},
        [*WAN_OUT, ("INT", "trim_latent")]),
    "TrimVideoLatent": ("latent/video", "TrimVideoLatent", {
        "samples": ["LATENT"], "trim_amount": ["INT", {"default": 0, "min": 0, "max": 99999}]}, {},
        [("LATENT", "LATENT")]),
    "WanCameraImageToVideo": (VIDEO, "WanCameraImageToVideo", WAN_IN, {
        "clip_vision_output": ["CLIP_VISION_OUTPUT"], "start_image": ["IMAGE"],
        "camera_conditions": ["WAN_CAMERA_EMBEDDING"]}, WAN_OUT),
    "WanCameraEmbedding": ("camera", "WanCameraEmbedding", {
        "camera_pose": [["Static", "Pan Up", "Pan Down", "Pan Left", "Pan Right", "Zoom In", "Zoom Out",
                         "Anti Clockwise (ACW)", "ClockWise (CW)"], {"default": "Static"}],
        "width": SIZE["width"], "height": SIZE["height"], "length": SIZE["length"]}, {
        "speed": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.1}],
        "fx": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.000000001}],
        "fy": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.000000001}],
        "cx": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01}],
        "cy": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.01}]},
        [("WAN_CAMERA_EMBEDDING", "camera_embedding"), ("INT", "width"), ("INT", "height"), ("INT", "length")]),
    "Wan22ImageToVideoLatent": ("conditioning/inpaint", "Wan22ImageToVideoLatent", {
        "vae": ["VAE"], "width": ["INT", {"default": 1280, "min": 32, "max": 16384, "step": 32}],
        "height": ["INT", {"default": 704, "min": 32, "max": 16384, "step": 32}],
        "length": ["INT", {"default": 49, "min": 1, "max": 16384, "step": 4}],
        "batch_size": SIZE["batch_size"]}, {"start_image": ["IMAGE"]}, [("LATENT", "LATENT")]),
    "EmptyHunyuanLatentVideo": ("latent/video", "Empty HunyuanVideo 1.0 Latent", HUNYUAN, {},
                                [("LATENT", "LATENT")]),
    "EmptyHunyuanVideo15Latent": ("latent/video", "Empty HunyuanVideo 1.5 Latent", HUNYUAN, {},
                                  [("LATENT", "LATENT")]),
    "HunyuanVideo15ImageToVideo": (VIDEO, "HunyuanVideo15ImageToVideo", {
        "positive": COND, "negative": COND, "vae": ["VAE"], "width": HUNYUAN["width"], "height": HUNYUAN["height"],
        "length": ["INT", {"default": 33, "min": 1, "max": 16384, "step": 4}], "batch_size": SIZE["batch_size"]},
        {"start_image": ["IMAGE"], "clip_vision_output": ["CLIP_VISION_OUTPUT"]}, WAN_OUT),
    "EmptyLTXVLatentVideo": ("model/latent/ltxv", "EmptyLTXVLatentVideo", {
        **LTX_SIZE, "length": ["INT", {"default": 97, "min": 1, "max": 16384, "step": 8}],
        "batch_size": SIZE["batch_size"]}, {}, [("LATENT", "LATENT")]),
    "LTXVImgToVideo": ("model/conditioning/ltxv", "LTXVImgToVideo", {
        "positive": COND, "negative": COND, "vae": ["VAE"], "image": ["IMAGE"], **LTX_SIZE,
        "length": ["INT", {"default": 97, "min": 9, "max": 16384, "step": 8}], "batch_size": SIZE["batch_size"],
        "strength": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0}]}, {}, WAN_OUT),
    "LTXVConditioning": ("model/conditioning/ltxv", "LTXVConditioning", {
        "positive": COND, "negative": COND,
        "frame_rate": ["FLOAT", {"default": 25.0, "min": 0.0, "max": 1000.0, "step": 0.01}]}, {},
        [("CONDITIONING", "positive"), ("CONDITIONING", "negative")]),
    "LTXVScheduler": ("model/sampling/schedulers", "LTXVScheduler", {
        "steps": ["INT", {"default": 20, "min": 1, "max": 10000}],
        "max_shift": ["FLOAT", {"default": 2.05, "min": 0.0, "max": 100.0, "step": 0.01}],
        "base_shift": ["FLOAT", {"default": 0.95, "min": 0.0, "max": 100.0, "step": 0.01}],
        "stretch": ["BOOLEAN", {"default": True}],
        "terminal": ["FLOAT", {"default": 0.1, "min": 0.0, "max": 0.99, "step": 0.01}]}, {"latent": ["LATENT"]},
        [("SIGMAS", "SIGMAS")]),
    "CLIPVisionLoader": ("loaders", "Load CLIP Vision", {"clip_name": [[]]}, {}, [("CLIP_VISION", "CLIP_VISION")]),
    "CLIPVisionEncode": ("conditioning", "CLIP Vision Encode", {
        "clip_vision": ["CLIP_VISION"], "image": ["IMAGE"], "crop": [["center", "none"]]}, {},
        [("CLIP_VISION_OUTPUT", "CLIP_VISION_OUTPUT")]),
    "VAEDecodeTiled": ("_for_testing", "VAE Decode (Tiled)", {"samples": ["LATENT"], "vae": ["VAE"], **TILES}, {},
                       [("IMAGE", "IMAGE")]),
    "VAEEncodeTiled": ("_for_testing", "VAE Encode (Tiled)", {
        "pixels": ["IMAGE"], "vae": ["VAE"], **TILES,
        "tile_size": ["INT", {"default": 512, "min": 64, "max": 4096, "step": 64}]}, {}, [("LATENT", "LATENT")]),
}
EXPERIMENTAL = {"WanVaceToVideo", "TrimVideoLatent"}


def _only_written_down(got: list[Any], want: list[Any]) -> list[Any]:
    """Options compared on the keys written down (tooltips and "advanced" flags are not)."""
    if len(got) == 2 and len(want) == 2:
        return [got[0], {k: v for k, v in got[1].items() if k in want[1]}]
    return got[: len(want)]


@pytest.fixture(scope="module")
def infos() -> dict[str, dict[str, Any]]:
    return {spec_of(n).class_type: node_info(spec_of(n), None) for n in nodes.node_list()}


@pytest.mark.parametrize("class_type", list(REFERENCE))
def test_declaration_matches_comfyui(class_type: str, infos: dict[str, dict[str, Any]]) -> None:
    category, display, required, optional, outputs = REFERENCE[class_type]
    info = infos[class_type]
    assert (info["category"], info["display_name"]) == (category, display)
    assert info["input_order"]["required"] == list(required)
    assert info["input_order"].get("optional", []) == list(optional)
    for section, expected in (("required", required), ("optional", optional)):
        for name, config in expected.items():
            assert _only_written_down(info["input"][section][name], config) == config, (class_type, name)
    assert list(zip(info["output"], info["output_name"], strict=True)) == outputs
    assert info.get("experimental", False) == (class_type in EXPERIMENTAL)


def test_the_tiled_vae_nodes_mark_their_tiling_inputs_advanced(infos: dict[str, dict[str, Any]]) -> None:
    for class_type in ("VAEDecodeTiled", "VAEEncodeTiled"):
        inputs = infos[class_type]["input"]["required"]
        assert all(inputs[name][1]["advanced"] for name in TILES)


def test_empty_video_latents_have_comfyuis_shapes() -> None:
    from inkgraph.nodes.video_latents import EmptyHunyuanLatentVideo, EmptyHunyuanVideo15Latent, EmptyLTXVLatentVideo

    assert EmptyHunyuanLatentVideo(width=848, height=480, length=25, batch_size=2)["samples"].shape == (2, 16, 7, 60,
                                                                                                         106)
    assert EmptyHunyuanVideo15Latent(width=848, height=480, length=33, batch_size=1)["samples"].shape == (1, 32, 9, 30,
                                                                                                           53)
    ltx = EmptyLTXVLatentVideo(width=768, height=512, length=97, batch_size=1)
    assert ltx["samples"].shape == (1, 128, 13, 16, 24) and ltx["downscale_ratio_spacial"] == 32


def test_trim_video_latent_drops_leading_frames() -> None:
    from inkgraph.nodes.wan import TrimVideoLatent

    samples = torch.arange(2 * 3 * 5).float().reshape(1, 2, 5, 3, 1).expand(1, 2, 5, 3, 2)
    out = TrimVideoLatent({"samples": samples, "batch_index": [0]}, trim_amount=2)
    assert torch.equal(out["samples"], samples[:, :, 2:]) and out["batch_index"] == [0]


class EncodingVae:
    """A stand-in VAE: 8× down, 4 frames a latent frame, 16 channels of the mean pixel value."""

    def use(self) -> Any:
        from contextlib import nullcontext

        return nullcontext(self)


@pytest.fixture
def fake_encode(monkeypatch: pytest.MonkeyPatch) -> list[torch.Tensor]:
    from inkgraph.nodes.diffusion import vae_ops

    seen: list[torch.Tensor] = []

    def encode(vae: Any, pixels: torch.Tensor, check: Any = None) -> torch.Tensor:
        seen.append(pixels.clone())
        frames, height, width = (pixels.shape[0] - 1) // 4 + 1, pixels.shape[1] // 8, pixels.shape[2] // 8
        return pixels.mean().expand(1, 16, frames, height, width).clone()

    monkeypatch.setattr(vae_ops, "encode", encode)
    return seen


class Ctx:
    def check_interrupted(self) -> None:
        return None


def test_first_last_frame_masks_the_given_frames_per_latent_frame(fake_encode: list[torch.Tensor]) -> None:
    from inkgraph.nodes.wan import WanFirstLastFrameToVideo

    start, end = torch.zeros(1, 16, 16, 3), torch.ones(1, 16, 16, 3)
    positive, _, latent = WanFirstLastFrameToVideo(Ctx(), [[torch.zeros(1), {}]], [], EncodingVae(), width=16,
                                                   height=16, length=9, batch_size=1, start_image=start,
                                                   end_image=end)
    video = fake_encode[0]
    assert video.shape == (9, 16, 16, 3)
    assert video[0].eq(0).all() and video[-1].eq(1).all() and video[1:-1].eq(0.5).all()
    mask = positive[0][1]["concat_mask"]
    assert mask.shape == (1, 4, 3, 2, 2)
    # latent frame 0 holds the start image (its four slots: frames 0..3 masked), frame 2's last slot the end
    assert mask[0, :, 0, 0, 0].tolist() == [0, 0, 0, 0] and mask[0, :, 1, 0, 0].tolist() == [1, 1, 1, 1]
    assert mask[0, :, 2, 0, 0].tolist() == [1, 1, 1, 0]
    assert latent["samples"].shape == (1, 16, 3, 2, 2)


def test_vace_folds_the_mask_to_the_latent_grid_and_prepends_the_reference(fake_encode: list[torch.Tensor]) -> None:
    from inkgraph.nodes.wan import WanVaceToVideo

    masks = torch.zeros(5, 16, 16)
    masks[:, :8] = 1.0  # regenerate the top half
    positive, negative, latent, trim = WanVaceToVideo(
        Ctx(), [[torch.zeros(1), {}]], [[torch.zeros(1), {}]], EncodingVae(), width=16, height=16, length=5,
        batch_size=1, strength=0.5, control_video=torch.rand(5, 16, 16, 3), control_masks=masks,
        reference_image=torch.rand(1, 16, 16, 3))
    options = positive[0][1]
    assert trim == 1 and latent["samples"].shape == (1, 16, 3, 2, 2)
    assert options["vace_frames"][0].shape == (1, 32, 3, 2, 2) and options["vace_strength"] == [0.5]
    mask = options["vace_mask"][0]
    assert mask.shape == (1, 64, 3, 2, 2)
    assert mask[:, :, 0].eq(0).all()  # the reference frame
    assert mask[:, :, 1:, 0].eq(1).all() and mask[:, :, 1:, 1].eq(0).all()
    assert negative[0][1]["vace_frames"][0] is options["vace_frames"][0]


def test_wan22_image_latent_keeps_the_encoded_start_and_masks_it_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from inkgraph.nodes.diffusion import vae_ops
    from inkgraph.nodes.diffusion.families.wan import WAN22_LATENT
    from inkgraph.nodes.wan import Wan22ImageToVideoLatent

    def encode48(vae: Any, pixels: torch.Tensor, check: Any = None) -> torch.Tensor:
        return torch.full((1, 48, 1, pixels.shape[1] // 16, pixels.shape[2] // 16), 0.25)

    monkeypatch.setattr(vae_ops, "encode", encode48)
    out = Wan22ImageToVideoLatent(Ctx(), EncodingVae(), width=32, height=32, length=9, batch_size=2,
                                  start_image=torch.rand(1, 32, 32, 3))
    assert out["samples"].shape == (2, 48, 3, 2, 2) and out["noise_mask"].shape == (2, 1, 3, 2, 2)
    assert out["samples"][:, :, 0].eq(0.25).all() and out["noise_mask"][:, :, 0].eq(0).all()
    empty = WAN22_LATENT.process_out(torch.zeros(1, 48, 1, 2, 2))
    assert torch.allclose(out["samples"][:1, :, 1:2], empty) and out["noise_mask"][:, :, 1:].eq(1).all()
    assert "noise_mask" not in Wan22ImageToVideoLatent(Ctx(), EncodingVae(), width=32, height=32, length=9,
                                                       batch_size=2)


def test_camera_embedding_layout_and_a_static_camera() -> None:
    from inkgraph.nodes.wan import WanCameraEmbedding

    embedding, width, height, length = WanCameraEmbedding("Static", width=32, height=16, length=9)
    assert (width, height, length) == (32, 16, 9) and embedding.shape == (1, 24, 3, 16, 32)
    # a static camera sits at the origin: o × d is zero; the directions are unit rays, the same every frame
    channels = embedding[0].reshape(6, 4, 3, 16, 32)
    assert channels[:3].abs().max() < 1e-6
    assert torch.allclose(channels[3:].norm(dim=0), torch.ones(4, 3, 16, 32), atol=1e-5)
    assert torch.allclose(channels[3:, :, 0], channels[3:, :, 2], atol=1e-6)
    panned, *_ = WanCameraEmbedding("Pan Right", width=32, height=16, length=9, speed=1.0)
    assert panned[0].reshape(6, 4, 3, 16, 32)[:3, :, 0].abs().max() < 1e-6  # the first frame is the reference
    assert panned[0].reshape(6, 4, 3, 16, 32)[:3, :, 2].abs().max() > 0.1


def test_ltxv_scheduler_shifts_by_tokens_and_stretches_to_the_terminal() -> None:
    from inkgraph.nodes.video_latents import LTXVScheduler

    sigmas = LTXVScheduler(steps=4, max_shift=2.05, base_shift=0.95, stretch=False, terminal=0.1)
    shift = 4096 * (1.1 / 3072) + 0.95 - (1.1 / 3072) * 1024  # 4096 tokens without a latent: the max shift
    expected = [math.exp(shift) / (math.exp(shift) + (1 / s - 1)) for s in (1.0, 0.75, 0.5, 0.25)] + [0.0]
    assert sigmas.tolist() == pytest.approx(expected, abs=1e-6)
    stretched = LTXVScheduler(steps=4, max_shift=2.05, base_shift=0.95, stretch=True, terminal=0.1,
                              latent={"samples": torch.zeros(1, 128, 4, 16, 16)})
    assert stretched[-2].item() == pytest.approx(0.1, abs=1e-6) and stretched[0].item() == pytest.approx(1.0)
    assert stretched[-1].item() == 0.0


def test_common_upscale_resizes_video_latents_frame_by_frame() -> None:
    from inkgraph.nodes.image_utils import common_upscale

    video = torch.rand(2, 3, 4, 6, 8)
    out = common_upscale(video, 5, 3, "bilinear", "center")
    assert out.shape == (2, 3, 4, 3, 5)
    for frame in range(4):
        assert torch.allclose(out[:, :, frame], common_upscale(video[:, :, frame], 5, 3, "bilinear", "center"))
