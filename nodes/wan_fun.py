"""Wan22FunControlToVideo (ComfyUI's ``comfy_extras/nodes_wan.py``): Wan 2.2 Fun control's conditioning —
the control video's latent and an (all "nothing given") start latent as concatenated channels with the
4-channel mask between them (``concat_mask_index``), and the reference image's latent
(``reference_latents``), which models with a reference embedder (``ref_conv``) put before the video's tokens.

The latent's channels and spatial factor are the VAE's: 16 and 8× for Wan 2.1's VAE (the 14B models), 48 and
16× for Wan 2.2's (the 5B model), as ComfyUI reads them from the VAE.
"""

from __future__ import annotations

from typing import Any

from inkgraph.engine import Conditioning, Context, Vae, node

from .wan import CATEGORY, BatchSize, Height, Length, OptionalImage, VideoOutputs, Width, _encode, _resized, set_values


def _vae_shape(vae: Any) -> tuple[int, int]:
    """(latent channels, pixels per latent cell) of a VAE handle's autoencoder."""
    from .diffusion.vae_ops import factor

    with vae.use() as model:
        config = model.config
        channels = int(getattr(config, "z_dim", 0) or getattr(config, "latent_channels", 4))
        return channels, factor(model)


@node(category=CATEGORY)
def Wan22FunControlToVideo(
    ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae, width: Width = 832,
    height: Height = 480, length: Length = 81, batch_size: BatchSize = 1,
    ref_image: OptionalImage = None, control_video: OptionalImage = None,
) -> VideoOutputs:
    """The empty video latent; the control video's latent in the first concatenated group (zeros' latent
    where none is given) and the start group left empty (ComfyUI's node takes no start image), the mask of
    ones between them; the reference image (its first frame, resized to the video) as a reference latent."""
    import torch

    from .diffusion.families.wan import WAN21_LATENT, WAN22_LATENT

    channels, scale = _vae_shape(vae)
    frames = (length - 1) // 4 + 1
    shape = [batch_size, channels, frames, height // scale, width // scale]
    latent = torch.zeros(shape)
    latent_format = WAN22_LATENT if channels == 48 else WAN21_LATENT
    concat = latent_format.process_out(torch.zeros(shape)).repeat(1, 2, 1, 1, 1)
    # 4 mask channels per latent frame (each frame's 4 video frames), all "to generate"
    mask = torch.ones((1, 1, frames * 4, shape[-2], shape[-1]))
    mask = mask.view(1, frames, 4, shape[-2], shape[-1]).transpose(1, 2)
    if control_video is not None:
        encoded = _encode(ctx, vae, _resized(control_video[:length], width, height))
        concat[:, :channels, : encoded.shape[2]] = encoded[:, :, : concat.shape[2]]
    values: dict[str, Any] = {"concat_latent_image": concat, "concat_mask": mask, "concat_mask_index": channels}
    positive, negative = set_values(positive, values), set_values(negative, values)
    if ref_image is not None:
        reference = _encode(ctx, vae, _resized(ref_image[:1], width, height))
        refs = {"reference_latents": [reference]}
        positive, negative = set_values(positive, refs, append=True), set_values(negative, refs, append=True)
    return positive, negative, {"samples": latent}


NODES = [Wan22FunControlToVideo]
