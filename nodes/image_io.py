"""Reading images from input/, writing them to output/ and temp/ (ComfyUI's LoadImage, SaveImage,
PreviewImage), with the prompt and workflow embedded in each PNG so it can be loaded again."""

from __future__ import annotations

import json
import mimetypes
import os
import random
from pathlib import Path
from typing import Annotated, Any

from inkgraph.engine import Combo, Context, Hidden, Image, Mask, NodeOutput, Socket, String, node
from inkgraph.engine.core.paths import (
    BATCH_NUM,
    Folders,
    file_sha256,
    filename_prefix_problem,
    highest_counter,
    next_counter,
    record_counter,
    save_target,
)
from inkgraph.engine.core.safe_write import open_new

from .media_io import input_path, validate_input_file

_IMAGE_EXTENSIONS = {".webp"}  # mimetypes misses webp on some systems
_listing_cache: dict[Path, tuple[float, list[str]]] = {}


def is_image_name(name: str) -> bool:
    kind, _ = mimetypes.guess_type(name, strict=False)
    return (kind or "").startswith("image/") or Path(name).suffix.lower() in _IMAGE_EXTENSIONS


def list_input_images(folders: Folders) -> list[str]:
    """Image files directly in input/, sorted; re-listed only when the folder changes."""
    folder = folders.input
    try:
        mtime = folder.stat().st_mtime
    except FileNotFoundError:
        return []
    cached = _listing_cache.get(folder)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    names = sorted(e.name for e in os.scandir(folder) if e.is_file() and is_image_name(e.name))
    _listing_cache[folder] = (mtime, names)
    return names




def _load_frames(path: Path) -> tuple[Any, Any]:
    import numpy as np
    import torch
    from PIL import Image as PILImage
    from PIL import ImageOps, ImageSequence

    images, masks = [], []
    size = None
    with PILImage.open(path) as source:
        for frame in ImageSequence.Iterator(source):
            frame = ImageOps.exif_transpose(frame)
            if frame.mode.startswith("I"):  # 16-bit and 32-bit integer greyscale: scale to 0..1 exactly
                data = np.asarray(frame, dtype=np.float32)
                peak = 65535.0 if frame.mode.startswith("I;16") or data.max() > 255 else 255.0
                grey = torch.from_numpy(np.clip(data / peak, 0, 1))
                rgb = grey[:, :, None].expand(-1, -1, 3)
            else:
                rgb = torch.from_numpy(np.asarray(frame.convert("RGB"), dtype=np.float32) / 255.0)
            if size is None:
                size = rgb.shape[:2]
            elif rgb.shape[:2] != size:
                continue  # ComfyUI skips frames whose size differs from the first
            if "A" in frame.getbands():
                alpha = np.asarray(frame.getchannel("A"), dtype=np.float32) / 255.0
                mask = 1.0 - torch.from_numpy(alpha)
            elif frame.mode == "P" and "transparency" in frame.info:
                alpha = np.asarray(frame.convert("RGBA").getchannel("A"), dtype=np.float32) / 255.0
                mask = 1.0 - torch.from_numpy(alpha)
            else:
                mask = torch.zeros(size, dtype=torch.float32)
            images.append(rgb.contiguous()[None])
            masks.append(mask[None])
            if source.format == "MPO":
                break
    return torch.cat(images), torch.cat(masks)


@node(display_name="Load Image", category="image")
class LoadImage:
    """Loads an image from the input folder (every frame of an animation, as a batch).

    The mask is 1 where the image is transparent (inverted alpha), as in ComfyUI; an image without
    alpha gets an all-zero mask of its own size.
    """

    def execute(self, ctx: Context, image: Annotated[str, Combo(options=list_input_images, image_upload=True)]
                ) -> tuple[Image, Mask]:
        return _load_frames(input_path(ctx.folders, image))

    @staticmethod
    def fingerprint(image: str, folders: Folders) -> str:
        """The file's sha256: replacing the file under the same name re-runs the node."""
        return file_sha256(input_path(folders, image))

    @staticmethod
    def validate(image: str, folders: Folders) -> bool | str:
        """Any existing image in input/ (or ``name [output]``) is accepted, not only listed ones."""
        return validate_input_file(folders, image, "image")


