"""The tensor helpers of ComfyUI's ``comfy.utils`` that packs call on their own data: state-dict renaming,
attribute paths into modules, batch resizing, and tile-by-tile processing of large inputs.

Written from ComfyUI's documented behaviour (names, arguments and results match ``comfy.utils``) so that a
pack's own model code, run on Inkgraph, computes what it computes on ComfyUI. torch is imported by the
functions that need it, so the module itself imports without it.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any


def state_dict_key_replace(state_dict: dict[str, Any], keys_to_replace: dict[str, str]) -> dict[str, Any]:
    """Rename keys in place (``old → new`` for each present old key); returns the same dict."""
    for old, new in keys_to_replace.items():
        if old in state_dict:
            state_dict[new] = state_dict.pop(old)
    return state_dict


def state_dict_prefix_replace(state_dict: dict[str, Any], replace_prefix: dict[str, str],
                              filter_keys: bool = False) -> dict[str, Any]:
    """Swap key prefixes (``old_prefix → new_prefix``). In place by default; with ``filter_keys`` the renamed
    entries move into a new dict, which alone is returned."""
    out: dict[str, Any] = {} if filter_keys else state_dict
    for old, new in replace_prefix.items():
        for key in [k for k in state_dict if k.startswith(old)]:
            out[new + key[len(old):]] = state_dict.pop(key)
    return out


def calculate_parameters(sd: dict[str, Any], prefix: str = "") -> int:
    """How many numbers the tensors under ``prefix`` hold."""
    return sum(int(value.nelement()) for key, value in sd.items() if key.startswith(prefix))


def weight_dtype(sd: dict[str, Any], prefix: str = "") -> Any:
    """The dtype most of the weights under ``prefix`` have (weighted by element count), or None."""
    counts: Counter[Any] = Counter()
    for key, value in sd.items():
        if key.startswith(prefix):
            counts[value.dtype] += int(value.nelement())
    return counts.most_common(1)[0][0] if counts else None


def get_attr(obj: Any, attr: str) -> Any:
    """``obj.a.b.c`` for ``attr="a.b.c"``."""
    for name in attr.split("."):
        obj = getattr(obj, name)
    return obj


def set_attr(obj: Any, attr: str, value: Any) -> Any:
    """Set ``obj.a.b.c = value``; returns the previous value."""
    *path, last = attr.split(".")
    for name in path:
        obj = getattr(obj, name)
    previous = getattr(obj, last)
    setattr(obj, last, value)
    return previous


def set_attr_param(obj: Any, attr: str, value: Any) -> Any:
    """Like :func:`set_attr`, wrapping the tensor in a frozen ``torch.nn.Parameter``."""
    import torch

    return set_attr(obj, attr, torch.nn.Parameter(value, requires_grad=False))


def copy_to_param(obj: Any, attr: str, value: Any) -> None:
    """Copy ``value`` into the existing parameter at ``attr`` (keeps its identity, device and dtype)."""
    get_attr(obj, attr).data.copy_(value)


def resize_to_batch_size(tensor: Any, batch_size: int) -> Any:
    """A batch of ``batch_size`` items drawn evenly from ``tensor``'s batch (repeating or skipping items)."""
    import torch

    current = tensor.shape[0]
    if current == batch_size:
        return tensor
    if batch_size <= 1:
        return tensor[:batch_size]
    output = torch.empty([batch_size] + list(tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    if batch_size < current:
        scale = (current - 1) / (batch_size - 1)
        for i in range(batch_size):
            output[i] = tensor[min(round(i * scale), current - 1)]
    else:
        scale = current / batch_size
        for i in range(batch_size):
            output[i] = tensor[min(math.floor((i + 0.5) * scale), current - 1)]
    return output


def resize_list_to_batch_size(items: list[Any], batch_size: int) -> list[Any]:
    """The list counterpart of :func:`resize_to_batch_size`."""
    current = len(items)
    if current == batch_size or current == 0:
        return items
    if batch_size <= 1:
        return items[:batch_size]
    if batch_size < current:
        scale = (current - 1) / (batch_size - 1)
        return [items[min(round(i * scale), current - 1)] for i in range(batch_size)]
    scale = current / batch_size
    return [items[min(math.floor((i + 0.5) * scale), current - 1)] for i in range(batch_size)]


def reshape_mask(input_mask: Any, output_shape: Sequence[int]) -> Any:
    """A mask interpolated to ``output_shape`` ``[B, C, *spatial]`` (linear, bilinear or trilinear by the
    number of spatial dimensions), repeated over the channels and to the batch size."""
    import torch

    dims = len(output_shape) - 2
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[dims]
    if dims == 2:
        input_mask = input_mask.reshape((-1, 1, input_mask.shape[-2], input_mask.shape[-1]))
    elif dims == 3 and input_mask.ndim < 5:
        input_mask = input_mask.reshape((1, 1, -1, input_mask.shape[-2], input_mask.shape[-1]))
    mask = torch.nn.functional.interpolate(input_mask, size=tuple(output_shape[2:]), mode=mode)
    if mask.shape[1] < output_shape[1]:
        mask = mask.repeat((1, output_shape[1]) + (1,) * dims)[:, :output_shape[1]]
    repeats = math.ceil(int(output_shape[0]) / mask.shape[0])
    return mask.repeat((repeats,) + (1,) * (mask.ndim - 1))[:int(output_shape[0])]


def get_tiled_scale_steps(width: int, height: int, tile_x: int, tile_y: int, overlap: int) -> int:
    """How many tiles :func:`tiled_scale` runs (the length a progress bar for it should have)."""
    rows = math.ceil((height - overlap) / (tile_y - overlap)) if height > tile_y else 1
    cols = math.ceil((width - overlap) / (tile_x - overlap)) if width > tile_x else 1
    return rows * cols


def _per_dim(value: Any, dims: int) -> list[Any]:
    return list(value) if isinstance(value, (tuple, list)) else [value] * dims


def tiled_scale_multidim(samples: Any, function: Callable[[Any], Any], tile: Sequence[int] = (64, 64),
                         overlap: int | Sequence[int] = 8, upscale_amount: Any = 4, out_channels: int = 3,
                         output_device: Any = "cpu", downscale: bool = False, index_formulas: Any = None,
                         pbar: Any = None) -> Any:
    """Apply ``function`` to ``samples`` ``[B, C, *spatial]`` tile by tile and blend the results.

    Tiles of ``tile`` elements step by ``tile - overlap``; each result is weighted by a mask that ramps
    linearly over the (scaled) overlap at every edge, and the sum is divided by the summed weights, so
    seams vanish. ``upscale_amount`` (a number, or one per dimension, or a callable of the size) scales
    sizes up, or down with ``downscale``; ``index_formulas`` scales tile positions when they differ from
    sizes (video VAEs). A sample that fits one tile is passed whole. ``pbar.update(1)`` runs per tile.
    """
    import torch

    dims = len(tile)
    scales = _per_dim(upscale_amount, dims)
    overlaps = _per_dim(overlap, dims)
    formulas = _per_dim(index_formulas if index_formulas is not None else upscale_amount, dims)

    def scaled(table: list[Any], dim: int, value: float) -> float:
        factor = table[dim]
        if callable(factor):
            return float(factor(value))
        return float(value / factor if downscale else value * factor)

    def out_shape(shape: Sequence[int]) -> list[int]:
        return [round(scaled(scales, d, shape[d])) for d in range(dims)]

    output = torch.empty([samples.shape[0], out_channels] + out_shape(samples.shape[2:]), device=output_device)
    for b in range(samples.shape[0]):
        sample = samples[b:b + 1]
        sizes = sample.shape[2:]
        if all(sizes[d] <= tile[d] for d in range(dims)):
            output[b:b + 1] = function(sample).to(output_device)
            if pbar is not None:
                pbar.update(1)
            continue
        total = torch.zeros([1, out_channels] + out_shape(sizes), device=output_device)
        weights = torch.zeros_like(total)
        starts = [range(0, sizes[d] - overlaps[d], tile[d] - overlaps[d]) if sizes[d] > tile[d] else [0]
                  for d in range(dims)]
        for corner in itertools.product(*starts):
            piece, offsets = sample, []
            for d in range(dims):
                start = max(0, min(sizes[d] - overlaps[d], corner[d]))
                piece = piece.narrow(d + 2, start, min(tile[d], sizes[d] - start))
                offsets.append(round(scaled(formulas, d, start)))
            result = function(piece).to(output_device)
            mask = torch.ones_like(result)
            for d in range(dims):
                feather = round(scaled(scales, d, overlaps[d]))
                length = mask.shape[d + 2]
                if feather >= length:
                    continue
                for t in range(feather):
                    factor = (t + 1) / feather
                    mask.narrow(d + 2, t, 1).mul_(factor)
                    mask.narrow(d + 2, length - 1 - t, 1).mul_(factor)
            target, target_weights = total, weights
            for d in range(dims):
                target = target.narrow(d + 2, offsets[d], mask.shape[d + 2])
                target_weights = target_weights.narrow(d + 2, offsets[d], mask.shape[d + 2])
            target.add_(result * mask)
            target_weights.add_(mask)
            if pbar is not None:
                pbar.update(1)
        output[b:b + 1] = total / weights
    return output


def tiled_scale(samples: Any, function: Callable[[Any], Any], tile_x: int = 64, tile_y: int = 64,
                overlap: int = 8, upscale_amount: float = 4, out_channels: int = 3, output_device: Any = "cpu",
                pbar: Any = None) -> Any:
    """:func:`tiled_scale_multidim` on images ``[B, C, H, W]`` (tiles of ``tile_y`` × ``tile_x``)."""
    return tiled_scale_multidim(samples, function, (tile_y, tile_x), overlap=overlap, upscale_amount=upscale_amount,
                                out_channels=out_channels, output_device=output_device, pbar=pbar)
