"""Batches and lists of images, masks and latents: pick, repeat, rebatch, join several inputs, grid,
deduplicate (ComfyUI's ``nodes_images``, ``nodes_rebatch``, ``nodes_post_processing`` batch nodes and the
``nodes_dataset`` grid/deduplication nodes).

A batch is one tensor's first axis; a list is the engine's list of values (``is_list`` outputs), which
runs the downstream node once per item.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from inkgraph.engine import Autogrow, Float, Image, Int, Latent, Mask, Output, Socket, input_spec, node

from . import MAX_RESOLUTION

log = logging.getLogger(__name__)


@node(category="image/batch")
def ImageFromBatch(
    image: Image,
    batch_index: Annotated[int, Int(min=-MAX_RESOLUTION, max=MAX_RESOLUTION)] = 0,
    length: Annotated[int, Int(min=1, max=4096)] = 1,
) -> Image:
    """``length`` images from ``batch_index`` on (negative counts from the end), cut short at the end.

    The negative index is newer ComfyUI's (0.8.0 allowed 0…4095 only)."""
    count = image.shape[0]
    if batch_index < 0:
        batch_index += count
    batch_index = max(0, min(count - 1, batch_index))
    return image[batch_index:batch_index + min(count - batch_index, length)].clone()


@node(category="image/batch")
def RepeatImageBatch(image: Image, amount: Annotated[int, Int(min=1, max=4096)] = 1) -> Image:
    """The whole batch, ``amount`` times over."""
    return image.repeat((amount, 1, 1, 1))


ImageList = Annotated[list[Any], Socket(type="IMAGE")]  # input_is_list: every input arrives as a list
LatentList = Annotated[list[Any], Socket(type="LATENT")]


@node(display_name="Rebatch Images", category="image/batch", input_is_list=True)
def RebatchImages(
    images: ImageList, batch_size: Annotated[int, Int(min=1, max=4096)] = 1,
) -> Annotated[Any, Output(type="IMAGE", is_list=True)]:
    """Regroups a list of image batches into batches of ``batch_size`` (the last one may be smaller)."""
    import torch

    size = batch_size[0] if isinstance(batch_size, list) else batch_size
    frames = [batch[i:i + 1] for batch in images for i in range(batch.shape[0])]
    return [torch.cat(frames[i:i + size], dim=0) for i in range(0, len(frames), size)]


