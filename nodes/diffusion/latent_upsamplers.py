"""HunyuanVideo 1.5's latent upsamplers (ComfyUI's ``LATENT_UPSCALE_MODEL``, folder ``latent_upscale_models``).

Two small 3-D convolution networks that refine a latent already resized to the target size (the resize itself
is HunyuanVideo15LatentUpscaleWithModel's ``common_upscale``); neither changes the latent's shape:

- ``720p`` (``hunyuanvideo15_latent_upsampler_720p``): ComfyUI's ``SRModel3DV2`` — an input convolution,
  residual blocks of three convolutions with SiLU between, an output convolution (``in_conv``, ``blocks.N.block.
  {0,2,4}``, ``out_conv``);
- ``1080p`` (``hunyuanvideo15_latent_upsampler_1080p``): ComfyUI's ``Upsampler`` — an input convolution plus the
  latent repeated to its width, stages of RMS-normed residual blocks (the VAE's), RMS norm, SiLU, an output
  convolution (``conv_in``, ``up.N.block.M.{norm1,conv1,norm2,conv2,nin_shortcut}``, ``norm_out``,
  ``conv_out``).

Every convolution is the HunyuanVideo VAE's causal one: replicate padding, two frames before and none after.
diffusers 0.42 has no such module (its latent upsamplers are LTX-Video's), so they are written here with
ComfyUI's state-dict names; the architecture is read from the tensors as ComfyUI's LatentUpscaleModelLoader
reads it. LTX-Video's and LTX-2's latent upsampler (``post_upsample_res_blocks.``; only LTX-2's templates load it
here, and LTX-2 is not supported) is recognised and refused by name.
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

log = logging.getLogger(__name__)

MARK_720P = "blocks.0.block.0.conv.weight"
MARK_1080P = "up.0.block.0.conv1.conv.weight"
MARK_LTXV = "post_upsample_res_blocks.0.conv2.bias"


class CausalConv3d(nn.Module):
    """A 3-D convolution over replicate padding, causal in time (ComfyUI's ``VideoConv3d``)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__()
        half = kernel_size // 2
        self.padding = (half, half, half, half, kernel_size - 1, 0)
        self.conv = nn.Conv3d(in_channels, out_channels, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, self.padding, mode="replicate") if any(self.padding) else x)  # type: ignore[no-any-return]


class RMSNorm(nn.Module):
    """Channel RMS norm with a learned gain (``gamma``, shaped to broadcast over frames and pixels)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.scale = channels ** 0.5
        self.gamma = nn.Parameter(torch.ones(channels, 1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1) * self.scale * self.gamma


class ResnetBlock(nn.Module):
    """norm → SiLU → conv, twice, plus the input (through a 1×1×1 convolution when the width changes)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = RMSNorm(in_channels), CausalConv3d(in_channels, out_channels)
        self.norm2, self.conv2 = RMSNorm(out_channels), CausalConv3d(out_channels, out_channels)
        self.nin_shortcut = CausalConv3d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.silu(self.norm2(self.conv1(F.silu(self.norm1(x))))))
        return (x if self.nin_shortcut is None else self.nin_shortcut(x)) + h


