"""HunyuanVideo 1.5's 3-D VAE (``hunyuanvideo15_vae_fp16.safetensors``, alone or under ``vae.``) as diffusers'
AutoencoderKLHunyuanVideo15, decoding as ComfyUI decodes it.

Tencent's layout (ComfyUI's file): ``encoder.down.N.block.M.conv1.conv``, ``encoder.down.N.downsample.conv.conv``,
``decoder.up.N.upsample.conv.conv``, ``{en,de}coder.mid.block_1`` / ``attn_1.q`` / ``block_2``, RMS-norm ``gamma``
weights; renamed here as diffusers' conversion script renames it. The architecture is read from the tensors:
level widths, residual blocks per level, latent and image channels, and which levels halve time (their
downsample convolution packs 8 rather than 4 cells into each output channel).

ComfyUI's VAE (``vae_refiner`` with ``refiner_vae``) attends over the whole middle of the video at once; the
original code and diffusers mask that attention causally, frame by frame (and build the mask with a Python
loop over every position). Inkgraph follows ComfyUI: the middle attention blocks run unmasked
(:func:`unmasked_attention`). The rest is the same causal network ComfyUI runs in chunks with carried context.
Latents are [B, 32, (F − 1)/4 + 1, H/16, W/16]; an encode drops the frames past the last 4k + 1, as ComfyUI's.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .state_dict import TensorIndex, block_count

PREFIXES = ("vae.", "first_stage_model.", "")
MARKERS = ("decoder.mid.attn_1.q.weight", "encoder.down.0.block.0.conv1.conv.weight", "decoder.conv_in.conv.weight")
_RENAME = ((r"\.down\.(\d+)\.block\.(\d+)\.", r".down_blocks.\1.resnets.\2."),
           (r"\.down\.(\d+)\.downsample\.", r".down_blocks.\1.downsamplers.0."),
           (r"\.up\.(\d+)\.block\.(\d+)\.", r".up_blocks.\1.resnets.\2."),
           (r"\.up\.(\d+)\.upsample\.", r".up_blocks.\1.upsamplers.0."),
           (r"\.mid\.block_1\.", ".mid_block.resnets.0."), (r"\.mid\.block_2\.", ".mid_block.resnets.1."),
           (r"\.mid\.attn_1\.([qkv])\.", r".mid_block.attentions.0.to_\1."),
           (r"\.mid\.attn_1\.", ".mid_block.attentions.0."),
           (r"\.nin_shortcut\.", ".conv_shortcut."))
_PATTERNS = tuple((re.compile(p), r) for p, r in _RENAME)


def find(index: TensorIndex) -> str | None:
    """The prefix of a HunyuanVideo 1.5 VAE in the file, or None."""
    for prefix in PREFIXES:
        if all(prefix + marker in index for marker in MARKERS):
            shape = index[prefix + "decoder.conv_in.conv.weight"].shape
            if len(shape) == 5:
                return prefix
    return None


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """An AutoencoderKLHunyuanVideo15 config from the shapes."""
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    levels = block_count(keys, "encoder.down.")
    widths = [shape(f"encoder.down.{i}.block.0.conv2.conv.weight")[0] for i in range(levels)]
    spatial = temporal = 1
    for i in range(levels):
        conv = index.shape(f"{prefix}encoder.down.{i}.downsample.conv.conv.weight")
        if conv is None:
            continue
        spatial *= 2
        if widths[min(i + 1, levels - 1)] // conv[0] == 8:  # time, height and width packed into each channel
            temporal *= 2
    return {"in_channels": shape("encoder.conv_in.conv.weight")[1],
            "out_channels": shape("decoder.conv_out.conv.weight")[0],
            "latent_channels": shape("decoder.conv_in.conv.weight")[1], "block_out_channels": widths,
            "layers_per_block": block_count(keys, "encoder.down.0.block."), "spatial_compression_ratio": spatial,
            "temporal_compression_ratio": temporal, "downsample_match_channel": True, "upsample_match_channel": True}


def to_diffusers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, tensor in state.items():
        for pattern, replacement in _PATTERNS:
            key = pattern.sub(replacement, key)
        out[key] = tensor
    return out


def load(path: Path, dtype: torch.dtype, prefix: str, index: TensorIndex) -> Any:
    """The VAE of a file, its weights checked against the architecture read from them."""
    from diffusers import AutoencoderKLHunyuanVideo15

    from .state_dict import read_state_dict
    from .weights import assemble

    owned = (lambda key: key.startswith(prefix)) if prefix else None
    state, _ = read_state_dict(path, keys=owned, strip=prefix)
    model = assemble(AutoencoderKLHunyuanVideo15, read_config(index, prefix), to_diffusers(state), dtype, "VAE",
                     path.name)
    unmasked_attention(model)
    return model


def unmasked_attention(model: Any) -> None:
    """The middle attention of encoder and decoder over every position of the video, as ComfyUI's AttnBlock."""
    from diffusers.models.autoencoders.autoencoder_kl_hunyuanvideo15 import HunyuanVideo15AttnBlock

    for module in model.modules():
        if isinstance(module, HunyuanVideo15AttnBlock):
            module.forward = _attention.__get__(module)


def _attention(self: Any, x: torch.Tensor) -> torch.Tensor:
    normed = self.norm(x)
    b, c, frames, height, width = x.shape

    def tokens(conv: Any) -> torch.Tensor:
        return conv(normed).reshape(b, 1, c, frames * height * width).transpose(2, 3)

    out = F.scaled_dot_product_attention(tokens(self.to_q), tokens(self.to_k), tokens(self.to_v))
    out = out.transpose(2, 3).reshape(b, c, frames, height, width)
    return x + self.proj_out(out)


def frames_kept(frames: int, temporal: int) -> int:
    """The frames an encode reads: the first, then whole groups of ``temporal`` (ComfyUI drops the rest)."""
    return 1 + max(0, math.floor((frames - 1) / temporal)) * temporal
