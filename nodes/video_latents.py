"""Empty video latents and the video models' simple conditioning nodes (ComfyUI's ``nodes_hunyuan`` and
``nodes_lt``): HunyuanVideo 1.0's latent (also Wan 2.1's: 16 channels, 8× down, 4 frames a latent frame),
HunyuanVideo 1.5's (32 channels, 16× down) with its image-to-video conditioning, LTX-Video's (128 channels,
32× down, 8 frames a latent frame) with its image-to-video latent, frame-rate conditioning and scheduler.

The latents carry ComfyUI's ``downscale_ratio_spacial`` beside the samples, as ComfyUI's nodes now write it.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from inkgraph.engine import Boolean, Conditioning, Context, Float, Image, Int, Output, Socket, Vae, node

from . import MAX_RESOLUTION
from .wan import VideoOutputs, _encode, _resized, set_values

Width = Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)]
Height = Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)]
BatchSize = Annotated[int, Int(min=1, max=4096)]
LatentOut = Annotated[dict[str, Any], Socket(type="LATENT"), Output("LATENT")]
LtxSide = Annotated[int, Int(min=64, max=MAX_RESOLUTION, step=32)]


def _zeros(batch: int, channels: int, frames: int, height: int, width: int) -> Any:
    import torch

    return torch.zeros([batch, channels, frames, height, width])


@node(display_name="Empty HunyuanVideo 1.0 Latent", category="latent/video")
def EmptyHunyuanLatentVideo(width: Width = 848, height: Height = 480,
                            length: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=4)] = 25,
                            batch_size: BatchSize = 1) -> LatentOut:
    """An empty 16-channel video latent, 8× down and (length − 1)/4 + 1 frames (HunyuanVideo 1.0, Wan 2.1 and
    Wan 2.2's 14B models)."""
    return {"samples": _zeros(batch_size, 16, (length - 1) // 4 + 1, height // 8, width // 8),
            "downscale_ratio_spacial": 8}


@node(display_name="Empty HunyuanVideo 1.5 Latent", category="latent/video")
def EmptyHunyuanVideo15Latent(width: Width = 848, height: Height = 480,
                              length: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=4)] = 25,
                              batch_size: BatchSize = 1) -> LatentOut:
    """An empty 32-channel video latent for HunyuanVideo 1.5, 16× down."""
    return {"samples": _zeros(batch_size, 32, (length - 1) // 4 + 1, height // 16, width // 16),
            "downscale_ratio_spacial": 16}


@node(category="conditioning/video_models")
def HunyuanVideo15ImageToVideo(
    ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae, width: Width = 848,
    height: Height = 480, length: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=4)] = 33,
    batch_size: BatchSize = 1, start_image: Annotated[Any, Socket(type="IMAGE", optional=True)] = None,
    clip_vision_output: Annotated[Any, Socket(type="CLIP_VISION_OUTPUT", optional=True)] = None,
) -> VideoOutputs:
    """HunyuanVideo 1.5's empty latent with the start image encoded into the first frames of a 32-channel
    concatenated latent and masked in as the frames to keep."""
    import torch

    latent = _zeros(batch_size, 32, (length - 1) // 4 + 1, height // 16, width // 16)
    if start_image is not None:
        start = _resized(start_image[:length], width, height)
        encoded = _encode(ctx, vae, start)
        concat = torch.zeros_like(latent)
        concat[:, :, : encoded.shape[2]] = encoded
        mask = torch.ones((1, 1, latent.shape[2], latent.shape[-2], latent.shape[-1]))
        mask[:, :, : (start.shape[0] - 1) // 4 + 1] = 0.0
        values = {"concat_latent_image": concat, "concat_mask": mask}
        positive, negative = set_values(positive, values), set_values(negative, values)
    if clip_vision_output is not None:
        values = {"clip_vision_output": clip_vision_output}
        positive, negative = set_values(positive, values), set_values(negative, values)
    return positive, negative, {"samples": latent}


@node(category="model/latent/ltxv")
def EmptyLTXVLatentVideo(width: LtxSide = 768, height: LtxSide = 512,
                         length: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=8)] = 97,
                         batch_size: BatchSize = 1) -> LatentOut:
    """An empty LTX-Video latent: 128 channels, 32× down, (length − 1)/8 + 1 frames."""
    return {"samples": _zeros(batch_size, 128, (length - 1) // 8 + 1, height // 32, width // 32),
            "downscale_ratio_spacial": 32}


@node(category="model/conditioning/ltxv")
def LTXVImgToVideo(
    ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae, image: Image, width: LtxSide = 768,
    height: LtxSide = 512, length: Annotated[int, Int(min=9, max=MAX_RESOLUTION, step=8)] = 97,
    batch_size: BatchSize = 1, strength: Annotated[float, Float(min=0.0, max=1.0)] = 1.0,
) -> VideoOutputs:
    """An LTX-Video latent whose first frames are the image, kept by a per-frame noise mask of 1 − strength."""
    import torch

    encoded = _encode(ctx, vae, _resized(image, width, height))
    latent = _zeros(batch_size, 128, (length - 1) // 8 + 1, height // 32, width // 32)
    latent[:, :, : encoded.shape[2]] = encoded
    mask = torch.ones((batch_size, 1, latent.shape[2], 1, 1))
    mask[:, :, : encoded.shape[2]] = 1.0 - strength
    return positive, negative, {"samples": latent, "noise_mask": mask}


@node(category="model/conditioning/ltxv")
def LTXVConditioning(positive: Conditioning, negative: Conditioning,
                     frame_rate: Annotated[float, Float(min=0.0, max=1000.0, step=0.01)] = 25.0
                     ) -> tuple[Annotated[list[Any], Socket(type="CONDITIONING"), Output("positive")],
                                Annotated[list[Any], Socket(type="CONDITIONING"), Output("negative")]]:
    """Tells LTX-Video the frame rate the video is made for."""
    values = {"frame_rate": frame_rate}
    return set_values(positive, values), set_values(negative, values)


@node(category="model/sampling/schedulers")
def LTXVScheduler(
    steps: Annotated[int, Int(min=1, max=10000)] = 20,
    max_shift: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 2.05,
    base_shift: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 0.95,
    stretch: Annotated[bool, Boolean(tooltip="Stretch the sigmas to be in the range [terminal, 1].",
                                     extra={"advanced": True})] = True,
    terminal: Annotated[float, Float(min=0.0, max=0.99, step=0.01, extra={"advanced": True},
                                     tooltip="The terminal value of the sigmas after stretching.")] = 0.1,
    latent: Annotated[dict[str, Any] | None, Socket(type="LATENT", optional=True)] = None,
) -> Annotated[Any, Socket(type="SIGMAS"), Output("SIGMAS")]:
    """LTX-Video's schedule: 1 → 0 in equal steps, shifted by the latent's token count (1024 tokens → base
    shift, 4096 → max shift, linear between and beyond), optionally stretched to end at ``terminal``."""
    import torch

    tokens = 4096 if latent is None else math.prod(latent["samples"].shape[2:])
    slope = (max_shift - base_shift) / (4096 - 1024)
    shift = tokens * slope + base_shift - slope * 1024
    sigmas = torch.linspace(1.0, 0.0, steps + 1)
    nonzero = sigmas != 0
    sigmas = torch.where(nonzero, math.exp(shift) / (math.exp(shift) + (1 / sigmas - 1)), torch.zeros_like(sigmas))
    if stretch:
        kept = 1.0 - sigmas[nonzero]
        sigmas[nonzero] = 1.0 - kept / (kept[-1] / (1.0 - terminal))
    return sigmas


NODES = [EmptyHunyuanLatentVideo, EmptyHunyuanVideo15Latent, HunyuanVideo15ImageToVideo, EmptyLTXVLatentVideo,
         LTXVImgToVideo, LTXVConditioning, LTXVScheduler]
