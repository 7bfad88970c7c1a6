"""WanTrackToVideo (ComfyUI's ``nodes_wan.py``, Wan ATI): /object_info against ComfyUI's declaration; track
parsing and resampling, the motion painting by hand; the node's conditioning over the tiny Wan 2.1 VAE, and
WanImageToVideo's without tracks."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.diffusion.families.wan import WAN21_LATENT
from inkgraph.nodes.wan_tracks import paint_motion, parse_tracks, track_tensor
from tests.fixtures import tiny_video as tv


def test_object_info_matches_comfyui() -> None:
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "WanTrackToVideo")
    info = node_info(spec, None)
    assert info["category"] == "conditioning/video_models"
    assert info["input"] == {
        "required": {
            "positive": ["CONDITIONING"], "negative": ["CONDITIONING"], "vae": ["VAE"],
            "tracks": ["STRING", {"default": "[]", "multiline": True}],
            "width": ["INT", {"default": 832, "min": 16, "max": 16384, "step": 16}],
            "height": ["INT", {"default": 480, "min": 16, "max": 16384, "step": 16}],
            "length": ["INT", {"default": 81, "min": 1, "max": 16384, "step": 4}],
            "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
            "temperature": ["FLOAT", {"default": 220.0, "min": 1.0, "max": 1000.0, "step": 0.1}],
            "topk": ["INT", {"default": 2, "min": 1, "max": 10}],
            "start_image": ["IMAGE"]},
        "optional": {"clip_vision_output": ["CLIP_VISION_OUTPUT"]}}
    assert info["input_order"]["required"][-1] == "start_image"
    assert info["output"] == ["CONDITIONING", "CONDITIONING", "LATENT"]
    assert info["output_name"] == ["positive", "negative", "latent"]


def test_tracks_are_read_as_comfyui_reads_them() -> None:
    one = [{"x": 1, "y": 2}, {"x": 3, "y": 4}]
    assert parse_tracks(json.dumps(one)) == [[one]]  # one track: one batch item
    assert parse_tracks(json.dumps([one, one])) == [[one, one]]  # tracks of one item
    assert parse_tracks(json.dumps([[one], [one, one]])) == [[one], [one, one]]  # per batch item
    assert parse_tracks(str(one)) == [[one]]  # single quotes, as Python writes it
    assert parse_tracks("[]") == [] and parse_tracks("not json") == []


def test_track_rows_by_hand() -> None:
    # a 40×20 frame: centre (20, 10), half the short side 10; 4 frames after the start
    track = [{"x": 20 + i, "y": 10 - i} for i in range(121)]
    rows = track_tensor([track], 40, 20, 4)
    assert rows.shape == (5, 1, 4)
    # 120 samples → 4: gcd 4, stride 30, no repetition: samples 2, 32, 62, 92 of the track
    for row, sample in zip(rows[1:, 0], (2, 32, 62, 92), strict=True):
        assert torch.allclose(row, torch.tensor([-1 + 2 * sample / 120, sample / 10, -sample / 10, 1.0]))
    assert torch.allclose(rows[0, 0], torch.tensor([-1.0, 0.0, 0.0, 1.0]))
    short = track_tensor([track[:3]], 40, 20, 4)  # padded with invisible points at the frame's corner
    assert torch.allclose(short[2, 0], torch.tensor([-1 + 2 * 32 / 120, -2.0, -1.0, -1.0]))
    # 80 frames: gcd 40, stride 3, each sample twice
    assert track_tensor([track], 40, 20, 80).shape == (81, 1, 4)


def test_motion_is_painted_along_the_track_by_hand() -> None:
    latent = torch.arange(16.0).reshape(2, 2, 2, 2)  # C=2, t=2, h=w=2
    tracks = torch.zeros(5, 1, 4)
    tracks[:, 0, 3] = 1.0  # visible throughout
    tracks[0, 0, 1:3] = torch.tensor([-0.5, -0.5])  # starts at the centre of cell (0, 0)
    tracks[1:, 0, 1:3] = torch.tensor([1.0, 1.0])  # then at cell (1, 1)'s grid point
    mask, out = paint_motion(tracks, latent, temperature=220.0, topk=2)
    assert mask.shape == (4, 2, 2, 2) and out.shape == (2, 2, 2, 2)
    assert torch.equal(out[:, 0], latent[:, 0]) and torch.equal(mask[:, 0], torch.ones(4, 2, 2))
    # cell (1, 1): weight 1, the start frame's feature at (0, 0); the others (distance² ≥ 4): e^−880 ≈ 0
    assert torch.allclose(out[:, 1, 1, 1], latent[:, 0, 0, 0])
    assert torch.allclose(out[:, 1, 0, 0], latent[:, 1, 0, 0]) and torch.allclose(out[:, 1, 0, 1], latent[:, 1, 0, 1])
    assert torch.allclose(mask[0, 1], torch.tensor([[0.0, 0.0], [0.0, 1.0]]))
    # a weaker pull: temperature 0.1 over distance² 4 → weight e^−0.4 at the neighbours
    mask, _ = paint_motion(tracks, latent, temperature=0.1, topk=1)
    assert mask[0, 1, 0, 1] == pytest.approx(math.exp(-0.4), rel=1e-5)


class Handle:
    def __init__(self, vae: Any) -> None:
        self.vae = vae

    @contextmanager
    def use(self) -> Iterator[Any]:
        yield self.vae


class Ctx:
    def check_interrupted(self) -> None:
        return None


def test_the_node_paints_over_the_encoded_start_and_without_tracks_is_image_to_video() -> None:
    from inkgraph.nodes.diffusion.vae_ops import encode
    from inkgraph.nodes.image_utils import common_upscale
    from inkgraph.nodes.wan import WanImageToVideo
    from inkgraph.nodes.wan_tracks import WanTrackToVideo

    torch.manual_seed(0)
    vae = tv.wan_vae("2.1").eval()
    start = torch.rand(1, 32, 32, 3)
    track = [{"x": 8 + i // 10, "y": 8} for i in range(121)]
    common = dict(ctx=Ctx(), positive=[[torch.zeros(1, 2, 4), {}]], negative=[[torch.zeros(1, 2, 4), {}]],
                  vae=Handle(vae), width=32, height=32, length=5, batch_size=1, temperature=220.0, topk=2,
                  start_image=start)
    with torch.no_grad():
        positive, negative, latent = WanTrackToVideo(tracks=json.dumps([track]), **common)
        video = torch.full((5, 32, 32, 3), 0.5)
        video[0] = common_upscale(start.movedim(-1, 1), 32, 32, "bilinear", "center").movedim(1, -1)[0]
        encoded = WAN21_LATENT.process_in(encode(vae, video))
        rows = track_tensor([track], 32, 32, 4)
        want_mask, want = paint_motion(rows, encoded[0], 220.0, 2)
    assert latent["samples"].shape == (1, 16, 2, 4, 4)
    for options in (positive[0][1], negative[0][1]):
        assert torch.allclose(options["concat_latent_image"], WAN21_LATENT.process_out(want[None]), atol=1e-5)
        assert torch.allclose(options["concat_mask"], 1 - want_mask[None])
    with torch.no_grad():
        plain = WanTrackToVideo(tracks="[]", **common)
        i2v = WanImageToVideo(ctx=Ctx(), positive=common["positive"], negative=common["negative"], vae=Handle(vae),
                              width=32, height=32, length=5, batch_size=1, start_image=start)
    assert torch.allclose(plain[0][0][1]["concat_latent_image"], i2v[0][0][1]["concat_latent_image"])
    assert torch.equal(plain[0][0][1]["concat_mask"], i2v[0][0][1]["concat_mask"])
