"""VAE nodes: latents ↔ images, whole or tiled, and inpainting preparation (ComfyUI's nodes)."""

from __future__ import annotations

import math
from typing import Annotated, Any

from inkgraph.engine import Context, Image, Int, Latent, Mask, Output, Socket, Vae, node

LatentOut = Annotated[dict[str, Any], Socket(type="LATENT")]


@node(display_name="VAE Decode", category="latent", description="Decodes latent images back into pixel space images.")
def VAEDecode(
    ctx: Context,
    samples: Annotated[dict[str, Any], Socket(type="LATENT", tooltip="The latent to be decoded.")],
    vae: Annotated[Any, Socket(type="VAE", tooltip="The VAE model used for decoding the latent.")],
) -> Annotated[Any, Socket(type="IMAGE"), Output(tooltip="The decoded image.")]:
    from .diffusion.vae_ops import decode

    with vae.use() as model:
        return decode(model, samples["samples"], ctx.check_interrupted)


@node(display_name="VAE Encode", category="latent")
def VAEEncode(ctx: Context, pixels: Image, vae: Vae) -> LatentOut:
    """Encodes images into latents (sides cropped to multiples of 8)."""
    from .diffusion.vae_ops import encode

    with vae.use() as model:
        return {"samples": encode(model, pixels, ctx.check_interrupted)}


ADVANCED = {"advanced": True}


@node(display_name="VAE Decode (Tiled)", category="_for_testing")
def VAEDecodeTiled(ctx: Context, samples: Latent, vae: Vae,
                   tile_size: Annotated[int, Int(min=64, max=4096, step=32, extra=ADVANCED)] = 512,
                   overlap: Annotated[int, Int(min=0, max=4096, step=32, extra=ADVANCED)] = 64,
                   temporal_size: Annotated[int, Int(min=8, max=4096, step=4, extra=ADVANCED, tooltip=(
                       "Only used for video VAEs: Amount of frames to decode at a time."))] = 64,
                   temporal_overlap: Annotated[int, Int(min=4, max=4096, step=4, extra=ADVANCED, tooltip=(
                       "Only used for video VAEs: Amount of frames to overlap."))] = 8) -> Image:
    """Decodes in overlapping tiles so large images fit in memory; video latents also in overlapping chunks of
    frames (a video VAE's 4 frames per latent frame, LTX-Video's 8: temporal_size 64 → 16 latent frames at a time)."""
    from .diffusion import video_vae
    from .diffusion.vae_ops import decode_tiled, factor

    if tile_size < overlap * 4:
        overlap = tile_size // 4
    if temporal_size < temporal_overlap * 2:
        temporal_overlap = temporal_overlap // 2
    with vae.use() as model:
        scale = factor(model)
        if video_vae.is_video(model):
            step = video_vae.temporal(model)
            frames = max(2, temporal_size // step)
            shared = max(1, min(frames // 2, temporal_overlap // step))
            return video_vae.decode_tiled(model, samples["samples"], tile_size // scale, overlap // scale, frames,
                                          shared, ctx.check_interrupted)
        return decode_tiled(model, samples["samples"], tile_size // scale, overlap // scale, ctx.check_interrupted)


@node(display_name="VAE Encode (Tiled)", category="_for_testing")
def VAEEncodeTiled(ctx: Context, pixels: Image, vae: Vae,
                   tile_size: Annotated[int, Int(min=64, max=4096, step=64, extra=ADVANCED)] = 512,
                   overlap: Annotated[int, Int(min=0, max=4096, step=32, extra=ADVANCED)] = 64,
                   temporal_size: Annotated[int, Int(min=8, max=4096, step=4, extra=ADVANCED, tooltip=(
                       "Only used for video VAEs: Amount of frames to encode at a time."))] = 64,
                   temporal_overlap: Annotated[int, Int(min=4, max=4096, step=4, extra=ADVANCED, tooltip=(
                       "Only used for video VAEs: Amount of frames to overlap."))] = 8) -> LatentOut:
    """Encodes in overlapping tiles so large images fit in memory; video frames also in overlapping chunks."""
    from .diffusion import video_vae
    from .diffusion.vae_ops import encode_tiled

    with vae.use() as model:
        if video_vae.is_video(model):
            return {"samples": video_vae.encode_tiled(model, pixels, tile_size, overlap, temporal_size,
                                                      temporal_overlap, ctx.check_interrupted)}
        return {"samples": encode_tiled(model, pixels, tile_size, overlap, ctx.check_interrupted)}


@node(display_name="VAE Encode (for Inpainting)", category="latent/inpaint")
def VAEEncodeForInpaint(ctx: Context, pixels: Image, vae: Vae, mask: Mask,
                        grow_mask_by: Annotated[int, Int(min=0, max=64, step=1)] = 6) -> LatentOut:
    """Greys out the masked area, encodes, and sets a noise mask grown by a few pixels."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from .diffusion.vae_ops import encode

    height, width = (pixels.shape[1] // 8) * 8, (pixels.shape[2] // 8) * 8
    mask = F.interpolate(mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1])).float(),
                         size=(pixels.shape[1], pixels.shape[2]), mode="bilinear")
    pixels = pixels.clone()
    if pixels.shape[1] != height or pixels.shape[2] != width:
        dy, dx = (pixels.shape[1] % 8) // 2, (pixels.shape[2] % 8) // 2
        pixels = pixels[:, dy:height + dy, dx:width + dx, :]
        mask = mask[:, :, dy:height + dy, dx:width + dx]
    if grow_mask_by == 0:
        grown = mask
    else:
        kernel = torch.ones((1, 1, grow_mask_by, grow_mask_by))
        grown = torch.clamp(F.conv2d(mask.round(), kernel, padding=math.ceil((grow_mask_by - 1) / 2)), 0, 1)
    keep = (1.0 - mask.round()).squeeze(1)[..., None]
    pixels = (pixels[..., :3] - 0.5) * keep + 0.5
    with vae.use() as model:
        latents = encode(model, pixels, ctx.check_interrupted)
    return {"samples": latents, "noise_mask": grown[:, :, :height, :width].round()}


NODES = [VAEDecode, VAEEncode, VAEDecodeTiled, VAEEncodeTiled, VAEEncodeForInpaint]
