"""Built-in image, mask and primitive nodes: ComfyUI's behaviour on small tensors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image as PILImage

from inkgraph.engine.core.graph_builder import GraphBuilder
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.nodes import image_filters, image_ops, mask, primitives


def call(fn: Any, **kwargs: Any) -> Any:
    return fn(**kwargs)


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    return Runtime.create(Settings(base_dir=tmp_path, cache="none"))


def test_empty_image_colour_and_shape() -> None:
    image = image_ops.EmptyImage(width=4, height=3, batch_size=2, color=0xFF8000)
    assert image.shape == (2, 3, 4, 3) and image.dtype == torch.float32
    assert torch.allclose(image[0, 0, 0], torch.tensor([1.0, 128 / 255, 0.0]))


def test_invert() -> None:
    image = torch.rand(1, 2, 2, 3)
    assert torch.allclose(image_ops.ImageInvert(image=image), 1 - image)


def test_scale_keeps_aspect_when_one_side_is_zero() -> None:
    image = torch.rand(1, 10, 20, 3)
    out = image_ops.ImageScale(image=image, upscale_method="bilinear", width=0, height=5, crop="disabled")
    assert out.shape == (1, 5, 10, 3)
    assert image_ops.ImageScale(image=image, upscale_method="area", width=0, height=0, crop="disabled") is image
    centre = image_ops.ImageScale(image=image, upscale_method="nearest-exact", width=8, height=8, crop="center")
    assert centre.shape == (1, 8, 8, 3)
    lanczos = image_ops.ImageScale(image=image, upscale_method="lanczos", width=40, height=20, crop="disabled")
    assert lanczos.shape == (1, 20, 40, 3) and lanczos.dtype == torch.float32


def test_scale_by_and_lanczos_on_one_channel() -> None:
    image = torch.rand(2, 8, 8, 1)
    out = image_ops.ImageScaleBy(image=image, upscale_method="lanczos", scale_by=1.5)
    assert out.shape == (2, 12, 12, 1)


def test_crop_clips_at_edges() -> None:
    image = torch.arange(5 * 6, dtype=torch.float32).reshape(1, 5, 6, 1)
    out = image_ops.ImageCrop(image=image, width=4, height=4, x=4, y=3)
    assert out.shape == (1, 2, 2, 1) and out[0, 0, 0, 0] == 3 * 6 + 4


def test_pad_for_outpaint_mask_and_feathering() -> None:
    image = torch.zeros(1, 20, 20, 3)
    out, m = image_ops.ImagePadForOutpaint(image=image, left=8, top=0, right=0, bottom=0, feathering=4)
    assert out.shape == (1, 20, 28, 3) and m.shape == (1, 20, 28)
    assert torch.all(out[0, :, :8] == 0.5) and torch.all(m[0, :, :8] == 1.0)
    assert m[0, 10, 8].item() == pytest.approx(1.0)  # d = 0 at the padded edge
    assert m[0, 10, 9].item() == pytest.approx(((4 - 1) / 4) ** 2)
    assert m[0, 10, 20].item() == 0.0


def test_batch_resizes_second_image() -> None:
    out = image_ops.ImageBatch(image1=torch.rand(1, 8, 8, 3), image2=torch.rand(2, 4, 6, 3))
    assert out.shape == (3, 8, 8, 3)


def test_blur_preserves_constant_image_and_shape() -> None:
    image = torch.full((1, 9, 9, 3), 0.3)
    out = image_filters.ImageBlur(image=image, blur_radius=2, sigma=1.0)
    assert out.shape == image.shape and torch.allclose(out, image, atol=1e-6)
    noisy = torch.rand(1, 9, 9, 3)
    assert image_filters.ImageBlur(image=noisy, blur_radius=3, sigma=1.0).std() < noisy.std()


def test_blur_rejects_radius_larger_than_image() -> None:
    with pytest.raises(ValueError, match="radius"):
        image_filters.ImageBlur(image=torch.rand(1, 3, 3, 3), blur_radius=5, sigma=1.0)


def test_sharpen_alpha_zero_is_identity() -> None:
    image = torch.rand(1, 8, 8, 3)
    out = image_filters.ImageSharpen(image=image, sharpen_radius=1, sigma=1.0, alpha=0.0)
    assert torch.allclose(out, image, atol=1e-6)


@pytest.mark.parametrize("mode,expected", [("normal", 0.8), ("multiply", 0.16), ("screen", 0.84),
                                           ("difference", 0.0)])
def test_blend_modes(mode: str, expected: float) -> None:
    a, b = torch.full((1, 2, 2, 3), 0.2), torch.full((1, 2, 2, 3), 0.8)
    out = image_filters.ImageBlend(image1=a, image2=b, blend_factor=1.0, blend_mode=mode)
    assert torch.allclose(out, torch.full_like(a, expected), atol=1e-6)


def test_blend_rgba_with_rgb_works() -> None:
    out = image_filters.ImageBlend(image1=torch.rand(1, 4, 4, 4), image2=torch.rand(1, 4, 4, 3),
                                   blend_factor=0.5, blend_mode="overlay")
    assert out.shape == (1, 4, 4, 4)


def test_composite_masked() -> None:
    dest, src = torch.zeros(1, 8, 8, 3), torch.ones(1, 4, 4, 3)
    out = image_filters.ImageCompositeMasked(destination=dest, source=src, x=6, y=2, resize_source=False)
    assert out[0, 2:6, 6:8].eq(1).all() and out[0, :2].eq(0).all() and out[0, 2:6, :6].eq(0).all()
    half = torch.full((1, 4, 4), 0.5)
    out = image_filters.ImageCompositeMasked(destination=dest, source=src, x=0, y=0, resize_source=False,
                                             mask=half)
    assert torch.allclose(out[0, :4, :4], torch.full((4, 4, 3), 0.5))
    assert dest.eq(0).all()  # the destination tensor itself is untouched


def test_masks() -> None:
    image = torch.rand(2, 3, 4, 4)
    assert torch.equal(mask.ImageToMask(image=image, channel="green"), image[..., 1])
    with pytest.raises(ValueError, match="only 3 channels"):
        mask.ImageToMask(image=image[..., :3], channel="alpha")
    m = torch.rand(2, 3, 4)
    as_image = mask.MaskToImage(mask=m)
    assert as_image.shape == (2, 3, 4, 3) and torch.equal(as_image[..., 2], m)
    assert mask.SolidMask(value=0.25, width=5, height=2).shape == (1, 2, 5)
    assert torch.allclose(mask.InvertMask(mask=m), 1 - m)


def test_primitives() -> None:
    assert primitives.PrimitiveInt(value=5) == 5
    assert primitives.PrimitiveString(value="x") == "x"
    assert primitives.PrimitiveBoolean(value=True) is True


def save_prompt(prefix: str) -> dict[str, Any]:
    g = GraphBuilder()
    img = g.node("EmptyImage", "1", width=8, height=6, batch_size=2, color=0x00FF00)
    g.node("SaveImage", "2", images=img.out(), filename_prefix=prefix)
    return g.finalize()


def test_save_image_counter_and_metadata(runtime: Runtime) -> None:
    prompt = save_prompt("sub/pic_%width%x%height%")
    workflow = {"last_node_id": 2, "nodes": []}
    _, outcome = runtime.run(prompt, extra_data={"extra_pnginfo": {"workflow": workflow}})
    images = outcome.outputs["2"]["images"]
    assert images == [{"filename": "pic_8x6_00001_.png", "subfolder": "sub", "type": "output"},
                      {"filename": "pic_8x6_00002_.png", "subfolder": "sub", "type": "output"}]
    path = runtime.folders.output / "sub" / "pic_8x6_00001_.png"
    with PILImage.open(path) as png:
        assert png.size == (8, 6) and png.getpixel((0, 0)) == (0, 255, 0)
        assert json.loads(png.text["prompt"]) == prompt
        assert json.loads(png.text["workflow"]) == workflow
    _, outcome = runtime.run(prompt)
    assert outcome.outputs["2"]["images"][0]["filename"] == "pic_8x6_00003_.png"


def test_save_image_refuses_to_leave_output(runtime: Runtime) -> None:
    _, outcome = runtime.run(save_prompt("../../escape"))
    assert outcome.status_str == "error" and "outside the output folder" in outcome.error["exception_message"]
    assert not list(runtime.folders.base.parent.glob("escape*"))


def test_preview_image_goes_to_temp(runtime: Runtime) -> None:
    g = GraphBuilder()
    img = g.node("EmptyImage", "1", width=4, height=4, batch_size=1, color=0)
    g.node("PreviewImage", "2", images=img.out())
    _, outcome = runtime.run(g.finalize())
    (item,) = outcome.outputs["2"]["images"]
    assert item["type"] == "temp" and item["filename"].startswith("ComfyUI_temp_")
    assert (runtime.folders.temp / item["filename"]).is_file()


def load_prompt(name: str) -> dict[str, Any]:
    g = GraphBuilder()
    loaded = g.node("LoadImage", "1", image=name)
    g.node("SaveImage", "2", images=loaded.out(0), filename_prefix="img")
    g.node("SaveImage", "3", images=g.node("MaskToImage", "4", mask=loaded.out(1)).out(), filename_prefix="mask")
    return g.finalize()


def test_load_image_with_alpha_mask(runtime: Runtime) -> None:
    rgba = np.zeros((4, 6, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    rgba[:, :3, 3] = 255  # left half opaque
    PILImage.fromarray(rgba, "RGBA").save(runtime.folders.input / "a.png")
    from inkgraph.nodes.image_io import LoadImage

    image, m = LoadImage().execute(ctx=type("C", (), {"folders": runtime.folders})(), image="a.png")
    assert image.shape == (1, 4, 6, 3) and torch.all(image[..., 0] == 1.0)
    assert m.shape == (1, 4, 6) and torch.all(m[0, :, :3] == 0) and torch.all(m[0, :, 3:] == 1)
    _, outcome = runtime.run(load_prompt("a.png"))
    assert outcome.status_str == "success"


def test_load_image_frames_and_16_bit(runtime: Runtime, tmp_path: Path) -> None:
    from inkgraph.nodes.image_io import LoadImage

    frames = [PILImage.new("RGB", (5, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(runtime.folders.input / "anim.gif", save_all=True, append_images=frames[1:])
    ctx = type("C", (), {"folders": runtime.folders})()
    image, m = LoadImage().execute(ctx=ctx, image="anim.gif")
    assert image.shape == (2, 4, 5, 3) and m.shape == (2, 4, 5) and m.eq(0).all()
    deep = np.full((3, 3), 65535 // 2, dtype=np.uint16)
    PILImage.fromarray(deep).save(runtime.folders.input / "deep.png")
    image, _ = LoadImage().execute(ctx=ctx, image="deep.png")
    assert image[0, 0, 0, 0].item() == pytest.approx(0.5, abs=1e-3)


def test_load_image_validation_and_fingerprint(runtime: Runtime) -> None:
    result = runtime.validate(load_prompt("missing.png"))
    assert not result.ok
    error = result.error_body()["node_errors"]["1"]["errors"][0]
    assert error["type"] == "custom_validation_failed"
    assert error["details"] == "image - Invalid image file: missing.png"
    assert not runtime.validate(load_prompt("../../etc/passwd")).ok
    PILImage.new("RGB", (2, 2), (1, 2, 3)).save(runtime.folders.input / "x.png")
    spec = runtime.registry.get("LoadImage")
    first = spec.impl.fingerprint({"image": "x.png"}, runtime.folders)
    PILImage.new("RGB", (2, 2), (9, 9, 9)).save(runtime.folders.input / "x.png")
    assert spec.impl.fingerprint({"image": "x.png"}, runtime.folders) != first


def test_load_image_reruns_when_file_changes(tmp_path: Path) -> None:
    runtime = Runtime.create(Settings(base_dir=tmp_path, cache="lru"))
    PILImage.new("RGB", (2, 2), (1, 2, 3)).save(runtime.folders.input / "x.png")
    _, first = runtime.run(load_prompt("x.png"))
    _, second = runtime.run(load_prompt("x.png"))
    assert second.executed == []
    PILImage.new("RGB", (2, 2), (200, 2, 3)).save(runtime.folders.input / "x.png")
    _, third = runtime.run(load_prompt("x.png"))
    assert "1" in third.executed


def test_save_counter_survives_external_files_and_batch_num(runtime: Runtime) -> None:
    from inkgraph.engine.core.paths import next_counter

    folder = runtime.folders.output
    _, outcome = runtime.run(save_prompt("ext"))
    assert outcome.outputs["2"]["images"][-1]["filename"] == "ext_00002_.png"
    (folder / "ext_00003_.png").write_bytes(b"someone else's file")
    assert next_counter(folder, "ext") == 4
    _, outcome = runtime.run(save_prompt("b%batch_num%"))
    names = [i["filename"] for i in outcome.outputs["2"]["images"]]
    assert names == ["b0_00001_.png", "b1_00002_.png"]
    _, outcome = runtime.run(save_prompt("b%batch_num%"))
    assert [i["filename"] for i in outcome.outputs["2"]["images"]] == ["b0_00003_.png", "b1_00004_.png"]