def save_images(images: Any, folders: Folders, folder: str, filename_prefix: str, prompt: Any,
                extra_pnginfo: Any, compress_level: int, run_id: str) -> list[dict[str, str]]:
    """Write a batch as ``<prefix>_00001_.png`` … with ``prompt``/``workflow`` tEXt chunks."""
    from PIL.PngImagePlugin import PngInfo

    from .image_utils import to_pil

    height, width = int(images[0].shape[0]), int(images[0].shape[1])
    target, base, subfolder = save_target(folders.directory(folder), folder, filename_prefix,  # type: ignore[arg-type]
                                          width, height)
    counter = next_counter(target, base)
    results = []
    for index, image in enumerate(images):
        info = PngInfo()
        if prompt is not None:
            info.add_text("prompt", _dumps_once(prompt, run_id))
        if isinstance(extra_pnginfo, dict):
            for key, value in extra_pnginfo.items():
                info.add_text(key, _dumps_once(value, run_id))
        while True:
            name = f"{base.replace(BATCH_NUM, str(index))}_{counter:05}_.png"
            try:
                handle = open_new(target / name)  # never through a link someone left under that name
            except FileExistsError:
                counter = max(counter, highest_counter(target, base)) + 1
                continue
            with handle:
                to_pil(image).save(handle, format="PNG", pnginfo=info, compress_level=compress_level)
            break
        results.append({"filename": name, "subfolder": subfolder, "type": folder})
        counter += 1
    record_counter(target, base, counter - 1)
    return results


_dumped: dict[tuple[str, int], tuple[Any, str]] = {}


def _dumps_once(value: Any, run_id: str) -> str:
    """json.dumps, remembered within one prompt run: every save node of a prompt embeds the same
    prompt and workflow, and a graph with a thousand outputs would otherwise serialise them a thousand
    times (quadratic in the graph's size). Keyed by run, so a dict edited between runs is re-read."""
    key = (run_id, id(value))
    cached = _dumped.get(key)
    if cached is not None and cached[0] is value:
        return cached[1]
    text = json.dumps(value)
    if len(_dumped) >= 8:
        _dumped.clear()
    _dumped[key] = (value, text)
    return text


def check_prefix(filename_prefix: str) -> bool | str:
    """A prefix no file system could take is refused before the prompt runs, not after its images exist."""
    problem = filename_prefix_problem(filename_prefix)
    return True if problem is None else f"filename_prefix is not usable: {problem}"


@node(display_name="Save Image", category="image", output_node=True, outputs=[], validate=check_prefix,
      description="Saves the input images to your ComfyUI output directory.")
def SaveImage(
    ctx: Context,
    images: Annotated[Any, Socket(type="IMAGE", tooltip="The images to save.")],
    filename_prefix: Annotated[str, String(tooltip=(
        "The prefix for the file to save. This may include formatting information such as "
        "%date:yyyy-MM-dd% or %Empty Latent Image.width% to include values from nodes."))] = "ComfyUI",
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    results = save_images(images, ctx.folders, "output", filename_prefix, prompt, extra_pnginfo, compress_level=4,
                          run_id=ctx.prompt_id)
    return NodeOutput(ui={"images": results})


_TEMP_ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@node(display_name="Preview Image", category="image", output_node=True, outputs=[],
      description="Saves the input images to your ComfyUI temp directory for previewing.")
class PreviewImage:
    def __init__(self) -> None:
        self.suffix = "_temp_" + "".join(random.choice(_TEMP_ALPHABET) for _ in range(5))  # noqa: S311

    def execute(self, ctx: Context, images: Image, prompt: Annotated[Any, Hidden("PROMPT")] = None,
                extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None) -> NodeOutput:
        results = save_images(images, ctx.folders, "temp", "ComfyUI" + self.suffix, prompt, extra_pnginfo,
                              compress_level=1, run_id=ctx.prompt_id)
        return NodeOutput(ui={"images": results})
NODES = [LoadImage, SaveImage, PreviewImage]
