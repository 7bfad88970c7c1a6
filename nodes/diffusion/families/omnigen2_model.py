"""OmniGen2's diffusion transformer, written for Inkgraph under ComfyUI's key names so that ComfyUI's
repackaged ``omnigen2_fp16.safetensors`` loads as it is (diffusers has no OmniGen2 class).

The network is Lumina 2's NextDiT with OmniGen2's additions, following the reference implementation as
ComfyUI runs it:

- three refiners before the joint layers: the caption (``context_refiner``, no modulation), the noisy
  image (``noise_refiner``) and the reference images (``ref_image_refiner``, their tokens embedded by their
  own ``ref_image_patch_embedder`` plus a learned ``image_index_embedding`` row per reference);
- one sequence ``[caption, reference 1, reference 2 …, image]`` through the ``layers``; the prediction is
  read from the image's tokens;
- 3-axis rotary positions (:func:`position_ids`): caption token i at (i, i, i); each reference at
  (shift, row, column) where ``shift`` starts at the caption's length and grows by the larger side (in
  tokens) of each reference; the image at the shift after the last reference. θ = 10,000, the head width
  in three equal axes (40, 40, 40 at 120), rotated as interleaved pairs;
- the time embedding: sinusoidal (cos first) of 1000·t, then two linear layers at min(width, 1024) wide;
  each modulated block gets (scale, gate, scale, gate) of it and tanh-gates its residuals; the output layer
  is a LayerNorm without affine scaled by (1 + a linear of the time embedding).

The module computes the network only: the adapter (``families/omnigen2.py``) feeds it t = 1 − σ and negates
its output, as ComfyUI's ``forward`` does. The architecture (:class:`Architecture`) is read from the
tensors by the family; every linear layer is a plain ``nn.Linear``, so fp8 storage, scaled-fp8 files, GGUF
weights and LoRA patches reach it through the shared machinery.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

PATCH = 2
THETA = 10000.0
TIME_FEATURES = 256
TIME_SCALE = 1000.0


@dataclass(frozen=True)
class Architecture:
    """The sizes of one OmniGen2 transformer (the released model: width 2520, 21 heads of 120, 7 key/value
    heads, 32 layers, 2 refiners, MLP 10240, caption 2048, 16 latent channels)."""

    width: int
    heads: int
    kv_heads: int
    layers: int
    refiners: int
    mlp: int
    caption: int
    in_channels: int
    out_channels: int
    time_width: int
    axes: tuple[int, int, int]
    references: int = 5  # rows of image_index_embedding: the most reference images the model tells apart
    norm_eps: float = 1e-5

    @property
    def head_dim(self) -> int:
        return self.width // self.heads


def timestep_features(t: torch.Tensor, channels: int = TIME_FEATURES, scale: float = TIME_SCALE) -> torch.Tensor:
    """Sinusoidal features [B, channels] (float32) of ``scale``·t: cosines first, then sines, frequencies
    exp(−ln(10000)·k / (channels/2)) (diffusers' Timesteps with flip_sin_to_cos and no shift)."""
    half = channels // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = scale * t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)


def position_ids(text: int, references: list[tuple[int, int]], image: tuple[int, int]) -> torch.Tensor:
    """Rotary positions [text + Σ reference tokens + image tokens, 3] (int64) of the joint sequence; sizes
    are in tokens (rows, columns). See the module's docstring for the rule."""
    parts = [torch.arange(text, dtype=torch.int64)[:, None].expand(text, 3)]
    shift = text
    for rows, cols in [*references, image]:
        r = torch.arange(rows, dtype=torch.int64)[:, None].expand(rows, cols).reshape(-1)
        c = torch.arange(cols, dtype=torch.int64)[None, :].expand(rows, cols).reshape(-1)
        parts.append(torch.stack([torch.full_like(r, shift), r, c], dim=-1))
        shift += max(rows, cols)
    return torch.cat(parts)


def rotary(ids: torch.Tensor, axes: tuple[int, ...], theta: float = THETA) -> torch.Tensor:
    """(cos, sin) [2, L, head_dim/2] (float32) of positions ``ids`` [L, len(axes)], the axes' frequencies
    concatenated in order."""
    angles = []
    for axis, dim in enumerate(axes):
        omega = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
        angles.append(ids[:, axis].double()[:, None] * omega[None])
    angle = torch.cat(angles, dim=-1)
    return torch.stack([torch.cos(angle), torch.sin(angle)]).float()


def apply_rotary(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """``x`` [B, L, H, D] rotated by ``freqs`` [2, L, D/2] in interleaved pairs (x0, x1), in float32."""
    cos, sin = freqs[0][None, :, None].to(x.device), freqs[1][None, :, None].to(x.device)
    pairs = x.float().reshape(*x.shape[:-1], -1, 2)
    x0, x1 = pairs[..., 0], pairs[..., 1]
    out = torch.stack([cos * x0 - sin * x1, sin * x0 + cos * x1], dim=-1)
    return out.reshape(x.shape).to(x.dtype)


def pad_to_patch(x: torch.Tensor, patch: int = PATCH) -> torch.Tensor:
    """The last two dims padded up to multiples of the patch, wrapping around (ComfyUI's pad_to_patch_size)."""
    pad_h, pad_w = (-x.shape[-2]) % patch, (-x.shape[-1]) % patch
    return F.pad(x, (0, pad_w, 0, pad_h), mode="circular") if pad_h or pad_w else x


def patchify(x: torch.Tensor, patch: int = PATCH) -> torch.Tensor:
    """[B, C, H, W] → [B, (H/p)·(W/p), p·p·C], tokens row-major, each token's features (p1, p2, c)."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // patch, patch, w // patch, patch)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(tokens: torch.Tensor, rows: int, cols: int, patch: int = PATCH) -> torch.Tensor:
    """The inverse of :func:`patchify`: [B, rows·cols, p·p·C] → [B, C, rows·p, cols·p]."""
    b = tokens.shape[0]
    x = tokens.reshape(b, rows, cols, patch, patch, -1)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(b, -1, rows * patch, cols * patch)


class Attention(nn.Module):
    """Self-attention with grouped key/value heads and per-head RMS norms on q and k."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        head = arch.head_dim
        self.heads, self.kv_heads, self.head_dim = arch.heads, arch.kv_heads, head
        self.to_q = nn.Linear(arch.width, arch.heads * head, bias=False)
        self.to_k = nn.Linear(arch.width, arch.kv_heads * head, bias=False)
        self.to_v = nn.Linear(arch.width, arch.kv_heads * head, bias=False)
        self.norm_q = nn.RMSNorm(head, eps=1e-5)
        self.norm_k = nn.RMSNorm(head, eps=1e-5)
        self.to_out = nn.ModuleList([nn.Linear(arch.heads * head, arch.width, bias=False)])

    def forward(self, x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        q = self.norm_q(self.to_q(x).view(b, n, self.heads, self.head_dim))
        k = self.norm_k(self.to_k(x).view(b, n, self.kv_heads, self.head_dim))
        v = self.to_v(x).view(b, n, self.kv_heads, self.head_dim)
        q, k = apply_rotary(q, freqs), apply_rotary(k, freqs)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        if self.kv_heads < self.heads:
            k = k.repeat_interleave(self.heads // self.kv_heads, dim=1)
            v = v.repeat_interleave(self.heads // self.kv_heads, dim=1)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out[0](out.transpose(1, 2).reshape(b, n, -1))  # type: ignore[no-any-return]


class FeedForward(nn.Module):
    """SwiGLU: linear_2(silu(linear_1(x)) · linear_3(x))."""

    def __init__(self, width: int, inner: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(width, inner, bias=False)
        self.linear_2 = nn.Linear(inner, width, bias=False)
        self.linear_3 = nn.Linear(width, inner, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)) * self.linear_3(x))  # type: ignore[no-any-return]


class Modulation(nn.Module):
    """A modulated block's ``norm1``: RMS norm scaled by (1 + scale), and the block's gates and MLP scale,
    all from the time embedding."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.linear = nn.Linear(arch.time_width, 4 * arch.width)
        self.norm = nn.RMSNorm(arch.width, eps=arch.norm_eps)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, ...]:
        scale_msa, gate_msa, scale_mlp, gate_mlp = self.linear(F.silu(temb)).chunk(4, dim=1)
        return self.norm(x) * (1 + scale_msa[:, None]), gate_msa, scale_mlp, gate_mlp


class Block(nn.Module):
    """One transformer block; ``modulated`` ones (all but the caption refiner's) are driven by time."""

    def __init__(self, arch: Architecture, modulated: bool = True) -> None:
        super().__init__()
        self.modulated = modulated
        self.attn = Attention(arch)
        self.feed_forward = FeedForward(arch.width, arch.mlp)
        self.norm1: nn.Module = Modulation(arch) if modulated else nn.RMSNorm(arch.width, eps=arch.norm_eps)
        self.ffn_norm1 = nn.RMSNorm(arch.width, eps=arch.norm_eps)
        self.norm2 = nn.RMSNorm(arch.width, eps=arch.norm_eps)
        self.ffn_norm2 = nn.RMSNorm(arch.width, eps=arch.norm_eps)

    def forward(self, x: torch.Tensor, freqs: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        if not self.modulated:
            x = x + self.norm2(self.attn(self.norm1(x), freqs))
            return x + self.ffn_norm2(self.feed_forward(self.ffn_norm1(x)))  # type: ignore[no-any-return]
        normed, gate_msa, scale_mlp, gate_mlp = self.norm1(x, temb)
        x = x + gate_msa[:, None].tanh() * self.norm2(self.attn(normed, freqs))
        mlp = self.feed_forward(self.ffn_norm1(x) * (1 + scale_mlp[:, None]))
        return x + gate_mlp[:, None].tanh() * self.ffn_norm2(mlp)  # type: ignore[no-any-return]


class TimestepEmbedder(nn.Module):
    def __init__(self, features: int, width: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(features, width)
        self.linear_2 = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))  # type: ignore[no-any-return]


class TimeCaptionEmbed(nn.Module):
    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.timestep_embedder = TimestepEmbedder(TIME_FEATURES, arch.time_width)
        self.caption_embedder = nn.Sequential(nn.RMSNorm(arch.caption, eps=arch.norm_eps),
                                              nn.Linear(arch.caption, arch.width))


class NormOut(nn.Module):
    """LayerNorm (no affine) scaled by 1 + linear_1(silu(time)), then the projection to patches."""

    def __init__(self, arch: Architecture) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(arch.time_width, arch.width)
        self.norm = nn.LayerNorm(arch.width, eps=1e-6, elementwise_affine=False)
        self.linear_2 = nn.Linear(arch.width, PATCH * PATCH * arch.out_channels)

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        scale = self.linear_1(F.silu(temb).to(x.dtype))
        return self.linear_2(self.norm(x) * (1 + scale)[:, None])  # type: ignore[no-any-return]


class OmniGen2Transformer(nn.Module):
    """OmniGen2's transformer under ComfyUI's parameter names (see the module's docstring)."""

    def __init__(self, arch: Architecture | dict[str, Any]) -> None:
        super().__init__()
        if isinstance(arch, dict):
            arch = Architecture(**{**arch, "axes": tuple(arch["axes"])})
        self.arch = arch
        tokens = PATCH * PATCH * arch.in_channels
        self.x_embedder = nn.Linear(tokens, arch.width)
        self.ref_image_patch_embedder = nn.Linear(tokens, arch.width)
        self.time_caption_embed = TimeCaptionEmbed(arch)
        self.noise_refiner = nn.ModuleList([Block(arch) for _ in range(arch.refiners)])
        self.ref_image_refiner = nn.ModuleList([Block(arch) for _ in range(arch.refiners)])
        self.context_refiner = nn.ModuleList([Block(arch, modulated=False) for _ in range(arch.refiners)])
        self.layers = nn.ModuleList([Block(arch) for _ in range(arch.layers)])
        self.norm_out = NormOut(arch)
        self.image_index_embedding = nn.Parameter(torch.zeros(arch.references, arch.width))

    def forward(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor,
                references: list[torch.Tensor] | tuple[()] = ()) -> torch.Tensor:
        """The network's output [B, out_channels, H, W] for the latent ``x`` [B, C, H, W], the model's time
        ``t`` [B] (1 − σ), the caption states ``context`` [B, T, caption] (every token attended) and reference
        latents [B, C, h, w]; latents of sizes that are not patch multiples are padded (wrapping around) and
        the output cropped back, as ComfyUI's forward does."""
        arch = self.arch
        if len(references) > arch.references:
            raise ValueError(f"OmniGen2 tells apart {arch.references} reference images; {len(references)} given")
        dtype = x.dtype
        height, width = x.shape[-2:]
        x = pad_to_patch(x)
        references = [pad_to_patch(ref) for ref in references]
        rows, cols = x.shape[-2] // PATCH, x.shape[-1] // PATCH
        embed = self.time_caption_embed
        temb = embed.timestep_embedder(timestep_features(t).to(dtype))
        text = embed.caption_embedder(context.to(dtype))
        sizes = [(ref.shape[-2] // PATCH, ref.shape[-1] // PATCH) for ref in references]
        freqs = rotary(position_ids(text.shape[1], sizes, (rows, cols)), arch.axes)
        text_len = text.shape[1]
        ref_len = sum(r * c for r, c in sizes)

        for block in self.context_refiner:
            text = block(text, freqs[:, :text_len])
        image = self.x_embedder(patchify(x))
        for block in self.noise_refiner:
            image = block(image, freqs[:, text_len + ref_len:], temb)
        parts = [text]
        if references:
            index = self.image_index_embedding.to(dtype)
            refs = torch.cat([self.ref_image_patch_embedder(patchify(ref.to(dtype))) + index[j]
                              for j, ref in enumerate(references)], dim=1)
            for block in self.ref_image_refiner:
                refs = block(refs, freqs[:, text_len:text_len + ref_len], temb)
            parts.append(refs)
        parts.append(image)
        hidden = torch.cat(parts, dim=1)
        for block in self.layers:
            hidden = block(hidden, freqs, temb)
        out = self.norm_out(hidden, temb)[:, -rows * cols:]
        return unpatchify(out, rows, cols)[..., :height, :width]
