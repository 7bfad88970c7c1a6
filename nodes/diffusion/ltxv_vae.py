"""LTX-Video's causal video VAE (under ``vae.`` in ``ltx-video-2b-v0.9*.safetensors``, or alone) as diffusers'
AutoencoderKLLTXVideo, with ComfyUI's per-channel statistics and decode timestep.

Lightricks' layout numbers blocks in a flat list (``encoder.down_blocks.N``, ``decoder.up_blocks.N``: resnet
groups, downsamplers and channel changes in one sequence, ``res_blocks``, ``per_channel_statistics.*``);
three releases order them differently, told apart as ComfyUI tells them: 0.9.5 and later have space/time
downsamplers (``encoder.down_blocks.1.conv.conv``), 0.9.1 a timestep-conditioned decoder
(``decoder.last_time_embedder``), 0.9.0 neither. The renaming is diffusers' (its single-file converter
chooses the release by the 2,048-wide encoder of the released file; here the structure decides, so any width
reads). The architecture is read from the tensors: patch size, widths and depths per block, downsampler and
upsampler kinds (their convolutions' channel ratios), decoder noise injection and timestep conditioning.

As ComfyUI's ``VideoVAE``: latents are normalised with the file's mean-of-means and std-of-means; an encode
needs 1 + 8k frames and returns the mean; a timestep-conditioned decoder (0.9.1+) decodes at timestep 0.05
after blending 2.5 % noise into the latent — ComfyUI draws that noise unseeded, Inkgraph from a fixed seed, so
a decode is repeatable.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch

from .state_dict import ModelFileError, TensorIndex, block_count

PREFIXES = ("vae.", "first_stage_model.", "")
MARKER = "decoder.up_blocks.0.res_blocks.0.conv1.conv.weight"
DECODE_TIMESTEP, DECODE_NOISE = 0.05, 0.025
NOISE_SEED = 0

# Lightricks' flat block numbers → diffusers' nested names, by release (diffusers' converter's tables)
_COMMON = (("res_blocks", "resnets"), ("conv_shortcut", "conv_shortcut.conv"), ("norm3.norm", "norm3"),
           ("per_channel_statistics.mean-of-means", "latents_mean"),
           ("per_channel_statistics.std-of-means", "latents_std"))
_V090 = {"up_blocks.0": "mid_block", "up_blocks.1": "up_blocks.0", "up_blocks.2": "up_blocks.1.upsamplers.0",
         "up_blocks.3": "up_blocks.1", "up_blocks.4": "up_blocks.2.conv_in", "up_blocks.5": "up_blocks.2.upsamplers.0",
         "up_blocks.6": "up_blocks.2", "up_blocks.7": "up_blocks.3.conv_in", "up_blocks.8": "up_blocks.3.upsamplers.0",
         "up_blocks.9": "up_blocks.3", "down_blocks.0": "down_blocks.0",
         "down_blocks.1": "down_blocks.0.downsamplers.0",
         "down_blocks.2": "down_blocks.0.conv_out", "down_blocks.3": "down_blocks.1",
         "down_blocks.4": "down_blocks.1.downsamplers.0", "down_blocks.5": "down_blocks.1.conv_out",
         "down_blocks.6": "down_blocks.2", "down_blocks.7": "down_blocks.2.downsamplers.0",
         "down_blocks.8": "down_blocks.3", "down_blocks.9": "mid_block"}
_UP_091 = {"up_blocks.0": "mid_block", "up_blocks.1": "up_blocks.0.upsamplers.0", "up_blocks.2": "up_blocks.0",
           "up_blocks.3": "up_blocks.1.upsamplers.0", "up_blocks.4": "up_blocks.1",
           "up_blocks.5": "up_blocks.2.upsamplers.0", "up_blocks.6": "up_blocks.2",
           "up_blocks.7": "up_blocks.3.upsamplers.0", "up_blocks.8": "up_blocks.3"}
_DOWN_095 = {"down_blocks.0": "down_blocks.0", "down_blocks.1": "down_blocks.0.downsamplers.0",
             "down_blocks.2": "down_blocks.1", "down_blocks.3": "down_blocks.1.downsamplers.0",
             "down_blocks.4": "down_blocks.2", "down_blocks.5": "down_blocks.2.downsamplers.0",
             "down_blocks.6": "down_blocks.3", "down_blocks.7": "down_blocks.3.downsamplers.0",
             "down_blocks.8": "mid_block"}
_TIME = (("last_time_embedder", "time_embedder"), ("last_scale_shift_table", "scale_shift_table"))
_DROPPED = ("per_channel_statistics.channel", "per_channel_statistics.mean-of-stds")


def find(index: TensorIndex) -> str | None:
    """The prefix of an LTX-Video VAE in the file (ComfyUI's marker), or None."""
    for prefix in PREFIXES:
        if prefix + MARKER in index and prefix + "encoder.conv_in.conv.weight" in index:
            return prefix
    return None


def release(keys: Any) -> str:
    """"0.9.5" (space/time downsamplers, 0.9.7 and 0.9.8 too), "0.9.1" (timestep-conditioned decoder) or "0.9.0"."""
    if "encoder.down_blocks.1.conv.conv.bias" in keys or "encoder.down_blocks.1.conv.conv.weight" in keys:
        return "0.9.5"
    if "decoder.last_time_embedder.timestep_embedder.linear_1.weight" in keys:
        return "0.9.1"
    return "0.9.0"


def rename(key: str, version: str) -> str:
    """A Lightricks key (without prefix) → diffusers' name, as diffusers' converter renames it."""
    table = dict(_V090)
    if version != "0.9.0":
        table.update(_UP_091)
    if version == "0.9.5":
        table.update(_DOWN_095)
    for old, new in (*table.items(), *_COMMON, *(_TIME if version != "0.9.0" else ())):
        key = key.replace(old, new)
    return key


def to_diffusers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    version = release(state)
    return {rename(k, version): v for k, v in state.items() if not k.startswith(_DROPPED)}


def read_config(shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    """An AutoencoderKLLTXVideo config from the shapes of the renamed (diffusers) keys."""
    def shape(key: str) -> tuple[int, ...]:
        found = shapes.get(key)
        if found is None:
            raise KeyError(key)
        return found

    pixels = shape("encoder.conv_in.conv.weight")[1]
    patch = round((pixels // 3) ** 0.5)
    downs = block_count(shapes, "encoder.down_blocks.")
    new_style = any(k.startswith("encoder.down_blocks.0.downsamplers.0.conv.conv.") for k in shapes)
    # each block's resnets work at its input width; 0.9.5's widths list also holds the middle's
    widths = [shape(f"encoder.down_blocks.{i}.resnets.0.conv1.conv.weight")[1] for i in range(downs)]
    if new_style:
        widths.append(shape("encoder.mid_block.resnets.0.conv1.conv.weight")[1])
    layers, scaling, kinds = [], [], []
    spatial = temporal = 1
    for i in range(downs):
        prefix = f"encoder.down_blocks.{i}."
        layers.append(block_count(shapes, prefix + "resnets."))
        conv = shapes.get(prefix + "downsamplers.0.conv.conv.weight") \
            or shapes.get(prefix + "downsamplers.0.conv.weight")
        scaling.append(conv is not None)
        kind = "conv"
        if new_style and conv is not None:
            kind = {4: "spatial", 2: "temporal", 8: "spatiotemporal"}[widths[i + 1] // conv[0]]
        kinds.append(kind)
        if conv is not None:
            spatial *= 2 if kind != "temporal" else 1
            temporal *= 2 if kind != "spatial" else 1
    layers.append(block_count(shapes, "encoder.mid_block.resnets."))
    decoder = _read_decoder(shapes)
    config: dict[str, Any] = {
        "in_channels": pixels // (patch * patch),
        "out_channels": shape("decoder.conv_out.conv.weight")[0] // (patch * patch),
        "latent_channels": shape("decoder.conv_in.conv.weight")[1], "block_out_channels": widths,
        "down_block_types": ["LTXVideo095DownBlock3D" if new_style else "LTXVideoDownBlock3D"] * downs,
        "layers_per_block": layers, "spatio_temporal_scaling": scaling, "downsample_type": kinds, "patch_size": patch,
        "patch_size_t": 1, "encoder_causal": True, "decoder_causal": False,
        "spatial_compression_ratio": patch * spatial, "temporal_compression_ratio": temporal, **decoder}
    return config


def _read_decoder(shapes: dict[str, tuple[int, ...]]) -> dict[str, Any]:
    ups = block_count(shapes, "decoder.up_blocks.")
    widths, layers, scaling, noise, factors = [], [block_count(shapes, "decoder.mid_block.resnets.")], [], [], []
    noise.append("decoder.mid_block.resnets.0.per_channel_scale1" in shapes)
    for i in range(ups):
        prefix = f"decoder.up_blocks.{i}."
        channels = shapes[prefix + "resnets.0.conv1.conv.weight"][0]
        conv = shapes.get(prefix + "upsamplers.0.conv.conv.weight")
        factor = 8 * conv[1] // conv[0] if conv is not None else 1
        widths.append(channels * factor)
        factors.append(factor)
        scaling.append(conv is not None)
        layers.append(block_count(shapes, prefix + "resnets."))
        noise.append(prefix + "resnets.0.per_channel_scale1" in shapes)
    return {"decoder_block_out_channels": widths[::-1], "decoder_layers_per_block": layers[::-1],
            "decoder_spatio_temporal_scaling": scaling[::-1], "decoder_inject_noise": noise[::-1],
            "upsample_factor": factors[::-1], "upsample_residual": [f > 1 for f in factors[::-1]],
            "timestep_conditioning": "decoder.timestep_scale_multiplier" in shapes}


def load(path: Path, dtype: torch.dtype, prefix: str, index: TensorIndex) -> Any:
    """The VAE of a file, its weights checked against the architecture read from them, with ComfyUI's
    encode (``encode_video``) and decode (``decode_latents``) installed."""
    from diffusers import AutoencoderKLLTXVideo

    from .state_dict import read_state_dict
    from .weights import assemble

    owned = (lambda key: key.startswith(prefix)) if prefix else None
    state, _ = read_state_dict(path, keys=owned, strip=prefix)
    if prefix == "":
        state = {k: v for k, v in state.items() if k.startswith(("encoder.", "decoder.", "per_channel_statistics."))}
    state = to_diffusers(state)
    if "latents_mean" not in state:
        raise ModelFileError(f"{path.name}: the LTX-Video VAE has no per_channel_statistics (mean-of-means)")
    try:
        config = read_config({k: tuple(v.shape) for k, v in state.items()})
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{path.name}: the LTX-Video VAE's architecture cannot be read ({exc})") from exc
    model = assemble(AutoencoderKLLTXVideo, config, state, dtype, "VAE", path.name)
    model.encode_video = partial(encode, model)
    model.decode_latents = partial(decode, model)
    return model


def _stats(vae: Any, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (1, -1, 1, 1, 1)
    mean = vae.latents_mean.to(like.device, like.dtype).view(shape)
    return mean, vae.latents_std.to(like.device, like.dtype).view(shape)


def encode(vae: Any, video: torch.Tensor) -> torch.Tensor:
    """Frames [1, 3, 1 + 8k, H, W] in [-1, 1] → normalised latents (the distribution's mean), as ComfyUI's."""
    frames = video.shape[2]
    if (frames - 1) % int(vae.config.temporal_compression_ratio):
        raise ValueError(f"LTX-Video's VAE encodes 1 + 8·k frames (1, 9, 17 …), not {frames}")
    mean = vae.encode(video).latent_dist.mode()
    center, scale = _stats(vae, mean)
    return (mean - center) / scale  # type: ignore[no-any-return]


def decode(vae: Any, latent: torch.Tensor) -> torch.Tensor:
    """Normalised latents → frames in [-1, 1], with 0.9.1+'s decode timestep and noise (ComfyUI's defaults)."""
    temb = None
    if vae.config.timestep_conditioning:
        generator = torch.Generator(device="cpu").manual_seed(NOISE_SEED)
        noise = torch.randn(latent.shape, generator=generator).to(latent.device, latent.dtype)
        latent = noise * DECODE_NOISE + (1.0 - DECODE_NOISE) * latent
        temb = torch.full((latent.shape[0],), DECODE_TIMESTEP, device=latent.device, dtype=latent.dtype)
    center, scale = _stats(vae, latent)
    return vae.decode(latent * scale + center, temb, return_dict=False)[0]  # type: ignore[no-any-return]
