"""Perp-Neg, Epsilon Scaling, TCFG, Mahiro, FreSca, the video CFG ramps and the table schedules, against
their published formulas on a toy network whose predictions are known in closed form (see
test_model_patches_cfg), and their /object_info shapes against ComfyUI's."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import as_spec
from inkgraph.nodes import guidance_extras as ge
from inkgraph.nodes import sigmas as sg
from inkgraph.nodes.diffusion import model_sampling as ms
from inkgraph.nodes.diffusion.guidance import CFGGuider, CfgState, denoiser_for
from inkgraph.nodes.diffusion.patches.cfg_extras import fourier_filter, tangential_damping
from tests.fixtures.toy_diffusion import ToyAdapter, ToyModel, ToyNetwork, cond

EPS = ms.discrete("epsilon")
W, POS, NEG, EMPTY, CFG, SIGMA = 0.5, 2.0, -1.0, 0.5, 4.0, 3.0
SHAPE = (2, 3, 4, 4)


def predicted(x: torch.Tensor, value: float | torch.Tensor) -> torch.Tensor:
    return x - (W * x / math.sqrt(SIGMA ** 2 + 1) + value) * SIGMA


def x_of(shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(0))


def run(model: Any, cfg: float = CFG, guider: Any = None, shape: tuple[int, ...] = SHAPE) -> torch.Tensor:
    guider = guider or CFGGuider(model, cond(POS), cond(NEG), cfg)
    with torch.inference_mode():
        return denoiser_for(ToyNetwork(W), EPS, guider, shape, ToyAdapter())(x_of(shape), torch.tensor(SIGMA))


def toy() -> ToyModel:
    return ToyModel(ToyNetwork(W))


def perp_neg_by_hand(x: torch.Tensor, neg_scale: float, cfg: float) -> torch.Tensor:
    dp, dn, de = predicted(x, POS), predicted(x, NEG), predicted(x, EMPTY)
    pos, neg = dp - de, dn - de
    perp = neg - (neg * pos).sum() / (pos.norm() ** 2) * pos
    return de + cfg * (pos - neg_scale * perp)


def test_perp_neg_guider_and_the_deprecated_patch_agree_with_the_formula() -> None:
    x = x_of()
    for neg_scale in (0.0, 1.0, 2.5):
        guider = ge.PerpNegGuider(toy(), cond(POS), cond(NEG), cond(EMPTY), cfg=CFG, neg_scale=neg_scale)
        assert torch.allclose(run(None, guider=guider), perp_neg_by_hand(x, neg_scale, CFG), atol=1e-4)
    # the old node: the same combination through the sampler's cfg function
    patched = ge.PerpNeg(toy(), cond(EMPTY), neg_scale=1.5)
    assert torch.allclose(run(patched), perp_neg_by_hand(x, 1.5, CFG), atol=1e-4)


def test_perp_neg_guider_skips_calls_as_comfyui_does() -> None:
    network = ToyNetwork(W)
    guider = ge.PerpNegGuider(toy(), cond(POS), cond(NEG), cond(EMPTY), cfg=1.0, neg_scale=0.0)
    assert guider.prompt_types()["empty_negative_prompt"] == "negative"
    with torch.inference_mode():
        denoiser = denoiser_for(network, EPS, guider, SHAPE, ToyAdapter())
        out = denoiser(x_of(), torch.tensor(SIGMA))
    assert torch.allclose(out, predicted(x_of(), POS), atol=1e-4)  # cfg 1, neg_scale 0: the positive alone
    assert denoiser.calls == 1


def test_epsilon_scaling_divides_the_predicted_noise() -> None:
    x = x_of()
    guided = predicted(x, NEG) + CFG * (predicted(x, POS) - predicted(x, NEG))
    out = run(ge.EpsilonScaling(toy(), scaling_factor=1.25))
    assert torch.allclose(out, x - (x - guided) / 1.25, atol=1e-4)
    assert torch.allclose(run(ge.EpsilonScaling(toy(), scaling_factor=1.0)), run(toy()), atol=1e-5)


def test_tcfg_projects_the_negative_score_on_the_principal_direction() -> None:
    cond_score, uncond_score = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    damped = tangential_damping(cond_score, uncond_score)
    for b in range(2):  # by hand: the top right-singular vector of the 2×N matrix [uncond; cond]
        matrix = np.stack([uncond_score[b].flatten().numpy(), cond_score[b].flatten().numpy()]).astype(np.float64)
        v1 = np.linalg.svd(matrix, full_matrices=False)[2][0]
        expected = (matrix[0] @ v1) * v1
        assert np.allclose(damped[b].flatten().numpy(), expected, atol=1e-4)
    x = x_of()
    dc, du = predicted(x, POS), predicted(x, NEG)
    du_td = x - tangential_damping(x - dc, x - du)
    assert torch.allclose(run(ge.TCFG(toy())), du_td + CFG * (dc - du_td), atol=1e-4)


def test_mahiro_mixes_by_similarity() -> None:
    x = x_of()
    dc, du = predicted(x, POS), predicted(x, NEG)
    cfg = du + CFG * (dc - du)
    leap, u_leap = dc * CFG, du * CFG
    merge = (leap + cfg) / 2
    sim = torch.nn.functional.cosine_similarity(u_leap.sign() * u_leap.abs().sqrt(),
                                                merge.sign() * merge.abs().sqrt()).mean()
    s = 2 * (sim + 1)
    assert torch.allclose(run(ge.Mahiro(toy())), (s * cfg + (4 - s) * leap) / 4, atol=1e-4)


def test_fresca_scales_low_and_high_frequencies_apart() -> None:
    x = torch.randn(1, 2, 8, 8)
    assert torch.allclose(fourier_filter(x, 1.0, 1.0, 2), x, atol=1e-5)  # both scales 1: unchanged
    assert torch.allclose(fourier_filter(x, 2.0, 2.0, 2), 2 * x, atol=1e-5)
    constant = torch.full((1, 1, 8, 8), 3.0)  # only the zero frequency, which is in the low band
    assert torch.allclose(fourier_filter(constant, 0.5, 9.0, 1), constant * 0.5, atol=1e-5)
    checker = torch.tensor([[(-1.0) ** (i + j) for j in range(8)] for i in range(8)]).view(1, 1, 8, 8)
    assert torch.allclose(fourier_filter(checker, 0.5, 3.0, 1), checker * 3.0, atol=1e-5)  # the highest one
    x = x_of()
    dc, du = predicted(x, POS), predicted(x, NEG)
    filtered = fourier_filter(dc - du, 1.0, 1.25, 1) + du
    assert torch.allclose(run(ge.FreSca(toy(), 1.0, 1.25, 1)), du + CFG * (filtered - du), atol=1e-4)


@pytest.mark.parametrize("triangle", [False, True])
def test_video_cfg_ramps_over_the_frames(triangle: bool) -> None:
    shape = (5, 3, 4, 4)
    x = x_of(shape)
    dc, du = predicted(x, POS), predicted(x, NEG)
    if triangle:
        scales = [1.5 + (CFG - 1.5) * v for v in (0.0, 0.5, 1.0, 0.5, 0.0)]
        model = ge.VideoTriangleCFGGuidance(toy(), min_cfg=1.5)
    else:
        scales = [1.5 + (CFG - 1.5) * i / 4 for i in range(5)]
        model = ge.VideoLinearCFGGuidance(toy(), min_cfg=1.5)
    expected = du + torch.tensor(scales).view(5, 1, 1, 1) * (dc - du)
    assert torch.allclose(run(model, shape=shape), expected, atol=1e-4)


def test_align_your_steps_and_optimal_steps_tables() -> None:
    sd1 = sg.AlignYourStepsScheduler("SD1", steps=10, denoise=1.0)
    assert sd1.shape == (11,) and float(sd1[0]) == pytest.approx(14.6146412293) and float(sd1[-1]) == 0.0
    assert float(sd1[5]) == pytest.approx(1.3943805092)
    # 20 steps: the 11 levels log-linearly interpolated; the table's own points kept at even indices
    long = sg.AlignYourStepsScheduler("SDXL", steps=20, denoise=1.0)
    assert long.shape == (21,) and float(long[2]) == pytest.approx(6.3184485287, rel=1e-5)
    assert float(long[1]) == pytest.approx(math.sqrt(14.6146412293 * 6.3184485287), rel=1e-5)
    half = sg.AlignYourStepsScheduler("SD1", steps=10, denoise=0.5)
    assert torch.allclose(half[:-1], sd1[5:-1]) and float(half[-1]) == 0.0
    assert sg.AlignYourStepsScheduler("SVD", steps=10, denoise=0.0).numel() == 0
    flux = sg.OptimalStepsScheduler("FLUX", steps=10, denoise=1.0)
    assert float(flux[0]) == pytest.approx(0.9968) and float(flux[-2]) == pytest.approx(0.2808)
    assert sg.OptimalStepsScheduler("Wan", steps=20, denoise=1.0).shape == (21,)
    assert sg.OptimalStepsScheduler("Chroma", steps=5, denoise=1.0).shape == (6,)


def info(item: Any) -> dict[str, Any]:
    return node_info(as_spec(item), None)


def test_object_info_matches_comfyuis() -> None:
    perp = info(ge.PerpNegGuider)
    assert list(perp["input"]["required"]) == ["model", "positive", "negative", "empty_conditioning", "cfg",
                                               "neg_scale"]
    cfg = perp["input"]["required"]["cfg"][1]
    assert cfg.items() >= {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1}.items()
    assert perp["output"] == ["GUIDER"] and perp["category"] == "_for_testing"
    old = info(ge.PerpNeg)
    assert old["display_name"] == "Perp-Neg (DEPRECATED by PerpNegGuider)" and old.get("deprecated") is True
    eps = info(ge.EpsilonScaling)
    assert eps["name"] == "Epsilon Scaling" and eps["category"] == "model_patches/unet"
    assert eps["input"]["required"]["scaling_factor"][1].items() >= {"default": 1.005, "min": 0.5, "max": 1.5,
                                                                  "step": 0.001}.items()
    tcfg = info(ge.TCFG)
    assert tcfg["display_name"] == "Tangential Damping CFG" and tcfg["output_name"] == ["patched_model"]
    fresca = info(ge.FreSca)
    assert list(fresca["input"]["required"]) == ["model", "scale_low", "scale_high", "freq_cutoff"]
    assert fresca["input"]["required"]["freq_cutoff"][1]["default"] == 20
    ramp = info(ge.VideoLinearCFGGuidance)
    assert ramp["category"] == "sampling/video_models"
    min_cfg = ramp["input"]["required"]["min_cfg"][1]
    assert min_cfg.items() >= {"default": 1.0, "min": 0.0, "max": 100.0, "step": 0.5}.items()
    ays = info(sg.AlignYourStepsScheduler)
    assert ays["input"]["required"]["model_type"][0] == ["SD1", "SDXL", "SVD"]
    assert ays["category"] == "sampling/custom_sampling/schedulers"
    ost = info(sg.OptimalStepsScheduler)
    assert ost["input"]["required"]["steps"][1].items() >= {"default": 20, "min": 3, "max": 1000}.items()


def test_a_perp_neg_guider_keeps_the_negative_for_cfgpp() -> None:
    state = CfgState(keep_uncond=True)
    guider = ge.PerpNegGuider(toy(), cond(POS), cond(NEG), cond(EMPTY), cfg=CFG, neg_scale=1.0)
    with torch.inference_mode():
        denoiser = denoiser_for(ToyNetwork(W), EPS, guider, SHAPE, ToyAdapter())
        guider.predict(denoiser.runner, denoiser.conds, x_of(), torch.tensor(SIGMA), state)
    assert state.uncond_denoised is not None
    assert torch.allclose(state.uncond_denoised, predicted(x_of(), NEG), atol=1e-4)
