"""Image geometry, batches, resizing and quantisation on small hand-made images."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from inkgraph.nodes import image_batch as B
from inkgraph.nodes import image_resize as R
from inkgraph.nodes import image_transform as T


def ramp(b: int, h: int, w: int, c: int = 3) -> torch.Tensor:
    return torch.arange(float(b * h * w * c)).reshape(b, h, w, c) / (b * h * w * c)


class FakeContext:
    def __init__(self) -> None:
        self.texts: list[str] = []

    def text(self, text: str) -> None:
        self.texts.append(text)


def test_flip_and_rotate_are_flips_and_rotations() -> None:
    img = ramp(1, 2, 3)
    assert torch.equal(T.ImageFlip(image=img, flip_method="x-axis: vertically"), img[:, [1, 0]])
    assert torch.equal(T.ImageFlip(image=img, flip_method="y-axis: horizontally"), img[:, :, [2, 1, 0]])
    rotated = T.ImageRotate(image=img, rotation="90 degrees")
    assert rotated.shape == (1, 3, 2, 3)
    assert torch.equal(rotated[0, 0, :, 0], img[0, [1, 0], 0, 0])  # clockwise: the left column becomes the top row
    assert torch.equal(T.ImageRotate(image=img, rotation="180 degrees"), img.flip(1).flip(2))
    assert torch.equal(T.ImageRotate(image=T.ImageRotate(image=img, rotation="90 degrees"), rotation="270 degrees"),
                       img)


def test_stitch_directions_spacing_and_padding() -> None:
    a, b = torch.zeros(1, 4, 4, 3), torch.ones(1, 4, 2, 3)
    right = T.ImageStitch(image1=a, direction="right", match_image_size=False, spacing_width=0, spacing_color="white",
                          image2=b)
    assert right.shape == (1, 4, 6, 3) and right[0, 0, 4:].min() == 1 and right[0, 0, :4].max() == 0
    up = T.ImageStitch(image1=a, direction="up", match_image_size=False, spacing_width=3, spacing_color="red",
                       image2=b)
    assert up.shape == (1, 12, 4, 3)  # 4 + 4 spacing (3 rounded up to even) + 4
    # b (2 wide) is centred on a width of 4; a colour spacing pads black, as in ComfyUI
    assert up[0, 0, :, 0].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert up[0, 5, 0].tolist() == [1.0, 0.0, 0.0]  # red spacing
    matched = T.ImageStitch(image1=a, direction="down", match_image_size=True, spacing_width=0, spacing_color="white",
                            image2=torch.ones(2, 2, 4, 3))
    assert matched.shape == (2, 6, 4, 3)  # the shorter batch repeats its last image
    assert torch.equal(T.ImageStitch(image1=a, direction="right", match_image_size=True, spacing_width=0,
                                     spacing_color="white"), a)


def test_scaling_nodes() -> None:
    img = torch.rand(1, 30, 60, 3)
    assert T.ImageScaleToMaxDimension(image=img, upscale_method="bilinear", largest_size=20).shape == (1, 10, 20, 3)
    assert T.ImageScaleToTotalPixels(image=img, upscale_method="area", megapixels=0.01,
                                     resolution_steps=8).shape == (1, 72, 144, 3)
    padded = T.ResizeAndPadImage(image=torch.zeros(1, 10, 20, 3), target_width=10, target_height=10,
                                 padding_color="white", interpolation="area")
    assert padded.shape == (1, 10, 10, 3)
    assert padded[0, :, :, 0].sum(dim=1).tolist() == [10.0] * 2 + [0.0] * 5 + [10.0] * 3


def test_crop_v2_crops_to_the_drawn_region(tmp_path: Path) -> None:
    from inkgraph.engine.core.paths import Folders

    ctx = FakeContext()
    ctx.folders, ctx.prompt_id = Folders.at(tmp_path), "p"  # type: ignore[attr-defined]
    img = ramp(2, 6, 8)
    out = T.ImageCropV2().execute(ctx, image=img, crop_region={"x": 2, "y": 1, "width": 3, "height": 9})
    assert out.result is not None and torch.equal(out.result[0], img[:, 1:, 2:5])
    assert out.ui is not None and len(out.ui["images"]) == 2 and out.ui["images"][0]["type"] == "temp"
    with pytest.raises(ValueError, match="ImageCropV2: input 'crop_region'"):
        T.ImageCropV2().execute(ctx, image=img, crop_region={"x": "left"})


def test_get_image_size_reports_and_shows_it() -> None:
    ctx = FakeContext()
    assert T.GetImageSize(ctx=ctx, image=torch.zeros(3, 5, 7, 3)) == (7, 5, 3)
    assert ctx.texts == ["width: 7, height: 5\n batch size: 3"]


def test_add_noise_is_seeded_and_clipped() -> None:
    img = torch.full((1, 4, 4, 3), 0.5)
    one = T.ImageAddNoise(image=img, seed=3, strength=0.5)
    assert torch.equal(one, T.ImageAddNoise(image=img, seed=3, strength=0.5))
    assert not torch.equal(one, T.ImageAddNoise(image=img, seed=4, strength=0.5))
    expected = (img + 0.5 * torch.randn(img.size(), generator=torch.manual_seed(3))).clip(0, 1)
    assert torch.equal(one, expected) and one.min() >= 0 and one.max() <= 1
    assert torch.equal(T.ImageAddNoise(image=img, seed=1, strength=0.0), img)


def test_quantize_limits_the_palette() -> None:
    img = torch.rand(2, 8, 8, 3, generator=torch.Generator().manual_seed(1))
    for dither in ("none", "floyd-steinberg", "bayer-4"):
        out = T.ImageQuantize(image=img, colors=4, dither=dither)
        assert out.shape == img.shape
        for frame in out:
            assert len({tuple(p) for p in frame.reshape(-1, 3).tolist()}) <= 4
    two = torch.zeros(1, 2, 2, 3)
    two[0, 0] = 1.0
    assert torch.equal(T.ImageQuantize(image=two, colors=256, dither="none"), two)


def test_from_batch_and_repeat() -> None:
    img = ramp(5, 1, 1)
    assert torch.equal(B.ImageFromBatch(image=img, batch_index=1, length=2), img[1:3])
    assert torch.equal(B.ImageFromBatch(image=img, batch_index=-2, length=9), img[3:])
    assert torch.equal(B.ImageFromBatch(image=img, batch_index=99, length=1), img[4:])
    assert torch.equal(B.RepeatImageBatch(image=img[:2], amount=3), img[[0, 1, 0, 1, 0, 1]])


def test_rebatch_images_and_latents() -> None:
    frames = [ramp(3, 2, 2), ramp(2, 2, 2)]
    out = B.RebatchImages(images=frames, batch_size=[2])
    assert [o.shape[0] for o in out] == [2, 2, 1]
    assert torch.equal(torch.cat(out), torch.cat(frames))
    latents = [{"samples": torch.zeros(3, 4, 2, 2)}, {"samples": torch.ones(1, 4, 2, 2), "batch_index": [9]},
               {"samples": torch.zeros(2, 4, 3, 3)}]
    batches = B.RebatchLatents(latents=latents, batch_size=[2])
    assert [b["samples"].shape[0] for b in batches] == [2, 2, 2]
    assert [b["batch_index"] for b in batches] == [[0, 1], [2, 9], [4, 5]]
    assert all("noise_mask" not in b for b in batches)  # all-ones masks are dropped
    masked = B.RebatchLatents(latents=[{"samples": torch.zeros(2, 4, 1, 1), "noise_mask": torch.zeros(1, 1, 8, 8)}],
                              batch_size=[1])
    assert [b["noise_mask"].shape for b in masked] == [(1, 1, 8, 8)] * 2


def test_batch_nodes_join_connected_inputs() -> None:
    a, b = torch.zeros(1, 4, 4, 3), torch.ones(2, 2, 2, 4)
    out = B.BatchImagesNode(images={"image0": a, "image1": b})
    assert out.shape == (3, 4, 4, 4) and out[0, ..., 3].min() == 1  # alpha added to the RGB image
    masks = B.BatchMasksNode(masks={"mask0": torch.zeros(1, 4, 4), "mask1": torch.ones(1, 2, 2)})
    assert masks.shape == (2, 4, 4) and masks[1].min() == 1
    latents = B.BatchLatentsNode(latents={"latent0": {"samples": torch.zeros(1, 4, 2, 2), "batch_index": [3]},
                                          "latent1": {"samples": torch.ones(2, 4, 4, 4)}})
    assert latents["samples"].shape == (3, 4, 2, 2) and latents["batch_index"] == [3, 0, 1]
    with pytest.raises(ValueError, match="BatchImagesNode: connect at least one input to 'images'"):
        B.BatchImagesNode(images={})


def test_grid_and_deduplication() -> None:
    red, blue = torch.zeros(1, 8, 8, 3), torch.zeros(1, 8, 8, 3)
    red[..., 0], blue[..., 2] = 1.0, 1.0
    grid = B.ImageGrid(images=[red, blue, red], columns=[2], cell_width=[32], cell_height=[32], padding=[4])
    assert grid.shape == (1, 68, 68, 3)
    assert grid[0, 10, 10].tolist() == [1.0, 0.0, 0.0] and grid[0, 10, 50].tolist() == [0.0, 0.0, 1.0]
    assert grid[0, 50, 50].tolist() == [0.0, 0.0, 0.0]  # the empty fourth cell
    pattern = torch.zeros(1, 8, 8, 3)
    pattern[:, :4] = 1.0
    other = torch.zeros(1, 8, 8, 3)
    other[:, :, :4] = 1.0
    kept = B.ImageDeduplication(images=[pattern, pattern.clone(), other], similarity_threshold=[0.95])
    assert len(kept) == 2 and torch.equal(kept[0], pattern) and torch.equal(kept[1], other)


def test_resize_image_mask_modes() -> None:
    img, mask = torch.rand(1, 20, 40, 3), torch.rand(2, 20, 40)

    def run(value: torch.Tensor, **resize_type: object) -> torch.Tensor:
        return R.ResizeImageMaskNode(input=value, resize_type=resize_type, scale_method="area")

    assert run(img, resize_type="scale dimensions", width=10, height=0, crop="center").shape == (1, 5, 10, 3)
    assert run(mask, resize_type="scale by multiplier", multiplier=0.5).shape == (2, 10, 20)
    assert run(img, resize_type="scale longer dimension", longer_size=8).shape == (1, 4, 8, 3)
    assert run(img, resize_type="scale shorter dimension", shorter_size=10).shape == (1, 10, 20, 3)
    assert run(torch.rand(1, 40, 20, 3), resize_type="scale shorter dimension", shorter_size=10).shape == (1, 20, 10, 3)
    assert run(img, resize_type="scale width", width=20).shape == (1, 10, 20, 3)
    assert run(img, resize_type="scale height", height=10).shape == (1, 10, 20, 3)
    assert run(img, resize_type="scale total pixels", megapixels=0.0008).shape == (1, 20, 41, 3)
    assert run(img, resize_type="match size", match=torch.zeros(1, 7, 9), crop="disabled").shape == (1, 7, 9, 3)
    assert run(torch.rand(1, 21, 43, 3), resize_type="scale to multiple", multiple=8).shape == (1, 16, 40, 3)
    with pytest.raises(ValueError, match="ResizeImageMaskNode: input 'resize_type'"):
        run(img, resize_type="zoom")
