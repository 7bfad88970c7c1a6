"""Tile-by-tile processing with blended seams, for VAEs and upscale models on images too large to process
at once. Tiles overlap; each contributes with weights that ramp linearly across the overlap, so seams are
invisible and the result equals the whole-image pass away from them."""

from __future__ import annotations

from collections.abc import Callable

import torch


def positions(length: int, tile: int, overlap: int) -> list[int]:
    """Tile starts covering 0..length: every ``tile - overlap``, the last one flush with the end."""
    if length <= tile:
        return [0]
    stride = max(1, tile - min(overlap, tile // 2))
    starts = list(range(0, length - tile + 1, stride))
    if starts[-1] + tile < length:
        starts.append(length - tile)
    return starts


def tile_count(height: int, width: int, tile: int, overlap: int) -> int:
    return len(positions(height, tile, overlap)) * len(positions(width, tile, overlap))


def _ramp(length: int, overlap: int, at_start: bool, at_end: bool) -> torch.Tensor:
    weights = torch.ones(length)
    if overlap > 0:
        ramp = torch.linspace(1.0 / (overlap + 1), overlap / (overlap + 1), overlap)
        if not at_start:
            weights[:overlap] = ramp[: min(overlap, length)]
        if not at_end:
            weights[-overlap:] = torch.minimum(weights[-overlap:], ramp.flip(0)[: min(overlap, length)])
    return weights


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, tile: int | tuple[int, int], overlap: int,
          scale: float, out_channels: int) -> torch.Tensor:
    """Apply ``fn`` (NCHW → NCHW, spatially scaled by ``scale``) tile by tile with blended seams; ``tile`` is a
    square side or (height, width)."""
    n, _, height, width = x.shape
    tile_h, tile_w = (tile, tile) if isinstance(tile, int) else tile
    out_h, out_w = round(height * scale), round(width * scale)
    output = torch.zeros(n, out_channels, out_h, out_w)
    weight = torch.zeros(1, 1, out_h, out_w)
    overlap = min(overlap, min(tile_h, tile_w) // 2)
    for y0 in positions(height, tile_h, overlap):
        for x1 in positions(width, tile_w, overlap):
            piece = fn(x[:, :, y0:y0 + tile_h, x1:x1 + tile_w]).float().cpu()
            ph, pw = piece.shape[-2], piece.shape[-1]
            oy, ox = round(y0 * scale), round(x1 * scale)
            o = round(overlap * scale)
            mask = (_ramp(ph, o, oy == 0, oy + ph >= out_h)[:, None] *
                    _ramp(pw, o, ox == 0, ox + pw >= out_w)[None, :])[None, None]
            output[:, :, oy:oy + ph, ox:ox + pw] += piece * mask
            weight[:, :, oy:oy + ph, ox:ox + pw] += mask
    return output / weight.clamp_min(1e-8)


