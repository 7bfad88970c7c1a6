"""Video autoencoders: Wan 2.1's and Wan 2.2's 3D causal VAEs (``wan_2.1_vae.safetensors``,
``wan2.2_vae.safetensors``, alone or under ``vae.``; Qwen-Image's ``qwen_image_vae.safetensors`` is Wan 2.1's,
Qwen-Image Layered's its RGBA variant) as diffusers' AutoencoderKLWan.

The architecture is read from the tensors: base width, latent channels, width multipliers, residual blocks
per level, which levels halve time (their resample has a causal time convolution), Wan 2.2's residual
blocks, its own decoder width and its 2×2 pixel patches (12 input channels). Wan 2.1's layout is renamed by
diffusers' ``convert_wan_vae_to_diffusers``; Wan 2.2's (blocks nested ``downsamples.X.downsamples.Y``) by
the table here, the one diffusers' conversion script uses.

Video latents are [B, C, T, H/s, W/s] with T = (F − 1)/4 + 1 (the first frame alone, then four frames a
latent frame); IMAGE batches are the frames. Decoding runs the causal decoder with its frame cache, so its
memory follows one latent frame, not the video; :func:`decode_tiled` also tiles space and time (VAEDecodeTiled's
tile_size/overlap and temporal_size/temporal_overlap) with blended seams.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from .state_dict import TensorIndex, block_count
from .tiling import _ramp, positions

PREFIXES = ("vae.", "first_stage_model.", "")
MARKER_21 = "encoder.downsamples.0.residual.0.gamma"
MARKER_22 = "encoder.downsamples.0.downsamples.0.residual.0.gamma"
TEMPORAL = 4  # frames per latent frame (after the first)


def find(index: TensorIndex) -> tuple[str, str] | None:
    """(prefix, kind) of a video VAE in the file — "wan21", "wan22", "hunyuan15" (:mod:`.hunyuan_vae`) or "ltxv"
    (:mod:`.ltxv_vae`) — or None."""
    from . import hunyuan_vae, ltxv_vae

    for prefix in PREFIXES:
        if prefix + MARKER_22 in index and prefix + "decoder.head.2.weight" in index:
            return prefix, "wan22"
        if prefix + MARKER_21 in index and prefix + "decoder.head.2.weight" in index:
            return prefix, "wan21"
    found = hunyuan_vae.find(index)
    if found is not None:
        return found, "hunyuan15"
    found = ltxv_vae.find(index)
    if found is not None:
        return found, "ltxv"
    return None


def read_config(index: TensorIndex, prefix: str, kind: str) -> dict[str, Any]:
    """An AutoencoderKLWan config from the shapes."""
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    base, in_channels = shape("encoder.conv1.weight")[:2]
    z_dim = shape("conv2.weight")[0]
    widths: list[int] = []
    temporal: list[bool] = []
    if kind == "wan22":
        levels = block_count(keys, "encoder.downsamples.")
        res = block_count(keys, "encoder.downsamples.0.downsamples.") - 1  # the last is the resample
        for i in range(levels):
            widths.append(shape(f"encoder.downsamples.{i}.downsamples.0.residual.6.weight")[0])
            if i < levels - 1:
                temporal.append(f"encoder.downsamples.{i}.downsamples.{res}.time_conv.weight" in keys)
        decoder_base = shape("decoder.head.2.weight")[1]
    else:
        items = block_count(keys, "encoder.downsamples.")
        resamples = [i for i in range(items) if f"encoder.downsamples.{i}.resample.1.weight" in keys]
        res = resamples[0] if resamples else items
        for start in [0, *(r + 1 for r in resamples)]:
            widths.append(shape(f"encoder.downsamples.{start}.residual.6.weight")[0])
        temporal = [f"encoder.downsamples.{r}.time_conv.weight" in keys for r in resamples]
        decoder_base = base
    patch = 2 if in_channels == 12 else None
    config: dict[str, Any] = {
        "base_dim": base, "z_dim": z_dim, "dim_mult": [w // base for w in widths], "num_res_blocks": res,
        "attn_scales": [], "temperal_downsample": temporal, "dropout": 0.0, "is_residual": kind == "wan22",
        "in_channels": in_channels, "out_channels": shape("decoder.head.2.weight")[0], "patch_size": patch,
        "scale_factor_temporal": TEMPORAL, "scale_factor_spatial": 2 ** (len(widths) - 1) * (patch or 1),
    }
    if kind == "wan22":
        from .families.wan import WAN22_MEAN, WAN22_STD

        config.update(decoder_base_dim=decoder_base, latents_mean=list(WAN22_MEAN), latents_std=list(WAN22_STD))
    return config


_RESIDUAL = ((".residual.0.gamma", ".norm1.gamma"), (".residual.2.", ".conv1."), (".residual.3.gamma", ".norm2.gamma"),
             (".residual.6.", ".conv2."), (".shortcut.", ".conv_shortcut."))
_NESTED = re.compile(r"^(encoder|decoder)\.(down|up)samples\.(\d+)\.(?:down|up)samples\.(\d+)\.(.*)$")


def convert_22(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Wan 2.2 VAE keys → diffusers' (the nested blocks; the rest as Wan 2.1's)."""
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    nested: dict[str, torch.Tensor] = {}
    flat: dict[str, torch.Tensor] = {}
    for key, tensor in state.items():
        match = _NESTED.match(key)
        if match is None:
            flat[key] = tensor
            continue
        side, direction, block, item, rest = match.groups()
        blocks = "down_blocks" if direction == "down" else "up_blocks"
        if rest.startswith(("residual.", "shortcut.")):
            name = f"{side}.{blocks}.{block}.resnets.{item}.{rest}"
            for old, new in _RESIDUAL:
                name = name.replace(old, new)
        else:
            name = f"{side}.{blocks}.{block}.{'downsampler' if direction == 'down' else 'upsampler'}.{rest}"
        nested[name] = tensor
    return {**convert_wan_vae_to_diffusers(flat), **nested}


