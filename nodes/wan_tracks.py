"""WanTrackToVideo (ComfyUI's ``comfy_extras/nodes_wan.py``): Wan ATI's trajectory conditioning on an
image-to-video Wan model.

Tracks are JSON: a list of tracks (or a list of such lists, one per batch item), each a list of {"x", "y"}
points in pixels, one per 24 fps frame, up to 121. ATI conditions the model through the image-to-video inputs:
the first latent frame (the start image) is sampled at each track's first point, and that feature is
painted along the track into the later latent frames — each cell takes the features of its ``topk`` nearest
track points of that latent frame, weighted exp(−temperature · distance²), over the grey video's latent; the
concat mask is 1 − that weight (the start frame: 0, kept). Without tracks the node is WanImageToVideo.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from inkgraph.engine import Conditioning, Context, Float, Image, Int, String, Vae, node

from .wan import (
    CATEGORY,
    BatchSize,
    ClipVisionOutput,
    Height,
    Length,
    VideoOutputs,
    WanImageToVideo,
    Width,
    _encode,
    _resized,
    _with_clip,
    set_values,
)

POINTS = 121  # track samples ATI was trained with (5 s at 24 fps, and the start)


def parse_tracks(text: Any) -> list[list[list[dict[str, float]]]]:
    """Tracks per batch item from ComfyUI's JSON (single quotes accepted, as ComfyUI); unreadable JSON is no
    tracks. A bare track (a list of points) or a list of tracks is one batch item."""
    items = [text] if isinstance(text, str) else list(text)
    found: list[Any] = []
    try:
        for item in items:
            parsed = json.loads(item.replace("'", '"'))
            if isinstance(text, str):
                found.extend(parsed)
            else:
                found.append(parsed)
    except json.JSONDecodeError:
        return []
    if not found:
        return []
    if isinstance(found[0], dict):
        found = [found]  # one track
    if found and isinstance(found[0], list) and found[0] and isinstance(found[0][0], dict):
        return [found]  # the tracks of one batch item
    return found


def track_tensor(tracks: list[list[dict[str, float]]], width: int, height: int, frames: int) -> Any:
    """[frames + 1, N, 4] rows of (time in −1 … 1, x, y, visible ±1): each track padded with invisible points
    (or cut) to 121 samples, positions centred and divided by half the short side, then the 120 samples after
    the first resampled to ``frames`` by ComfyUI's repeat-and-stride."""
    import torch

    rows = []
    for track in tracks:
        points = torch.zeros(POINTS, 3)
        given = torch.tensor([[float(p["x"]), float(p["y"]), 1.0] for p in track[:POINTS]]).reshape(-1, 3)
        points[: given.shape[0]] = given
        rows.append(points)
    data = torch.stack(rows, dim=1)  # [121, N, 3]
    half = min(width, height) / 2
    xy = (data[..., :2] - torch.tensor([width / 2, height / 2])) / half
    visible = data[..., 2:] * 2 - 1
    time = torch.linspace(-1, 1, POINTS).view(-1, 1, 1).expand_as(visible)
    table = torch.cat([time, xy, visible], dim=-1)
    divisor = math.gcd(120, frames)
    stride, repeat = 120 // divisor, frames // divisor
    later = torch.repeat_interleave(table[1:], repeat, dim=0)[1::stride]
    return torch.cat([table[:1], later], dim=0)


