"""Latent arithmetic, compositing, transforms, slicing and operations against hand-computed tensors."""

from __future__ import annotations

import pytest
import torch

from inkgraph.nodes import latent_ops as L


def lat(samples: torch.Tensor, **extra: object) -> dict:
    return {"samples": samples, **extra}


def ramp(*shape: int) -> torch.Tensor:
    return torch.arange(float(torch.Size(shape).numel())).reshape(shape)


def test_add_subtract_multiply_keep_other_keys() -> None:
    a, b = ramp(1, 2, 2, 2), torch.ones(1, 2, 2, 2)
    added = L.LatentAdd(samples1=lat(a, batch_index=[3]), samples2=lat(b))
    assert torch.equal(added["samples"], a + 1) and added["batch_index"] == [3]
    assert torch.equal(L.LatentSubtract(samples1=lat(a), samples2=lat(b))["samples"], a - 1)
    assert torch.equal(L.LatentMultiply(samples=lat(a), multiplier=-2.0)["samples"], a * -2)
    # samples2 of another batch size is repeated/cut to samples1's batch
    two = L.LatentAdd(samples1=lat(torch.zeros(3, 2, 2, 2)), samples2=lat(torch.stack([b[0], 2 * b[0]])))
    assert two["samples"][:, 0, 0, 0].tolist() == [1.0, 2.0, 1.0]


def test_add_resizes_the_second_latent() -> None:
    out = L.LatentAdd(samples1=lat(torch.zeros(1, 1, 4, 4)), samples2=lat(torch.ones(1, 1, 2, 2)))
    assert out["samples"].shape == (1, 1, 4, 4) and torch.allclose(out["samples"], torch.ones(1, 1, 4, 4))


def test_interpolate_blends_directions_and_lengths() -> None:
    s1 = torch.zeros(2, 2, 1, 1)
    s1[:, 0] = 2.0  # direction (1, 0), length 2
    s2 = torch.zeros(2, 2, 1, 1)
    s2[:, 1] = 4.0  # direction (0, 1), length 4
    assert torch.allclose(L.LatentInterpolate(samples1=lat(s1), samples2=lat(s2), ratio=1.0)["samples"], s1)
    half = L.LatentInterpolate(samples1=lat(s1), samples2=lat(s2), ratio=0.5)["samples"]
    expected = torch.tensor([3 / 2 ** 0.5, 3 / 2 ** 0.5])  # 45°, length (2 + 4) / 2
    assert torch.allclose(half[0, :, 0, 0], expected, atol=1e-6) and torch.allclose(half[1], half[0])


def test_blend_and_composite() -> None:
    a, b = torch.full((1, 1, 2, 2), 4.0), torch.zeros(1, 1, 2, 2)
    assert torch.allclose(L.LatentBlend(samples1=lat(a), samples2=lat(b), blend_factor=0.25)["samples"],
                          torch.ones(1, 1, 2, 2))
    dest, src = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 2, 2)
    out = L.LatentComposite(samples_to=lat(dest), samples_from=lat(src), x=16, y=8, feather=0)["samples"]
    expected = torch.zeros(1, 1, 4, 4)
    expected[:, :, 1:3, 2:4] = 1
    assert torch.equal(out, expected) and dest.sum() == 0  # the input is never modified
    # feather 8 px = 1 latent pixel: the inner edges of a 2×2 paste ramp to 1/1 (feather=1 → weight 1)
    feathered = L.LatentComposite(samples_to=lat(dest), samples_from=lat(torch.ones(1, 1, 3, 3)), x=8, y=8,
                                  feather=16)["samples"]
    assert feathered[0, 0, 1, 1].item() == pytest.approx(0.25)  # top-left corner: 0.5 × 0.5
    assert feathered[0, 0, 3, 3].item() == pytest.approx(1.0)  # touches the far edges: not feathered there