def load(path: Path, dtype: torch.dtype, found: tuple[str, str], index: TensorIndex) -> Any:
    """The video VAE of a file, its weights checked against the architecture read from them."""
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    from .state_dict import read_state_dict
    from .weights import assemble

    prefix, kind = found
    if kind == "hunyuan15":
        from . import hunyuan_vae

        return hunyuan_vae.load(path, dtype, prefix, index)
    if kind == "ltxv":
        from . import ltxv_vae

        return ltxv_vae.load(path, dtype, prefix, index)
    config = read_config(index, prefix, kind)
    owned = (lambda key: key.startswith(prefix)) if prefix else None
    state, _ = read_state_dict(path, keys=owned, strip=prefix)
    state = convert_22(state) if kind == "wan22" else convert_wan_vae_to_diffusers(state)
    return assemble(AutoencoderKLWan, config, state, dtype, "VAE", path.name)


def is_video(vae: Any) -> bool:
    """Whether a VAE works on videos ([B, C, T, H, W] latents): Wan's (``z_dim``, ``scale_factor_temporal``) and
    HunyuanVideo 1.5's or LTX-Video's (``latent_channels``, ``temporal_compression_ratio``)."""
    config = getattr(vae, "config", None)
    return (hasattr(config, "z_dim") and hasattr(config, "scale_factor_temporal")) or (
        hasattr(config, "latent_channels") and hasattr(config, "temporal_compression_ratio"))


def spatial(vae: Any) -> int:
    """Pixels per latent cell."""
    config = vae.config
    return int(getattr(config, "scale_factor_spatial", None) or config.spatial_compression_ratio)


def temporal(vae: Any) -> int:
    """Frames per latent frame after the first (Wan and HunyuanVideo 1.5: 4, LTX-Video: 8)."""
    config = vae.config
    return int(getattr(config, "scale_factor_temporal", None) or config.temporal_compression_ratio)


def latent_channels(vae: Any) -> int:
    config = vae.config
    return int(getattr(config, "z_dim", None) or config.latent_channels)


def _decode_call(vae: Any, latent: torch.Tensor) -> torch.Tensor:
    """One decoder pass on the device; a kind whose latents need more than diffusers' ``decode`` (LTX-Video's
    statistics and timestep) installs ``decode_latents`` on the module."""
    custom = getattr(vae, "decode_latents", None)
    if custom is not None:
        return custom(latent)  # type: ignore[no-any-return]
    return vae.decode(latent, return_dict=False)[0]  # type: ignore[no-any-return]