def paint_motion(tracks: Any, latent: Any, temperature: float, topk: int) -> tuple[Any, Any]:
    """One batch item: tracks [T, N, 4] (T = 4·(t − 1) + 1 video frames) over a latent [C, t, h, w] in the
    model's space → (weight [4, t, h, w], features [C, t, h, w])."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    channels, frames, h, w = latent.shape
    short = min(h, w)
    xy, visible = tracks[..., 1:3], tracks[..., 3:4].clamp(0, 1)
    aspect = torch.tensor([w / short, h / short])
    # each later latent frame: the visible positions of its 4 video frames averaged
    seen = visible[1:].reshape(frames - 1, 4, *visible.shape[1:]).sum(1)  # [t−1, N, 1]
    where = (xy[1:] * visible[1:]).reshape(frames - 1, 4, *xy.shape[1:]).sum(1) / (seen + 1e-5)
    ys, xs = torch.linspace(-h / short, h / short, h), torch.linspace(-w / short, w / short, w)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # [h, w, (x, y)]
    distance = (where[:, None, None] - grid[None, :, :, None]).pow(2).sum(-1)  # [t−1, h, w, N]
    weight = torch.exp(-distance * temperature) * seen.clamp(0, 1).view(frames - 1, 1, 1, -1)
    nearest, index = torch.topk(weight, k=min(topk, weight.shape[-1]), dim=-1)
    # the start frame's feature under each track's first point (bilinear, zeros outside)
    start = (xy[:1] / aspect).clamp(-1, 1).to(latent.dtype)  # [1, N, 2]
    features = F.grid_sample(latent[:, :1].permute(1, 0, 2, 3), start[None], mode="bilinear",
                             padding_mode="zeros", align_corners=False)[0, :, 0].T  # [N, C]
    painted = (features[index] * nearest[..., None]).sum(-2).permute(3, 0, 1, 2)  # [C, t−1, h, w]
    total = nearest.sum(-1)
    mixed = painted + latent[:, 1:] * (1 - total.clamp(0, 1))
    out = torch.cat([latent[:, :1], mixed], dim=1)
    mask = torch.cat([torch.ones_like(total[:1]), total], dim=0)
    return mask[None].expand(4, -1, -1, -1), out


def _pick(count: int, batch: int) -> list[int]:
    """ComfyUI's resize_to_batch_size indices: ``batch`` items spread over ``count``."""
    if count == batch or batch <= 1:
        return list(range(min(count, batch)))
    if batch < count:
        scale = (count - 1) / (batch - 1)
        return [min(round(i * scale), count - 1) for i in range(batch)]
    return [min(math.floor((i + 0.5) * count / batch), count - 1) for i in range(batch)]


@node(category=CATEGORY)
def WanTrackToVideo(
    ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae,
    tracks: Annotated[str, String(multiline=True)] = "[]",
    width: Width = 832, height: Height = 480, length: Length = 81, batch_size: BatchSize = 1,
    temperature: Annotated[float, Float(min=1.0, max=1000.0, step=0.1)] = 220.0,
    topk: Annotated[int, Int(min=1, max=10)] = 2,
    *, start_image: Image, clip_vision_output: ClipVisionOutput = None,
) -> VideoOutputs:
    """The empty video latent and ATI's conditioning: the start image then grey, encoded, with the tracks'
    motion painted into its later latent frames (see the module docstring)."""
    import torch

    from .diffusion.families.wan import WAN21_LATENT

    per_item = parse_tracks(tracks)
    if not per_item:
        return WanImageToVideo(ctx=ctx, positive=positive, negative=negative, vae=vae, width=width,
                               height=height, length=length, batch_size=batch_size,
                               clip_vision_output=clip_vision_output, start_image=start_image)
    latent = torch.zeros([batch_size, 16, (length - 1) // 4 + 1, height // 8, width // 8])
    if start_image is not None:
        starts = _resized(start_image[:batch_size], width, height)
        encoded = []
        for index in _pick(starts.shape[0], batch_size):
            video = torch.full((length, height, width, 3), 0.5)
            video[0] = starts[index, ..., :3]
            encoded.append(_encode(ctx, vae, video))
        model_space = WAN21_LATENT.process_in(torch.cat(encoded))  # the painting is not linear: in the model's space
        table = [track_tensor(item, width, height, length - 1) for item in per_item]
        masks, features = [], []
        for b, index in enumerate(_pick(len(table), batch_size)):
            mask, feature = paint_motion(table[index], model_space[b], temperature, topk)
            masks.append(mask)
            features.append(feature)
        values = {"concat_mask": 1.0 - torch.stack(masks), "concat_latent_image": WAN21_LATENT.process_out(
            torch.stack(features))}
        positive, negative = set_values(positive, values), set_values(negative, values)
    positive, negative = _with_clip(positive, negative, clip_vision_output)
    return positive, negative, {"samples": latent}


NODES = [WanTrackToVideo]