def test_composite_masked_pastes_where_the_mask_is_one() -> None:
    dest, src = torch.zeros(1, 2, 4, 4), torch.ones(1, 2, 2, 2)
    mask = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    out = L.LatentCompositeMasked(destination=lat(dest), source=lat(src), x=8, y=0, resize_source=False,
                                  mask=mask)["samples"]
    assert out[0, 0].tolist() == [[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    whole = L.LatentCompositeMasked(destination=lat(dest), source=lat(src), x=0, y=0, resize_source=True)
    assert torch.equal(whole["samples"], torch.ones(1, 2, 4, 4))


def test_crop_flip_rotate() -> None:
    x = ramp(1, 1, 16, 16)
    crop = L.LatentCrop(samples=lat(x), width=64, height=128, x=16, y=200)["samples"]
    assert crop.shape == (1, 1, 8, 8)  # y clamped to 8 rows (64 px) from the bottom, the region cut short
    assert crop[0, 0, 0, 0].item() == x[0, 0, 8, 2].item()
    small = ramp(1, 1, 2, 3)
    assert L.LatentFlip(samples=lat(small), flip_method="x-axis: vertically")["samples"][0, 0].tolist() == \
        [[3, 4, 5], [0, 1, 2]]
    assert L.LatentFlip(samples=lat(small), flip_method="y-axis: horizontally")["samples"][0, 0].tolist() == \
        [[2, 1, 0], [5, 4, 3]]
    assert L.LatentRotate(samples=lat(small), rotation="90 degrees")["samples"][0, 0].tolist() == \
        [[3, 0], [4, 1], [5, 2]]  # clockwise
    assert L.LatentRotate(samples=lat(small), rotation="none")["samples"][0, 0].tolist() == small[0, 0].tolist()


def test_batch_and_seed_behaviour() -> None:
    a, b = lat(torch.zeros(2, 1, 2, 2), batch_index=[5, 6]), lat(torch.ones(1, 1, 4, 4))
    out = L.LatentBatch(samples1=a, samples2=b)
    assert out["samples"].shape == (3, 1, 2, 2) and out["batch_index"] == [5, 6, 0]
    fixed = L.LatentBatchSeedBehavior(samples=out, seed_behavior="fixed")
    assert fixed["batch_index"] == [5, 5, 5]
    assert "batch_index" not in L.LatentBatchSeedBehavior(samples=out, seed_behavior="random")
    two = lat(torch.zeros(2, 1, 1, 1))
    assert L.LatentBatchSeedBehavior(samples=two, seed_behavior="fixed")["batch_index"] == [0, 0]


def test_concat_cut_and_cut_to_batch() -> None:
    a, b = ramp(1, 1, 2, 2), -ramp(1, 1, 2, 2) - 1
    assert L.LatentConcat(samples1=lat(a), samples2=lat(b), dim="x")["samples"].shape == (1, 1, 2, 4)
    assert torch.equal(L.LatentConcat(samples1=lat(a), samples2=lat(b), dim="-y")["samples"][0, 0, :2], b[0, 0])
    video = ramp(1, 2, 5, 2, 2)  # [B, C, T, H, W]
    cut = L.LatentCut(samples=lat(video), dim="t", index=-2, amount=5)["samples"]
    assert cut.shape == (1, 2, 2, 2, 2) and torch.equal(cut, video[:, :, 3:])
    assert L.LatentCut(samples=lat(a), dim="x", index=7, amount=3)["samples"].shape == (1, 1, 2, 1)
    chunks = L.LatentCutToBatch(samples=lat(video), dim="t", slice_size=2)["samples"]
    assert chunks.shape == (2, 2, 2, 2, 2)  # 5 frames → two chunks of 2, the fifth dropped
    assert torch.equal(chunks[1], video[0, :, 2:4])
    with pytest.raises(ValueError, match="LatentConcat.*dim 't'"):
        L.LatentConcat(samples1=lat(a), samples2=lat(b), dim="t")


def test_operations_sharpen_and_tonemap() -> None:
    flat = torch.ones(1, 4, 8, 8)
    sharpen = L.LatentOperationSharpen(sharpen_radius=2, sigma=1.0, alpha=0.5)
    assert torch.allclose(L.LatentApplyOperation(samples=lat(flat), operation=sharpen)["samples"], flat, atol=1e-5)
    assert torch.allclose(L.LatentOperationSharpen(sharpen_radius=1, sigma=1.0, alpha=0.0)(latent=flat * 3), flat * 3)
    x = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    out = L.LatentOperationTonemapReinhard(multiplier=1.0)(latent=x)
    norms_in, norms_out = x.norm(dim=1), out.norm(dim=1)
    assert (norms_out < norms_in).all()  # every length compressed, directions kept
    assert torch.allclose(out / norms_out[:, None], x / norms_in[:, None], atol=1e-5)
    with pytest.raises(ValueError, match="LatentApplyOperation: input 'operation'"):
        L.LatentApplyOperation(samples=lat(flat), operation="sharpen")


def test_bad_input_names_the_node_and_input() -> None:
    with pytest.raises(ValueError, match="LatentAdd: input 'samples2' must be a LATENT"):
        L.LatentAdd(samples1=lat(torch.zeros(1, 1, 1, 1)), samples2=torch.zeros(1))
