"""Morphology and Canny on drawn shapes, YUV round trips, and the mask nodes on hand-made masks.

Where kornia is installed (the ``test`` extra has it, as the reference ComfyUI computes these with), the
torch implementations are also compared with it bit for bit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from inkgraph.nodes import image_morphology as M
from inkgraph.nodes import mask_ops as K


def square(size: int = 16, start: int = 4, stop: int = 12, batch: int = 1) -> torch.Tensor:
    img = torch.zeros(batch, size, size, 3)
    img[:, start:stop, start:stop] = 1.0
    return img


def test_morphology_on_a_drawn_square() -> None:
    img = square()  # an 8×8 white square at 4..11
    grown = M.Morphology(image=img, operation="dilate", kernel_size=3)[0, :, :, 0]
    assert grown.sum() == 10 * 10 and grown[3:13, 3:13].min() == 1
    shrunk = M.Morphology(image=img, operation="erode", kernel_size=3)[0, :, :, 0]
    assert shrunk.sum() == 6 * 6 and shrunk[5:11, 5:11].min() == 1
    assert torch.equal(M.Morphology(image=img, operation="open", kernel_size=3), img)  # a square survives opening
    assert torch.equal(M.Morphology(image=img, operation="close", kernel_size=3), img)
    outline = M.Morphology(image=img, operation="gradient", kernel_size=3)[0, :, :, 0]
    assert outline.sum() == 10 * 10 - 6 * 6 and outline[7, 7] == 0  # a two-pixel ring, hollow inside
    speck = img.clone()
    speck[:, 0, 0] = 1.0  # a one-pixel speck: opening removes it, top-hat keeps only it
    assert torch.equal(M.Morphology(image=speck, operation="open", kernel_size=3), img)
    hat = M.Morphology(image=speck, operation="top_hat", kernel_size=3)[0, :, :, 0]
    assert hat.sum() == 1 and hat[0, 0] == 1
    hole = img.clone()
    hole[:, 7, 7] = 0.0
    assert M.Morphology(image=hole, operation="bottom_hat", kernel_size=3)[0, :, :, 0].nonzero().tolist() == [[7, 7]]
    with pytest.raises(ValueError, match="Morphology: input 'operation'"):
        M.morphology(img, "blur", 3)


def test_even_kernels_follow_kornias_window() -> None:
    x = torch.zeros(1, 1, 1, 7)
    x[..., 3] = 1.0
    assert M.dilate(x, 4)[0, 0, 0].tolist() == [0, 1, 1, 1, 1, 0, 0]  # window [i-1, i+2]
    assert M.erode(1 - x, 4)[0, 0, 0].tolist() == [1, 1, 0, 0, 0, 0, 1]  # window [i-2, i+1]


def test_canny_of_a_drawn_rectangle_is_its_outline() -> None:
    img = torch.zeros(1, 24, 24, 3)
    img[:, 6:18, 4:20] = 1.0
    edges = M.Canny(image=img, low_threshold=0.4, high_threshold=0.8)
    assert edges.shape == img.shape and torch.equal(edges[..., 0], edges[..., 2])
    on = edges[0, :, :, 0] > 0
    rows, cols = on.nonzero(as_tuple=True)
    assert rows.min() >= 5 and rows.max() <= 18 and cols.min() >= 3 and cols.max() <= 20  # hugs the rectangle
    assert not on[8:16, 6:18].any() and not on[:4].any() and not on[20:].any()  # hollow, nothing far away
    for r in range(7, 17):  # every row crossing the rectangle has an edge on its left and its right side
        assert on[r, 3:6].any() and on[r, 18:21].any()
    for c in range(5, 19):
        assert on[5:8, c].any() and on[16:19, c].any()
    assert M.Canny(image=torch.full((1, 8, 8, 3), 0.5), low_threshold=0.1, high_threshold=0.2).sum() == 0
    with pytest.raises(ValueError, match="Canny: low_threshold"):
        M.Canny(image=img, low_threshold=0.9, high_threshold=0.2)


def test_yuv_round_trip() -> None:
    img = torch.rand(2, 4, 4, 3, generator=torch.Generator().manual_seed(0))
    y, u, v = M.ImageRGBToYUV(image=img)
    assert y.shape == img.shape and torch.equal(y[..., 0], y[..., 2])
    assert torch.allclose(y[..., 0], 0.299 * img[..., 0] + 0.587 * img[..., 1] + 0.114 * img[..., 2])
    assert torch.allclose(M.ImageYUVToRGB(Y=y, U=u, V=v), img, atol=1e-5)
    grey = torch.full((1, 2, 2, 3), 0.3)
    _, u, v = M.ImageRGBToYUV(image=grey)
    assert torch.allclose(u, torch.full_like(u, 0.5)) and torch.allclose(v, torch.full_like(v, 0.5))


def test_matches_kornia_when_installed() -> None:
    kornia = pytest.importorskip("kornia")
    from kornia.filters import canny
    from kornia.morphology import bottom_hat, closing, dilation, erosion, gradient, opening, top_hat

    x = torch.rand(2, 3, 19, 17, generator=torch.Generator().manual_seed(2))
    operations = {"erode": erosion, "dilate": dilation, "open": opening, "close": closing, "gradient": gradient,
                  "top_hat": top_hat, "bottom_hat": bottom_hat}
    for size in (3, 4, 5):
        for name, reference in operations.items():
            assert torch.allclose(M.morphology(x, name, size), reference(x, torch.ones(size, size))), (name, size)
    shapes = torch.zeros(2, 3, 24, 24)
    shapes[:, :, 6:18, 4:20] = 1.0
    shapes[1] = (torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(3)) > 0.5).float()
    for low, high in ((0.4, 0.8), (0.1, 0.2), (0.05, 0.6)):
        assert torch.equal(M.canny(shapes, low, high), canny(shapes, low, high)[1]), (low, high)
    img = torch.rand(1, 3, 4, 4)
    assert torch.allclose(M.rgb_to_ycbcr(img.movedim(1, -1)), kornia.color.rgb_to_ycbcr(img).movedim(1, -1))
    assert torch.allclose(M.ycbcr_to_rgb(img.movedim(1, -1)), kornia.color.ycbcr_to_rgb(img).movedim(1, -1))


def mask_of(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor([rows], dtype=torch.float32)


def test_crop_threshold_color_masks() -> None:
    m = torch.arange(16.0).reshape(1, 4, 4) / 15
    assert torch.equal(K.CropMask(mask=m, x=1, y=2, width=2, height=5), m[:, 2:4, 1:3])
    assert K.ThresholdMask(mask=m, value=0.5).sum() == 8
    img = torch.zeros(1, 2, 2, 3)
    img[0, 0, 1] = torch.tensor([1.0, 128 / 255, 0.0])
    assert K.ImageColorToMask(image=img, color=0xFF8000).tolist() == [[[0.0, 1.0], [0.0, 0.0]]]
    assert K.ImageColorToMask(image=img, color=0).sum() == 3


def test_mask_composite_operations() -> None:
    dest = mask_of([[0.2, 0.8, 1.0], [0.0, 1.0, 0.6]])
    src = mask_of([[1.0, 0.4]])
    cases = {"multiply": [0.8, 0.4], "add": [1.0, 1.0], "subtract": [0.0, 0.6], "and": [1.0, 0.0], "or": [1.0, 1.0],
             "xor": [0.0, 1.0]}
    for operation, expected in cases.items():
        out = K.MaskComposite(destination=dest, source=src, x=1, y=0, operation=operation)
        assert out[0, 0, 1:].tolist() == pytest.approx(expected), operation
        assert out[0, 1].tolist() == pytest.approx([0.0, 1.0, 0.6]) and out[0, 0, 0].item() == pytest.approx(0.2)
    corner = K.MaskComposite(destination=torch.zeros(1, 2, 2), source=torch.ones(1, 3, 3), x=1, y=1, operation="add")
    assert corner.tolist() == [[[0.0, 0.0], [0.0, 1.0]]]


def test_feather_ramps_every_edge() -> None:
    out = K.FeatherMask(mask=torch.ones(1, 4, 6), left=2, top=0, right=3, bottom=2)
    assert out[0, 1].tolist() == pytest.approx([0.5, 1.0, 1.0, 1.0, 2 / 3, 1 / 3])  # the outermost pixel: 1/width
    assert out[0, 3].tolist() == pytest.approx([v / 2 for v in out[0, 1].tolist()])  # last row × 1/2
    assert out[0, 2].tolist() == out[0, 1].tolist() and out[0, 0].tolist() == out[0, 1].tolist()
    assert torch.equal(K.FeatherMask(mask=torch.ones(1, 2, 2), left=0, top=0, right=0, bottom=0), torch.ones(1, 2, 2))


def test_grow_mask_matches_a_cross_and_a_square() -> None:
    dot = torch.zeros(1, 5, 5)
    dot[0, 2, 2] = 1.0
    cross = K.GrowMask(mask=dot, expand=1, tapered_corners=True)
    assert cross[0].nonzero().tolist() == [[1, 2], [2, 1], [2, 2], [2, 3], [3, 2]]
    assert K.GrowMask(mask=dot, expand=1, tapered_corners=False).sum() == 9
    assert K.GrowMask(mask=dot, expand=2, tapered_corners=True).sum() == 13  # a diamond
    block = torch.zeros(1, 6, 6)
    block[0, 1:5, 1:5] = 1.0
    assert K.GrowMask(mask=block, expand=-1, tapered_corners=False)[0].nonzero().tolist() == \
        [[2, 2], [2, 3], [3, 2], [3, 3]]
    edge = torch.ones(1, 3, 3)
    assert torch.equal(K.GrowMask(mask=edge, expand=-1, tapered_corners=True), edge)  # borders do not erode
    assert torch.equal(K.GrowMask(mask=block, expand=0, tapered_corners=True), block)
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    noisy = torch.rand(1, 7, 9, generator=torch.Generator().manual_seed(5))
    footprint = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    expected = scipy_ndimage.grey_erosion(scipy_ndimage.grey_erosion(noisy[0].numpy(), footprint=footprint),
                                          footprint=footprint)
    assert np.allclose(K.GrowMask(mask=noisy, expand=-2, tapered_corners=True)[0].numpy(), expected)


def test_bad_masks_name_node_and_input() -> None:
    with pytest.raises(ValueError, match="ThresholdMask: input 'mask' must be a MASK"):
        K.ThresholdMask(mask=torch.tensor(1.0), value=0.5)


class Ctx:
    def __init__(self, base: Path) -> None:
        from inkgraph.engine.core.paths import Folders

        self.folders = Folders.at(base)
        self.prompt_id = "p"


def test_load_image_mask_channels(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    ctx.folders.input.mkdir(parents=True, exist_ok=True)
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[0, 0, 3] = 255
    PILImage.fromarray(rgba, "RGBA").save(ctx.folders.input / "m.png")
    PILImage.fromarray(rgba[..., :3], "RGB").save(ctx.folders.input / "rgb.png")
    node = K.LoadImageMask()
    assert node.execute(ctx, image="m.png", channel="red").tolist() == [[[1.0] * 3] * 2]
    alpha = node.execute(ctx, image="m.png", channel="alpha")
    assert alpha.tolist() == [[[0.0, 1.0, 1.0], [1.0, 1.0, 1.0]]]  # inverted: 1 where transparent
    assert node.execute(ctx, image="rgb.png", channel="alpha").sum() == 0  # RGB converted to opaque RGBA
    assert K.LoadImageMask.validate("m.png", ctx.folders) is True
    assert K.LoadImageMask.validate("missing.png", ctx.folders) == "Invalid image file: missing.png"
    assert "m.png" in K._list_input_files(ctx.folders)


def test_mask_preview_saves_and_passes_on(tmp_path: Path) -> None:
    ctx = Ctx(tmp_path)
    mask = torch.zeros(2, 4, 4)
    out = K.MaskPreview().execute(ctx, mask=mask)
    assert out.result is not None and out.result[0] is mask
    assert out.ui is not None and len(out.ui["images"]) == 2 and out.ui["images"][0]["type"] == "temp"
    saved = PILImage.open(ctx.folders.temp / out.ui["images"][0]["filename"])
    assert saved.size == (4, 4) and saved.mode == "RGB"