def _rebatch_entry(latent: dict[str, Any], offset: int) -> tuple[Any, Any, list[int]]:
    """(samples, noise mask at pixel size or all ones, batch indices) of one list item."""
    import torch

    samples = latent["samples"]
    count = samples.shape[0]
    mask = latent.get("noise_mask")
    if mask is None:
        mask = torch.ones((count, 1, samples.shape[-2] * 8, samples.shape[-1] * 8), device="cpu")
    if mask.shape[0] < count:
        mask = mask.repeat((count - 1) // mask.shape[0] + 1, 1, 1, 1)[:count]
    indices = list(latent.get("batch_index", range(offset, offset + count)))
    return samples, mask, indices


@node(display_name="Rebatch Latents", category="latent/batch", input_is_list=True)
def RebatchLatents(
    latents: LatentList, batch_size: Annotated[int, Int(min=1, max=4096)] = 1,
) -> Annotated[Any, Output(type="LATENT", is_list=True)]:
    """Regroups a list of latent batches into batches of ``batch_size``; a change of latent size starts a
    new batch. Noise masks and batch indices (noise seeds) travel with their latents."""
    import torch

    size = batch_size[0] if isinstance(batch_size, list) else batch_size
    out: list[dict[str, Any]] = []
    current: tuple[Any, Any, list[int]] | None = None
    seen = 0

    def emit(samples: Any, mask: Any, indices: list[int]) -> None:
        item: dict[str, Any] = {"samples": samples[:size], "noise_mask": mask[:size], "batch_index": indices[:size]}
        out.append(item)

    for latent in latents:
        entry = _rebatch_entry(latent, seen)
        seen += len(entry[2])
        if current is None:
            current = entry
        elif entry[0].shape[-2:] != current[0].shape[-2:]:
            emit(*current)
            current = entry
        else:
            current = (torch.cat((current[0], entry[0])), torch.cat((current[1], entry[1])), current[2] + entry[2])
        while current is not None and current[0].shape[0] > size:
            emit(*current)
            rest = (current[0][size:], current[1][size:], current[2][size:])
            current = rest if rest[0].shape[0] else None
    if current is not None:
        emit(*current)
    for item in out:
        if float(item["noise_mask"].mean()) == 1.0:  # an all-ones mask means "no mask"
            del item["noise_mask"]
    return out


def batch_images(images: list[Any]) -> Any:
    """One batch from several: missing alpha channels added (opaque), sizes matched to the first image
    (bilinear, centre crop)."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from .image_utils import resize_image

    channels = max(image.shape[-1] for image in images)
    padded = [F.pad(image, (0, channels - image.shape[-1]), value=1.0) if image.shape[-1] < channels else image
              for image in images]
    first = padded[0].shape
    return torch.cat([image if image.shape[1:] == first[1:] else resize_image(image, first[2], first[1], "bilinear",
                                                                               "center") for image in padded])


def batch_masks(masks: list[Any]) -> Any:
    import torch

    from .image_utils import common_upscale

    first = masks[0].shape
    return torch.cat([mask if mask.shape[1:] == first[1:] else
                      common_upscale(mask.unsqueeze(1), first[2], first[1], "bilinear", "center").squeeze(1)
                      for mask in masks])


def batch_latents(latents: list[dict[str, Any]]) -> dict[str, Any]:
    import torch

    from .latent_ops import reshape_latent_to

    out = dict(latents[0])
    first = latents[0]["samples"]
    out["samples"] = torch.cat([reshape_latent_to(first.shape, latent["samples"], repeat_batch=False)
                                for latent in latents])
    out["batch_index"] = [index for latent in latents
                          for index in latent.get("batch_index", range(latent["samples"].shape[0]))]
    return out


def _connected(values: dict[str, Any], node_name: str, input_name: str) -> list[Any]:
    items = [v for v in values.values() if v is not None]
    if not items:
        raise ValueError(f"{node_name}: connect at least one input to {input_name!r}")
    return items


_IMAGE = input_spec("image", Image)
_MASK = input_spec("mask", Mask)
_LATENT = input_spec("latent", Latent)


@node(display_name="Batch Images", category="image")
def BatchImagesNode(images: Annotated[dict[str, Any], Autogrow(_IMAGE, prefix="image", min=2, max=50)]) -> Image:
    """Joins every connected image batch into one batch (sizes follow the first image)."""
    return batch_images(_connected(images, "BatchImagesNode", "images"))


@node(display_name="Batch Masks", category="mask")
def BatchMasksNode(masks: Annotated[dict[str, Any], Autogrow(_MASK, prefix="mask", min=2, max=50)]) -> Mask:
    """Joins every connected mask batch into one batch (sizes follow the first mask)."""
    return batch_masks(_connected(masks, "BatchMasksNode", "masks"))


@node(display_name="Batch Latents", category="latent")
def BatchLatentsNode(latents: Annotated[dict[str, Any], Autogrow(_LATENT, prefix="latent", min=2, max=50)]
                     ) -> Latent:
    """Joins every connected latent batch into one (sizes follow the first; noise seeds are kept)."""
    return batch_latents(_connected(latents, "BatchLatentsNode", "latents"))


def _frames(images: list[Any]) -> list[Any]:
    """Every image of a list of batches, one [H, W, C] tensor each."""
    frames: list[Any] = []
    for batch in images:
        if batch.ndim == 3:
            frames.append(batch)
        else:
            frames.extend(batch[i] for i in range(batch.shape[0]))
    return frames


def _to_pil(image: Any) -> Any:
    from .image_utils import to_pil

    return to_pil(image)


@node(display_name="Image Grid", category="dataset/image", input_is_list=True, experimental=True,
      description="Arrange multiple images into a grid layout.")
def ImageGrid(
    images: Annotated[Any, Socket(type="IMAGE", tooltip="List of images to process.")],
    columns: Annotated[int, Int(min=1, max=20, tooltip="Number of columns in the grid.")] = 4,
    cell_width: Annotated[int, Int(min=32, max=2048, tooltip="Width of each cell in the grid.")] = 256,
    cell_height: Annotated[int, Int(min=32, max=2048, tooltip="Height of each cell in the grid.")] = 256,
    padding: Annotated[int, Int(min=0, max=50, tooltip="Padding between images.")] = 4,
) -> Annotated[Any, Output("images", type="IMAGE", tooltip="Processed images")]:
    from PIL import Image as PILImage

    from .image_utils import from_pil

    columns, cell_width, cell_height, padding = (v[0] if isinstance(v, list) else v
                                                 for v in (columns, cell_width, cell_height, padding))
    frames = _frames(images)
    if not frames:
        raise ValueError("ImageGrid: input 'images' is empty; cannot create a grid from no images")
    rows = (len(frames) + columns - 1) // columns
    grid = PILImage.new("RGB", (columns * cell_width + (columns - 1) * padding,
                                rows * cell_height + (rows - 1) * padding), (0, 0, 0))
    for index, frame in enumerate(frames):
        cell = _to_pil(frame).resize((cell_width, cell_height), PILImage.Resampling.LANCZOS)
        grid.paste(cell, ((index % columns) * (cell_width + padding), (index // columns) * (cell_height + padding)))
    log.info("ImageGrid: %dx%d grid of %d images (%dx%d)", columns, rows, len(frames), *grid.size)
    return from_pil(grid)


def _average_hash(frame: Any) -> str:
    """64-bit average hash: 8×8 grey thumbnail, 1 where a pixel is above the mean."""
    import numpy as np
    from PIL import Image as PILImage

    small = _to_pil(frame).resize((8, 8), PILImage.Resampling.LANCZOS).convert("L")
    pixels = np.asarray(small).ravel().tolist()
    mean = sum(pixels) / len(pixels)
    return "".join("1" if p > mean else "0" for p in pixels)


@node(display_name="Image Deduplication", category="dataset/image", input_is_list=True, experimental=True,
      description="Remove duplicate or very similar images from the dataset.")
def ImageDeduplication(
    images: Annotated[Any, Socket(type="IMAGE", tooltip="List of images to process.")],
    similarity_threshold: Annotated[float, Float(min=0.0, max=1.0, tooltip=(
        "Similarity threshold (0-1). Higher means more similar. Images above this threshold are considered "
        "duplicates."))] = 0.95,
) -> Annotated[Any, Output("images", type="IMAGE", is_list=True, tooltip="Processed images")]:
    threshold = similarity_threshold[0] if isinstance(similarity_threshold, list) else similarity_threshold
    frames = _frames(images)
    hashes = [_average_hash(frame) for frame in frames]
    kept: list[int] = []
    for i, digest in enumerate(hashes):
        duplicate = next((j for j in kept if 1.0 - sum(a != b for a, b in zip(digest, hashes[j], strict=True)) / 64.0
                          >= threshold), None)
        if duplicate is None:
            kept.append(i)
        else:
            log.info("ImageDeduplication: image %d is similar to image %d, skipped", i, duplicate)
    log.info("ImageDeduplication: kept %d of %d images", len(kept), len(frames))
    return [frames[i][None] for i in kept]


NODES = [ImageFromBatch, RepeatImageBatch, RebatchImages, RebatchLatents, BatchImagesNode, BatchMasksNode,
         BatchLatentsNode, ImageGrid, ImageDeduplication]
