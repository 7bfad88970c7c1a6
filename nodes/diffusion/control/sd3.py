"""SD3 and SD3.5 ControlNets, as diffusers' SD3ControlNetModel.

- InstantX's SD3 (medium) ControlNets, diffusers layout: an MMDiT of their own (patch embedding, context and
  pooled embedders, joint blocks); an inpainting one takes a mask channel after the hint (ControlNetInpainting-
  AliMamaApply).
- Stability's SD3.5 large ControlNets (``sd3.5_large_controlnet_{blur,canny,depth}.safetensors``): image-only
  DiT blocks fed the main model's patch embedding of the latent plus a sin-cos position table computed for
  the latent's size (as ComfyUI, which lends the main model's ``x_embedder``); the file's ``control_type``
  selects the hint's preprocessing (canny: ×127.5+0.5, depth: 1 − x, blur: none — ComfyUI's).

Both take the hint VAE-encoded into SD3's latent space (InstantX's without SD3's shift, as ComfyUI), and their
per-block outputs are spread over the main model's joint blocks, each repeated in a row, and added to its image
tokens after each block.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

import torch

from ..families.base import LatentFormat
from ..families.flux import pad_to_patch
from ..state_dict import TensorIndex, block_count
from .base import ControlDetected, ControlInputs, ControlKind, ControlNet, Residuals, repeat_blocks


class SD3ControlNet(ControlKind):
    """InstantX's SD3 ControlNets (canny, pose, tile, inpainting), diffusers layout."""

    name = "sd3_controlnet"
    families = frozenset({"sd3"})
    compression = 1
    latent_input = True

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if "pos_embed_input.proj.weight" not in index or "controlnet_blocks.0.weight" not in index:
            return None
        if "transformer_blocks.0.adaLN_modulation.1.bias" in index or "context_embedder.weight" not in index:
            return None
        keys = dict.fromkeys(index)
        width, channels, patch, _ = index["pos_embed.proj.weight"].shape
        norm = index.shape("transformer_blocks.0.attn.norm_q.weight")
        head = norm[0] if norm is not None else 64
        dual = sorted({int(m.group(1)) for k in index if (m := re.match(r"transformer_blocks\.(\d+)\.attn2\.", k))})
        config = {"sample_size": 128, "patch_size": patch, "in_channels": channels,
                  "num_layers": block_count(keys, "transformer_blocks."), "attention_head_dim": head,
                  "num_attention_heads": width // head,
                  "joint_attention_dim": index["context_embedder.weight"].shape[1],
                  "caption_projection_dim": index["context_embedder.weight"].shape[0],
                  "pooled_projection_dim": index["time_text_embed.text_embedder.linear_1.weight"].shape[1],
                  "out_channels": channels, "pos_embed_max_size": math.isqrt(index["pos_embed.pos_embed"].shape[1]),
                  "extra_conditioning_channels": index["pos_embed_input.proj.weight"].shape[1] - channels,
                  "dual_attention_layers": tuple(dual), "qk_norm": "rms_norm" if norm is not None else None}
        variant = "inpaint" if config["extra_conditioning_channels"] else ""
        return ControlDetected(self, config, "", variant)

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import SD3ControlNetModel

        from ..weights import assemble

        return assemble(SD3ControlNetModel, detected.config, tensors, dtype, "SD3 ControlNet", detected.source)

    def hint_format(self, detected: ControlDetected, model_format: LatentFormat) -> LatentFormat:
        return replace(model_format, shift_factor=0.0)  # ComfyUI: "SD3 controlnet weirdness"

    def concat_mask(self, detected: ControlDetected) -> bool:
        return bool(detected.config["extra_conditioning_channels"])

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        dtype = hint.dtype
        patch = int(net.config.patch_size)
        values = inputs.values
        (samples,) = net(hidden_states=pad_to_patch(inputs.x, patch).to(dtype),
                         controlnet_cond=pad_to_patch(hint, patch), encoder_hidden_states=values["context"].to(dtype),
                         pooled_projections=values["pooled"].to(dtype), timestep=inputs.timestep.to(dtype),
                         return_dict=False)
        return {"blocks": repeat_blocks(list(samples), inputs.blocks["blocks"])}


CONTROL_TYPES = {0: "blur", 1: "canny", 2: "depth"}


