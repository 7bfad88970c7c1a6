"""Latent and conditioning nodes on small tensors."""

from __future__ import annotations

import pytest
import torch

from inkgraph.nodes import conditioning as cond
from inkgraph.nodes import latent
from inkgraph.nodes.image_utils import bislerp


def test_empty_latent_shape() -> None:
    out = latent.EmptyLatentImage(width=64, height=32, batch_size=3)
    assert out["samples"].shape == (3, 4, 4, 8) and out["samples"].abs().sum() == 0


def test_latent_upscale_rules() -> None:
    base = {"samples": torch.randn(1, 4, 8, 16)}
    assert latent.LatentUpscale(samples=base, upscale_method="bilinear", width=0, height=0, crop="disabled") is base
    out = latent.LatentUpscale(samples=base, upscale_method="nearest-exact", width=0, height=128, crop="disabled")
    assert out["samples"].shape == (1, 4, 16, 32)
    out = latent.LatentUpscale(samples=base, upscale_method="bilinear", width=32, height=32, crop="center")
    assert out["samples"].shape == (1, 4, 8, 8)  # at least 64 px per side
    out = latent.LatentUpscaleBy(samples=base, upscale_method="bislerp", scale_by=1.5)
    assert out["samples"].shape == (1, 4, 12, 24)


def test_bislerp_keeps_vector_lengths_and_identity() -> None:
    x = torch.randn(2, 4, 6, 6)
    assert torch.allclose(bislerp(x, 6, 6), x, atol=1e-5)
    up = bislerp(x, 12, 12)
    # slerp keeps lengths between the neighbours' lengths; bilinear shrinks them
    assert up.norm(dim=1).mean() > torch.nn.functional.interpolate(x, size=(12, 12), mode="bilinear").norm(dim=1).mean()


def test_batches_keep_their_seeds() -> None:
    base = {"samples": torch.arange(4.0).reshape(4, 1, 1, 1).expand(4, 4, 2, 2).clone(),
            "noise_mask": torch.ones(2, 1, 2, 2)}
    part = latent.LatentFromBatch(samples=base, batch_index=2, length=5)
    assert part["samples"][:, 0, 0, 0].tolist() == [2.0, 3.0] and part["batch_index"] == [2, 3]
    assert part["noise_mask"].shape[0] == 2
    again = latent.RepeatLatentBatch(samples=part, amount=2)
    assert again["samples"].shape[0] == 4 and again["batch_index"] == [2, 3, 4, 5]


def test_noise_mask_shape() -> None:
    out = latent.SetLatentNoiseMask(samples={"samples": torch.zeros(1, 4, 8, 8)}, mask=torch.ones(64, 64))
    assert out["noise_mask"].shape == (1, 1, 64, 64)


def c(value: float, tokens: int = 77, pooled: bool = True) -> list:
    extra = {"pooled_output": torch.full((1, 8), value)} if pooled else {}
    return [[torch.full((1, tokens, 8), value), extra]]


def test_conditioning_nodes() -> None:
    assert len(cond.ConditioningCombine(conditioning_1=c(1), conditioning_2=c(2))) == 2
    avg = cond.ConditioningAverage(conditioning_to=c(1.0), conditioning_from=c(3.0, tokens=154),
                                   conditioning_to_strength=0.25)
    assert avg[0][0].shape == (1, 77, 8) and avg[0][0][0, 0, 0].item() == pytest.approx(2.5)
    assert avg[0][1]["pooled_output"][0, 0].item() == pytest.approx(2.5)
    short = cond.ConditioningAverage(conditioning_to=c(1.0, tokens=154), conditioning_from=c(3.0),
                                     conditioning_to_strength=0.5)
    assert short[0][0][0, 100, 0].item() == pytest.approx(0.5)  # missing tokens count as zeros
    cat = cond.ConditioningConcat(conditioning_to=c(1), conditioning_from=c(2))
    assert cat[0][0].shape == (1, 154, 8)
    area = cond.ConditioningSetArea(conditioning=c(1), width=128, height=64, x=8, y=16, strength=0.5)
    assert area[0][1]["area"] == (8, 16, 2, 1) and area[0][1]["strength"] == 0.5
    zero = cond.ConditioningZeroOut(conditioning=c(5))
    assert zero[0][0].abs().sum() == 0 and zero[0][1]["pooled_output"].abs().sum() == 0
    original = c(7)
    cond.ConditioningSetArea(conditioning=original, width=64, height=64, x=0, y=0, strength=1.0)
    assert "area" not in original[0][1]  # inputs are never modified
