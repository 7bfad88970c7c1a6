"""Autoencoders (KL) as users have them: SD1/SD2/SDXL VAEs, Flux's ``ae.safetensors``, SD3's 16-channel VAE,
alone or inside a checkpoint (``first_stage_model.``, ``vae.``), in the original (LDM) or diffusers layout;
Flux.2's VAE (its latent normalised in 2×2 patches) by :mod:`.flux2_vae`; the video VAEs (Wan 2.1/2.2) are read
by :mod:`.video_vae`.

The architecture is read from the tensors — block widths, resnets per block, latent channels (4 or 16),
input/output channels, whether the quant convs and the middle attention are there — so any of these loads
as diffusers' AutoencoderKL. The latent scale and shift belong to the diffusion model's family (its latent
format), not to the VAE file: SD3's and Flux's VAEs have the same shapes and different scales.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .state_dict import ModelFileError, TensorIndex, block_count, describe, index_file, read_state_dict

PREFIXES = ("first_stage_model.", "vae.", "")
LDM_MARKER = "decoder.conv_in.weight"
DIFFUSERS_MARKER = "decoder.up_blocks.0.resnets.0.conv1.weight"


def find(index: TensorIndex, name: str = "") -> tuple[str, str]:
    """(prefix, layout "ldm" or "diffusers") of the VAE in a file; a clear error when there is none."""
    for prefix in PREFIXES:
        if prefix + DIFFUSERS_MARKER in index:
            return prefix, "diffusers"
        if prefix + LDM_MARKER in index and prefix + "encoder.conv_in.weight" in index:
            return prefix, "ldm"
    raise ModelFileError(f"{name or 'the file'} holds no VAE weights Inkgraph knows ({describe(index)})")


def read_config(index: TensorIndex, prefix: str, layout: str) -> dict[str, Any]:
    """A diffusers AutoencoderKL config from the shapes (SD's shipped config supplies the rest)."""
    from .checkpoint import shipped_configs

    keys = {k[len(prefix):]: index[k].shape for k in index if k.startswith(prefix)}
    down = "encoder.down_blocks." if layout == "diffusers" else "encoder.down."
    resnets = "resnets" if layout == "diffusers" else "block"
    levels = block_count(keys, down)
    widths = [keys[f"{down}{i}.{resnets}.0.conv2.weight"][0] for i in range(levels)]
    layers = block_count(keys, f"{down}0.{resnets}.")
    mid_attention = any(k.startswith(("encoder.mid_block.attentions.", "encoder.mid.attn_1.")) for k in keys)
    config = dict(shipped_configs("sd15")["vae"])
    config.update(in_channels=keys["encoder.conv_in.weight"][1], out_channels=keys["decoder.conv_out.weight"][0],
                  block_out_channels=widths, layers_per_block=layers, latent_channels=keys["decoder.conv_in.weight"][1],
                  down_block_types=["DownEncoderBlock2D"] * levels, up_block_types=["UpDecoderBlock2D"] * levels,
                  use_quant_conv="quant_conv.weight" in keys, use_post_quant_conv="post_quant_conv.weight" in keys,
                  mid_block_add_attention=mid_attention)
    return config


def load(path: Path, dtype: torch.dtype) -> Any:
    """The VAE of a file, its weights checked against the architecture read from them."""
    from diffusers import AutoencoderKL, AutoencoderKLFlux2
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    from . import flux2_vae, video_vae
    from .weights import assemble

    index = index_file(path)
    video = video_vae.find(index)
    if video is not None:  # Wan 2.1 / 2.2's 3D causal VAEs
        return video_vae.load(path, dtype, video, index)
    prefix, layout = find(index, path.name)
    config = read_config(index, prefix, layout)
    owned = (lambda key: key.startswith(prefix)) if prefix else None
    state, _ = read_state_dict(path, keys=owned, strip=prefix)
    if flux2_vae.is_flux2_file(index, prefix):  # Flux.2's: batch-norm statistics over the patchified latent
        norm = {k: v for k, v in state.items() if k.startswith("bn.")}
        if layout == "ldm":  # the renaming reads the level count only; the decoder's widths are its own
            state = convert_ldm_vae_checkpoint(state, config)
        state = {"bn.num_batches_tracked": torch.tensor(0), **state, **norm}
        return assemble(AutoencoderKLFlux2, flux2_vae.config(config, index, prefix, layout), state, dtype, "VAE",
                        path.name)
    if layout == "ldm":
        state = convert_ldm_vae_checkpoint(state, config)
    return assemble(AutoencoderKL, config, state, dtype, "VAE", path.name)