class SD35ControlNet(ControlKind):
    """Stability's SD3.5 large ControlNets (blur, canny, depth)."""

    name = "sd35_controlnet"
    families = frozenset({"sd3"})
    compression = 1
    latent_input = True

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if "pos_embed_input.proj.weight" not in index or "transformer_blocks.0.adaLN_modulation.1.bias" not in index:
            return None
        width, channels, patch, _ = index["pos_embed_input.proj.weight"].shape
        pooled = index["time_text_embed.text_embedder.linear_1.weight"].shape
        if pooled[0] == pooled[1]:
            raise ValueError("SD3.5 ControlNets with a second pooled embedder are not supported")
        config = {"patch_size": patch, "in_channels": channels,
                  "num_layers": block_count(dict.fromkeys(index), "transformer_blocks."), "attention_head_dim": 64,
                  "num_attention_heads": width // 64, "joint_attention_dim": None, "caption_projection_dim": width,
                  "pooled_projection_dim": pooled[1], "out_channels": channels, "pos_embed_max_size": None,
                  "pos_embed_type": None, "use_pos_embed": False, "force_zeros_for_pooled_projection": False}
        return ControlDetected(self, config, "", "")

    def refine(self, detected: ControlDetected, read: Any) -> None:
        found = read("control_type")
        if found is not None:
            detected.variant = CONTROL_TYPES.get(round(float(found.reshape(-1)[0])), "")

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import SD3ControlNetModel

        from ..weights import assemble

        state: dict[str, torch.Tensor] = {}
        for key, value in tensors.items():
            match = re.match(r"transformer_blocks\.(\d+)\.(.*)\.(weight|bias)$", key)
            if key == "control_type":
                continue
            if not match:
                state[key] = value
                continue
            block, module, param = match.groups()
            dst = f"transformer_blocks.{block}."
            if module == "attn.qkv":
                for name, part in zip(("to_q", "to_k", "to_v"), value.chunk(3, dim=0), strict=True):
                    state[f"{dst}attn.{name}.{param}"] = part
            else:
                target = {"attn.proj": "attn.to_out.0", "mlp.fc1": "ff.net.0.proj", "mlp.fc2": "ff.net.2",
                          "adaLN_modulation.1": "norm1.linear"}.get(module, module)
                state[f"{dst}{target}.{param}"] = value
        return assemble(SD3ControlNetModel, detected.config, state, dtype, "SD3.5 ControlNet", detected.source)

    def preprocess(self, detected: ControlDetected, hint: torch.Tensor) -> torch.Tensor:
        if detected.variant == "canny":
            return hint * 255 * 0.5 + 0.5
        if detected.variant == "depth":
            return 1.0 - hint
        return hint

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        dtype = hint.dtype
        patch = int(net.config.patch_size)
        x = pad_to_patch(inputs.x, patch).to(dtype)
        proj = inputs.main.pos_embed.proj  # the main model's patch embedding (ComfyUI lends its x_embedder)
        hidden = proj(x.to(proj.weight.dtype)).to(dtype).flatten(2).transpose(1, 2)
        rows, cols = x.shape[-2] // patch, x.shape[-1] // patch
        hidden = hidden + sincos_positions(hidden.shape[-1], cols, rows, hidden.device, dtype)
        (samples,) = net(hidden_states=hidden, controlnet_cond=pad_to_patch(hint, patch),
                         pooled_projections=inputs.values["pooled"].to(dtype), timestep=inputs.timestep.to(dtype),
                         return_dict=False)
        return {"blocks": repeat_blocks(list(samples), inputs.blocks["blocks"])}


def sincos_positions(dim: int, width: int, height: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """ComfyUI's get_2d_sincos_pos_embed_torch: a grid centred on 7.5, ±7.5 along the shorter side, the longer
    side in proportion; width's half of the channels first."""
    small = min(height, width)
    extent_h, extent_w = height / small * 7.5, width / small * 7.5
    rows = torch.linspace(7.5 - extent_h, 7.5 + extent_h, height, device=device)
    cols = torch.linspace(7.5 - extent_w, 7.5 + extent_w, width, device=device)
    grid_h, grid_w = torch.meshgrid(rows, cols, indexing="ij")

    def embed(pos: torch.Tensor) -> torch.Tensor:
        omega = 1.0 / 10000 ** (torch.arange(dim // 4, device=device, dtype=torch.float32) / (dim / 4))
        out = pos.reshape(-1, 1) * omega[None]
        return torch.cat([out.sin(), out.cos()], dim=1)

    return torch.cat([embed(grid_w), embed(grid_h)], dim=1).to(dtype)[None]


KINDS: list[ControlKind] = [SD35ControlNet(), SD3ControlNet()]
