"""Conditioning the denoiser honours: timestep ranges, masks, areas (percentages, strengths, edge fade, pairing
across CFG), SDXL size conditioning and the conditioning nodes that set them.

A toy network makes each entry's prediction known in closed form: out = w·x_in + v (v the entry's value),
so for an ε-model the entry predicts x − (w·x/√(σ²+1) + v)·σ.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine.core.settings import Settings
from inkgraph.nodes import conditioning as cn
from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.conds import EncodeContext
from inkgraph.nodes.diffusion.guidance import BasicGuider, CFGGuider, Denoiser, denoiser_for
from inkgraph.nodes.diffusion.unet import UNetAdapter
from tests.fixtures.toy_diffusion import ToyAdapter, ToyNetwork, cond

EPS = ms.discrete("epsilon")
W = 0.5


def predicted(x: torch.Tensor, sigma: float, value: float) -> torch.Tensor:
    return x - (W * x / math.sqrt(sigma ** 2 + 1) + value) * sigma


def denoiser(guider: Any, shape: tuple[int, ...]) -> Denoiser:
    return denoiser_for(ToyNetwork(W), EPS, guider, shape, ToyAdapter())


def x_of(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))


def test_timestep_range_switches_conditioning_by_sigma() -> None:
    early = cn.ConditioningSetTimestepRange(cond(1.0), start=0.0, end=0.5)
    late = cn.ConditioningSetTimestepRange(cond(2.0), start=0.5, end=1.0)
    assert early[0][1] == {"start_percent": 0.0, "end_percent": 0.5}
    d = denoiser(BasicGuider(None, cn.ConditioningCombine(early, late)), (1, 1, 4, 4))
    x = x_of((1, 1, 4, 4))
    middle = EPS.percent_to_sigma(0.5)
    assert 0.5 < middle < 2.0
    assert torch.allclose(d(x, torch.tensor(10.0)), predicted(x, 10.0, 1.0), atol=1e-5)  # only the early entry
    assert torch.allclose(d(x, torch.tensor(0.05)), predicted(x, 0.05, 2.0), atol=1e-5)  # only the late one
    alone = denoiser(BasicGuider(None, early), (1, 1, 4, 4))
    assert torch.equal(alone(x, torch.tensor(0.05)), torch.zeros_like(x))  # nothing applies: zero, as ComfyUI


def test_mask_conditioning_weights_cells() -> None:
    mask = torch.zeros(4, 4)
    mask[:, :2] = 1.0
    masked = cn.ConditioningSetMask(cond(3.0), mask=mask, strength=0.5, set_cond_area="default")
    assert masked[0][1]["mask"].shape == (1, 4, 4) and masked[0][1]["mask_strength"] == 0.5
    d = denoiser(BasicGuider(None, cn.ConditioningCombine(masked, cond(1.0))), (1, 1, 4, 4))
    x, sigma = x_of((1, 1, 4, 4)), 2.0
    out = d(x, torch.tensor(sigma))
    p1, p3 = predicted(x, sigma, 1.0), predicted(x, sigma, 3.0)
    assert torch.allclose(out[..., :2], (0.5 * p3 + p1)[..., :2] / 1.5, atol=1e-5)
    assert torch.allclose(out[..., 2:], p1[..., 2:], atol=1e-5)


def test_mask_bounds_runs_on_the_bounding_box() -> None:
    mask = torch.zeros(1, 16, 16)
    mask[:, 5:7, 9:11] = 1.0
    masked = cn.ConditioningSetMask(cond(3.0), mask=mask, strength=1.0, set_cond_area="mask bounds")
    d = denoiser(BasicGuider(None, masked), (1, 1, 16, 16))
    assert d.conds["positive"][0].area == (8, 8, 5, 9)  # at least 8×8 from the box's corner
    network = d.runner.module
    x = x_of((1, 1, 16, 16))
    out = d(x, torch.tensor(1.0))
    assert network.timesteps and len(network.timesteps) == 1
    assert torch.allclose(out[:, :, 5:7, 9:11], predicted(x, 1.0, 3.0)[:, :, 5:7, 9:11], atol=1e-5)
    assert torch.equal(out[:, :, :5], torch.zeros_like(out[:, :, :5]))


def test_area_percentage_fades_in_over_inner_edges() -> None:
    area = cn.ConditioningSetAreaPercentage(cond(3.0), width=0.5, height=0.5, x=0.25, y=0.25, strength=1.0)
    assert area[0][1]["area"] == ("percentage", 0.5, 0.5, 0.25, 0.25)
    d = denoiser(BasicGuider(None, cn.ConditioningCombine(area, cond(1.0))), (1, 1, 32, 32))
    assert d.conds["positive"][0].area == (16, 16, 8, 8)
    x, sigma = x_of((1, 1, 32, 32)), 1.5
    out = d(x, torch.tensor(sigma))
    p1, p3 = predicted(x, sigma, 1.0), predicted(x, sigma, 3.0)
    for row, weight in ((8, 0.25), (9, 0.5), (10, 0.75), (11, 1.0), (23, 0.25)):  # rr = min(8, 16 // 4) = 4
        cell = (0, 0, row, 16)
        assert float(out[cell]) == pytest.approx(float((p3[cell] * weight + p1[cell]) / (1 + weight)), rel=1e-5)
    assert torch.allclose(out[..., :8, :], p1[..., :8, :], atol=1e-5)


def test_area_strength_and_uncovered_cells() -> None:
    stronger = cn.ConditioningSetAreaStrength(cond(3.0), strength=3.0)
    d = denoiser(BasicGuider(None, cn.ConditioningCombine(cond(1.0), stronger)), (1, 1, 4, 4))
    x = x_of((1, 1, 4, 4))
    expected = (predicted(x, 1.0, 1.0) + 3 * predicted(x, 1.0, 3.0)) / 4
    assert torch.allclose(d(x, torch.tensor(1.0)), expected, atol=1e-5)
    boxed = cn.ConditioningSetArea(cond(2.0), width=64, height=64, x=0, y=0, strength=1.0)  # 8×8 of a 16×16 latent
    alone = denoiser(BasicGuider(None, boxed), (1, 1, 16, 16))(x_of((1, 1, 16, 16)), torch.tensor(1.0))
    assert torch.equal(alone[..., 8:, :], torch.zeros_like(alone[..., 8:, :]))


def test_area_entries_get_a_counterpart_across_cfg() -> None:
    area = cn.ConditioningSetArea(cond(3.0), width=64, height=64, x=64, y=0, strength=2.0)
    d = denoiser(CFGGuider(None, cn.ConditioningCombine(area, cond(1.0)), cond(0.0), 4.0), (1, 1, 16, 16))
    negative = d.conds["negative"]
    assert len(negative) == 2 and negative[1].area == (8, 8, 0, 8) and negative[1].strength == 2.0
    assert float(negative[1].tensors["context"].mean()) == 0.0  # the negative's prediction over the area
    x = x_of((1, 1, 16, 16))
    cond_pred = d.runner.calc_cond_batch([d.conds["positive"]], x, torch.tensor(1.0))[0]
    uncond_pred = predicted(x, 1.0, 0.0)
    assert torch.allclose(d(x, torch.tensor(1.0)), uncond_pred + (cond_pred - uncond_pred) * 4.0, atol=1e-4)


class _Config:
    def __init__(self, projection: int) -> None:
        self.addition_embed_type = "text_time"
        self.projection_class_embeddings_input_dim = projection
        self.addition_time_embed_dim = 256


class _FakeUNet:
    def __init__(self, projection: int) -> None:
        self.config = _Config(projection)


def test_sdxl_size_conditioning_reaches_the_unet_inputs() -> None:
    adapter, pooled = UNetAdapter(), torch.zeros(1, 1280)
    positive_ctx = EncodeContext("positive", (1, 4, 16, 24), torch.device("cpu"), torch.float32)
    negative_ctx = replace(positive_ctx, prompt_type="negative")
    base = adapter.encode(_FakeUNet(2816), torch.zeros(1, 77, 8), {"pooled_output": pooled}, positive_ctx)
    assert base["time_ids"].tolist() == [[128, 192, 0, 0, 128, 192]]  # the latent's size in pixels, no crop
    options = {"pooled_output": pooled, "width": 1024, "height": 768, "crop_w": 8, "crop_h": 16,
               "target_width": 2048, "target_height": 1536}
    sized = adapter.encode(_FakeUNet(2816), torch.zeros(1, 77, 8), options, positive_ctx)
    assert sized["time_ids"].tolist() == [[768, 1024, 16, 8, 1536, 2048]]
    refiner = _FakeUNet(2560)  # five time ids: the refiner's aesthetic score
    positive = adapter.encode(refiner, torch.zeros(1, 77, 8), {"pooled_output": pooled}, positive_ctx)
    negative = adapter.encode(refiner, torch.zeros(1, 77, 8), {"pooled_output": pooled}, negative_ctx)
    assert positive["time_ids"].tolist() == [[128, 192, 0, 0, 6.0]]
    assert negative["time_ids"].tolist() == [[128, 192, 0, 0, 2.5]]
    scored = adapter.encode(refiner, torch.zeros(1, 77, 8), {"pooled_output": pooled, "aesthetic_score": 7.5,
                                                             "width": 512, "height": 640}, negative_ctx)
    assert scored["time_ids"].tolist() == [[640, 512, 0, 0, 7.5]]


def test_flux_guidance_sets_the_conditioning_value() -> None:
    out = cn.FluxGuidance(cond(1.0, pooled=1), guidance=2.5)
    assert out[0][1] == {"pooled": 1, "guidance": 2.5}


@pytest.fixture(scope="module")
def sdxl(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from inkgraph.engine.runtime import Runtime
    from tests.fixtures.tiny_sd import save_single_file

    root: Path = tmp_path_factory.mktemp("sdxl")
    save_single_file("sdxl", root / "models" / "checkpoints" / "tiny_sdxl.safetensors", seed=1)
    return Runtime.create(Settings(base_dir=root, cache="none"))


def test_clip_text_encode_sdxl_nodes(sdxl: Any) -> None:
    from inkgraph.nodes.loaders import CheckpointLoaderSimple
    from inkgraph.nodes.sampling import KSampler
    from tests.fixtures.toy_diffusion import Ctx

    ctx = Ctx()
    ctx.models, ctx.folders = sdxl.models, sdxl.folders  # type: ignore[attr-defined]
    model, clip, _ = CheckpointLoaderSimple(ctx, ckpt_name="tiny_sdxl.safetensors")
    long_l = ", ".join(["a small red circle"] * 20)
    both = cn.CLIPTextEncodeSDXL(ctx, clip, width=1024, height=768, crop_w=0, crop_h=32, target_width=1024,
                                 target_height=768, text_g="a circle", text_l=long_l)
    embedding, options = both[0]
    assert embedding.shape[1] == 154  # text_l took two chunks; text_g was padded with an empty one
    assert options["pooled_output"] is not None and options["crop_h"] == 32 and options["target_width"] == 1024
    plain = cn.CLIPTextEncode(ctx, text="a circle", clip=clip)
    same = cn.CLIPTextEncodeSDXL(ctx, clip, width=64, height=64, crop_w=0, crop_h=0, target_width=64,
                                 target_height=64, text_g="a circle", text_l="a circle")
    assert torch.equal(same[0][0], plain[0][0]) and torch.equal(same[0][1]["pooled_output"],
                                                                plain[0][1]["pooled_output"])
    refiner = cn.CLIPTextEncodeSDXLRefiner(ctx, ascore=2.0, width=512, height=512, text="a circle", clip=clip)
    assert refiner[0][1]["aesthetic_score"] == 2.0 and torch.equal(refiner[0][0], plain[0][0])
    latent = {"samples": torch.zeros(1, 4, 8, 8)}

    def run(positive: Any) -> torch.Tensor:
        with torch.no_grad():
            return KSampler(ctx, model, seed=1, steps=2, cfg=1.0, sampler_name="euler", scheduler="normal",
                            positive=positive, negative=plain, latent_image=latent, denoise=1.0)["samples"]

    assert torch.equal(run(same), run(plain))  # 64×64, no crop: the same ids the latent's size gives
    assert not torch.equal(run(both), run(plain))
