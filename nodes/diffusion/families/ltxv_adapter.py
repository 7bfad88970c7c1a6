"""Feeding diffusers' LTXVideoTransformer3DModel the way ComfyUI feeds its LTXV model (``model_base.LTXV``).

Per conditioning entry (:meth:`LTXVAdapter.encode`): T5's states and their ``attention_mask`` (the ``ltxv``
recipe pads to 128 tokens; padded tokens are left out of cross-attention), ``frame_rate`` (LTXVConditioning;
25 when absent), and — when the latent carries a noise mask (LTXVImgToVideo) — the mask itself: each token's
timestep is σ times its mask value, so the image's frames are read as clean (ComfyUI's ``process_timestep``),
and the sampler keeps them clean (``inpaint_clean``: ComfyUI's ``scale_latent_inpaint``).

:meth:`LTXVAdapter.apply` packs the latent [B, 128, F, H, W] into tokens in (frame, row, column) order and
gives the network its positions as ComfyUI computes them: latent coordinates times (8, 32, 32) — with
0.9.5+'s causal fix, frame 8f + 1 − 8 clamped at 0 — and the frame coordinate divided by the frame rate.
diffusers divides them by its base sizes (20, 2048, 2048), ComfyUI's ``max_pos``. The timestep is 1000·σ.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

FRAME_RATE = 25.0
SCALES = (8, 32, 32)  # pixels (frames) per latent cell in time, height, width


def positions(batch: int, frames: int, height: int, width: int, frame_rate: torch.Tensor, causal: bool,
              device: torch.device) -> torch.Tensor:
    """[B, 3, F·H·W] token positions in pixels and seconds·fps (ComfyUI's ``fractional_coords``)."""
    grid = torch.meshgrid(torch.arange(frames, device=device, dtype=torch.float32),
                          torch.arange(height, device=device, dtype=torch.float32),
                          torch.arange(width, device=device, dtype=torch.float32), indexing="ij")
    coords = torch.stack(grid).flatten(1) * torch.tensor(SCALES, device=device, dtype=torch.float32)[:, None]
    if causal:
        coords[0] = (coords[0] + 1 - SCALES[0]).clamp(min=0)
    coords = coords[None].repeat(batch, 1, 1)
    coords[:, 0] = coords[:, 0] / frame_rate.to(device, torch.float32).view(-1, 1)
    return coords


class LTXVAdapter:
    """See the module docstring (``conds.ModelAdapter``)."""

    spatial_keys: frozenset[str] = frozenset()

    def __init__(self, config: dict[str, Any], causal: bool = False) -> None:
        self.config = config
        self.causal = causal
        self.inpaint_clean = True

    def activation_bytes(self, shape: tuple[int, ...]) -> int:
        """A generous estimate of one call's working memory (tokens through a block's widest tensors, 2 bytes)."""
        if len(shape) != 5:
            return 0
        tokens = int(shape[2]) * int(shape[3]) * int(shape[4])
        width = int(self.config["num_attention_heads"]) * int(self.config["attention_head_dim"])
        return 2 * int(shape[0]) * tokens * 8 * width * 2

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        device, dtype = ctx.device, ctx.dtype
        out: dict[str, torch.Tensor] = {"context": embedding.to(device, dtype),
                                        "frame_rate": torch.tensor([float(options.get("frame_rate", FRAME_RATE))],
                                                                   device=device)}
        mask = options.get("attention_mask")
        out["context_mask"] = (mask.to(device).float() if mask is not None
                               else torch.ones(embedding.shape[:2], device=device))
        denoise = options.get("concat_mask", ctx.denoise_mask)
        if denoise is not None and denoise.ndim == 5:
            size = tuple(int(n) for n in ctx.latent_shape[2:])
            scale = denoise[:, :1].float().cpu()
            if tuple(scale.shape[2:]) != size:
                scale = F.interpolate(scale, size=size, mode="nearest")
            out["token_scale"] = scale.flatten(1).to(device)
        return out

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        batch, channels, frames, height, width = x_in.shape
        tokens = x_in.flatten(2).transpose(1, 2)
        steps = timestep.float() * 1000.0
        if "token_scale" in conds:
            steps = conds["token_scale"].float() * steps.view(-1, 1)
        else:
            steps = steps.view(-1, 1).expand(batch, 1)
        coords = positions(batch, frames, height, width, conds["frame_rate"].view(-1).expand(batch), self.causal,
                           x_in.device)
        output: torch.Tensor = module(hidden_states=tokens, encoder_hidden_states=conds["context"].to(x_in.dtype),
                                      timestep=steps, encoder_attention_mask=conds["context_mask"],
                                      video_coords=coords, return_dict=False)[0]
        return output.transpose(1, 2).reshape(batch, -1, frames, height, width)