class ResidualBlock(nn.Module):
    """Three convolutions with SiLU between, plus the input (``block.0``, ``block.2``, ``block.4``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(CausalConv3d(channels, channels), nn.SiLU(), CausalConv3d(channels, channels),
                                   nn.SiLU(), CausalConv3d(channels, channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)  # type: ignore[no-any-return]


class Upsampler720p(nn.Module):
    """ComfyUI's ``SRModel3DV2`` (its ``global_residual`` is off in the loader, so it is left out)."""

    kind = "720p"

    def __init__(self, in_channels: int, out_channels: int, hidden_channels: int, num_blocks: int) -> None:
        super().__init__()
        self.in_conv = CausalConv3d(in_channels, hidden_channels)
        self.blocks = nn.ModuleList([ResidualBlock(hidden_channels) for _ in range(num_blocks)])
        self.out_conv = CausalConv3d(hidden_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.in_conv(x)
        for block in self.blocks:
            y = block(y)
        return self.out_conv(y)  # type: ignore[no-any-return]


class Stage(nn.Module):
    def __init__(self, blocks: list[ResnetBlock]) -> None:
        super().__init__()
        self.block = nn.ModuleList(blocks)


class Upsampler1080p(nn.Module):
    """ComfyUI's ``Upsampler``: ``block_out_channels`` stages of ``blocks`` residual blocks each."""

    kind = "1080p"

    def __init__(self, z_channels: int, out_channels: int, block_out_channels: tuple[int, ...], blocks: int = 3
                 ) -> None:
        super().__init__()
        if block_out_channels[0] % z_channels:
            raise ValueError(f"a first width of {block_out_channels[0]} is not a multiple of {z_channels} channels")
        self.z_channels, self.width = z_channels, block_out_channels[0]
        self.conv_in = CausalConv3d(z_channels, block_out_channels[0])
        stages, width = [], block_out_channels[0]
        for target in block_out_channels:
            stages.append(Stage([ResnetBlock(width if j == 0 else target, target) for j in range(blocks)]))
            width = target
        self.up = nn.ModuleList(stages)
        self.norm_out = RMSNorm(width)
        self.conv_out = CausalConv3d(width, out_channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.conv_in(z) + z.repeat_interleave(self.width // self.z_channels, dim=1)
        for stage in self.up:
            for block in stage.block:
                x = block(x)
        return self.conv_out(F.silu(self.norm_out(x)))  # type: ignore[no-any-return]


def _count(state: dict[str, Any], prefix: str, suffix: str) -> int:
    return len([k for k in state if k.startswith(prefix) and k.endswith(suffix)])


def build(state: dict[str, torch.Tensor], name: str = "the file") -> nn.Module:
    """The upsampler ``state`` holds (its weights loaded, strictly), in float32 on the CPU."""
    if MARK_720P in state:
        module: nn.Module = Upsampler720p(
            int(state["in_conv.conv.weight"].shape[1]), int(state["out_conv.conv.weight"].shape[0]),
            int(state["in_conv.conv.weight"].shape[0]), _count(state, "blocks.", ".block.0.conv.weight"))
    elif MARK_1080P in state:
        state = {k.replace("nin_shortcut.weight", "nin_shortcut.conv.weight")
                 .replace("nin_shortcut.bias", "nin_shortcut.conv.bias"): v for k, v in state.items()}
        stages = _count(state, "up.", ".block.0.conv1.conv.weight")
        widths = tuple(int(state[f"up.{i}.block.0.conv1.conv.weight"].shape[0]) for i in range(stages))
        module = Upsampler1080p(int(state["conv_in.conv.weight"].shape[1]), int(state["conv_out.conv.weight"].shape[0]),
                                widths, _count(state, "up.0.block.", ".conv1.conv.weight"))
    elif MARK_LTXV in state:
        raise ValueError(f"LatentUpscaleModelLoader: {name} is an LTX-Video / LTX-2 latent upsampler "
                         f"(post_upsample_res_blocks.*), which is not supported yet; only HunyuanVideo 1.5's 720p and "
                         f"1080p latent upsamplers load")
    else:
        raise ValueError(f"LatentUpscaleModelLoader: {name} is not a latent upscale model: it has neither "
                         f"{MARK_720P} (HunyuanVideo 1.5 720p) nor {MARK_1080P} (1080p); found e.g. "
                         f"{sorted(state)[:3]}")
    missing, unexpected = module.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    if missing or unexpected:
        raise ValueError(f"LatentUpscaleModelLoader: {name} does not match the {module.kind} HunyuanVideo 1.5 "  # type: ignore[attr-defined]
                         f"latent upsampler read from its shapes: missing {missing[:4]}, unexpected {unexpected[:4]}")
    log.info("latent upsampler %s: HunyuanVideo 1.5 %s", name, module.kind)  # type: ignore[attr-defined]
    return module.eval().requires_grad_(False)


def resample(module: nn.Module, latent: torch.Tensor) -> torch.Tensor:
    """The refined latent (float32 on the CPU), computed where and in the dtype the module's weights are."""
    weight = next(module.parameters())
    with torch.no_grad():
        out = module(latent.to(weight.device, weight.dtype))
    return out.float().cpu()  # type: ignore[no-any-return]