def _encode_call(vae: Any, video: torch.Tensor) -> torch.Tensor:
    """One encoder pass: the distribution's mode (ComfyUI's encode is deterministic), or the kind's own."""
    custom = getattr(vae, "encode_video", None)
    if custom is not None:
        return custom(video)  # type: ignore[no-any-return]
    return vae.encode(video).latent_dist.mode()  # type: ignore[no-any-return]


def _device_dtype(vae: Any) -> tuple[torch.device, torch.dtype]:
    parameter = next(vae.parameters())
    return parameter.device, parameter.dtype


def _frames(latent_frames: int, step: int = TEMPORAL) -> int:
    return step * (latent_frames - 1) + 1


def _to_images(video: torch.Tensor) -> torch.Tensor:
    """[B, C, F, H, W] in [-1, 1] → IMAGE [B·F, H, W, C] in [0, 1]."""
    return ((video.float() + 1.0) / 2.0).clamp(0, 1).permute(0, 2, 3, 4, 1).flatten(0, 1).cpu()


def decode(vae: Any, latents: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
    """Video latents [B, C, T, h, w] (a 4-D latent is one frame) → IMAGE frames [B·F, H, W, 3]."""
    device, dtype = _device_dtype(vae)
    if latents.ndim == 4:
        latents = latents.unsqueeze(2)
    videos = []
    for sample in latents.split(1):
        if check is not None:
            check()
        videos.append(_to_images(_decode_call(vae, sample.to(device, dtype))))
    return torch.cat(videos)


def image_channels(vae: Any) -> int:
    """Image channels the VAE takes: 3, or 4 for Qwen-Image Layered's RGBA VAE (Wan 2.2's 12 input channels
    are 2×2 patches of RGB; HunyuanVideo 1.5's and LTX-Video's ``in_channels`` are the image's own)."""
    if not hasattr(vae.config, "z_dim"):
        return int(vae.config.in_channels)
    patch = int(vae.config.patch_size or 1)
    return int(vae.config.in_channels) // (patch * patch)


def _to_video(pixels: torch.Tensor, multiple: int, wanted: int = 3) -> torch.Tensor:
    """IMAGE frames [F, H, W, C] → [1, C, F, H, W] in [-1, 1]."""
    from .vae_ops import crop_to_multiple

    return (crop_to_multiple(pixels, multiple, wanted).movedim(-1, 0).unsqueeze(0) * 2.0 - 1.0).float()


def encode(vae: Any, pixels: torch.Tensor, check: Callable[[], None] | None = None) -> torch.Tensor:
    """IMAGE frames [F, H, W, 3] → one video latent [1, C, (F − 1)/4 + 1, H/s, W/s] (the distribution's mode,
    as ComfyUI: deterministic)."""
    device, dtype = _device_dtype(vae)
    if check is not None:
        check()
    video = _to_video(_whole_groups(vae, pixels), spatial(vae), image_channels(vae)).to(device, dtype)
    return _encode_call(vae, video).float().cpu()


def _whole_groups(vae: Any, pixels: torch.Tensor) -> torch.Tensor:
    """The frames a causal video VAE can encode: Wan's take any count; HunyuanVideo 1.5's read the first frame
    and whole groups of 4 (ComfyUI drops the rest); LTX-Video's must be 1 + 8k, as ComfyUI requires."""
    step = temporal(vae)
    keep = 1 + (pixels.shape[0] - 1) // step * step
    if keep == pixels.shape[0] or hasattr(vae.config, "z_dim"):
        return pixels
    if getattr(vae, "encode_video", None) is not None:  # LTX-Video
        raise ValueError(f"LTX-Video's VAE encodes 1 + 8·k frames (1, 9, 17 …), not {pixels.shape[0]}")
    return pixels[:keep]


def decode_tiled(vae: Any, latents: torch.Tensor, tile: int, overlap: int, tile_t: int, overlap_t: int,
                 check: Callable[[], None] | None = None) -> torch.Tensor:
    """Decode in tiles of ``tile`` latent cells (``overlap`` shared) and chunks of ``tile_t`` latent frames
    (``overlap_t`` shared), blended with linear ramps over the shared parts.

    A chunk that starts at latent frame k > 0 is decoded fresh: its first latent frame gives one frame (the
    causal VAE's first-frame rule), placed at frame 4k — the last of the four frames latent k stands for —
    and the chunk's later frames follow; the earlier three come from the chunk before (LTX-Video: 8k, 8, 7)."""
    device, dtype = _device_dtype(vae)
    step = temporal(vae)
    if latents.ndim == 4:
        latents = latents.unsqueeze(2)
    b, _, frames, height, width = latents.shape
    scale = spatial(vae)
    out_f, out_h, out_w = _frames(frames, step), height * scale, width * scale
    output = torch.zeros(b, 3, out_f, out_h, out_w)
    weight = torch.zeros(1, 1, out_f, out_h, out_w)
    tile, tile_t = max(1, tile), max(2, tile_t)
    overlap = min(overlap, tile // 2)
    # chunks after the first start with a first-frame latent: they must share one latent frame at least
    overlap_t = max(1, min(overlap_t, tile_t // 2)) if tile_t < frames else 0
    frame_overlap = max(1, step * overlap_t - step + 1) if overlap_t else 0
    for t0 in positions(frames, tile_t, overlap_t):
        f0 = step * t0
        for y0 in positions(height, tile, overlap):
            for x0 in positions(width, tile, overlap):
                if check is not None:
                    check()
                piece = latents[:, :, t0:t0 + tile_t, y0:y0 + tile, x0:x0 + tile].to(device, dtype)
                video = _decode_call(vae, piece).float().cpu()
                pf, ph, pw = video.shape[-3:]
                oy, ox = y0 * scale, x0 * scale
                mask = (_ramp(pf, frame_overlap, f0 == 0, f0 + pf >= out_f)[:, None, None]
                        * _ramp(ph, overlap * scale, oy == 0, oy + ph >= out_h)[None, :, None]
                        * _ramp(pw, overlap * scale, ox == 0, ox + pw >= out_w)[None, None, :])[None, None]
                output[:, :, f0:f0 + pf, oy:oy + ph, ox:ox + pw] += video * mask
                weight[:, :, f0:f0 + pf, oy:oy + ph, ox:ox + pw] += mask
    return _to_images(output / weight.clamp_min(1e-8))


def encode_tiled(vae: Any, pixels: torch.Tensor, tile: int, overlap: int, tile_t: int, overlap_t: int,
                 check: Callable[[], None] | None = None) -> torch.Tensor:
    """Encode frames in tiles of ``tile`` pixels and chunks of ``tile_t`` frames (``overlap``/``overlap_t``
    shared), blended in latent space; a chunk starting at latent frame k > 0 starts at frame 4k (LTX-Video: 8k)."""
    device, dtype = _device_dtype(vae)
    scale, step = spatial(vae), temporal(vae)
    video = _to_video(_whole_groups(vae, pixels), scale, image_channels(vae))
    frames = (video.shape[2] - 1) // step + 1
    height, width = video.shape[-2] // scale, video.shape[-1] // scale
    chunk = max(1, (tile_t - 1) // step + 1)
    chunk_overlap = min(max(0, overlap_t // step), chunk // 2)
    cells, cell_overlap = max(1, tile // scale), min(overlap // scale, max(1, tile // scale) // 2)
    channels = latent_channels(vae)
    output = torch.zeros(1, channels, frames, height, width)
    weight = torch.zeros(1, 1, frames, height, width)
    for t0 in positions(frames, chunk, chunk_overlap):
        f0 = step * t0
        count = min(chunk, frames - t0)
        for y0 in positions(height, cells, cell_overlap):
            for x0 in positions(width, cells, cell_overlap):
                if check is not None:
                    check()
                piece = video[:, :, f0:f0 + _frames(count, step), y0 * scale:(y0 + cells) * scale,
                              x0 * scale:(x0 + cells) * scale].to(device, dtype)
                latent = _encode_call(vae, piece).float().cpu()
                pt, ph, pw = latent.shape[-3:]
                mask = (_ramp(pt, chunk_overlap, t0 == 0, t0 + pt >= frames)[:, None, None]
                        * _ramp(ph, cell_overlap, y0 == 0, y0 + ph >= height)[None, :, None]
                        * _ramp(pw, cell_overlap, x0 == 0, x0 + pw >= width)[None, None, :])[None, None]
                output[:, :, t0:t0 + pt, y0:y0 + ph, x0:x0 + pw] += latent * mask
                weight[:, :, t0:t0 + pt, y0:y0 + ph, x0:x0 + pw] += mask
    return output / weight.clamp_min(1e-8)
