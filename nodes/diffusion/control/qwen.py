"""Qwen-Image ControlNets by InstantX (union, and the inpainting one), as diffusers' QwenImageControlNetModel.

Its own image and text embedders, timestep embedding and Qwen-Image blocks; the hint is VAE-encoded into the
model's latent space (the Qwen-Image family's latent format), packed into 2×2 patches and, for the inpainting
ControlNet, followed by the mask channel (ControlNetInpaintingAliMamaApply). Its per-block outputs are spread
over the main model's blocks, each repeated in a row, and added to its image tokens.

The Qwen-Image family's adapter drives it through ``ControlInputs`` of family ``"qwen_image"`` whose values are
the packed latent ``tokens`` [B, N, 64], the text ``context`` and its ``context_mask`` (or None) and
``img_shapes`` (diffusers' list of (frames, rows, cols) per item), and ``blocks={"blocks": N}``; it adds the
``blocks`` residuals with ``inject.block_residuals(module.transformer_blocks, …)``.
"""

from __future__ import annotations

from typing import Any

import torch

from ..families.flux import pack, pad_to_patch
from ..state_dict import TensorIndex, block_count
from .base import ControlDetected, ControlInputs, ControlKind, ControlNet, Residuals, repeat_blocks


class QwenImageInstantX(ControlKind):
    """InstantX's Qwen-Image ControlNets (``Qwen-Image-InstantX-ControlNet-{Union,Inpainting}.safetensors``)."""

    name = "qwen_instantx"
    families = frozenset({"qwen_image"})
    compression = 1
    latent_input = True

    def detect(self, index: TensorIndex) -> ControlDetected | None:
        if ("controlnet_x_embedder.weight" not in index or "txt_norm.weight" not in index
                or "transformer_blocks.0.img_mlp.net.0.proj.weight" not in index):
            return None
        width, channels = index["img_in.weight"].shape
        head = index["transformer_blocks.0.attn.norm_q.weight"].shape[0]
        time = head // 8
        side = (head - time) // 2
        config = {"patch_size": 2, "in_channels": channels, "out_channels": channels // 4,
                  "num_layers": block_count(dict.fromkeys(index), "transformer_blocks."), "attention_head_dim": head,
                  "num_attention_heads": width // head, "joint_attention_dim": index["txt_in.weight"].shape[1],
                  "axes_dims_rope": (time, side, side),
                  "extra_condition_channels": index["controlnet_x_embedder.weight"].shape[1] - channels}
        return ControlDetected(self, config, "", "inpaint" if config["extra_condition_channels"] else "")

    def build(self, tensors: dict[str, torch.Tensor], detected: ControlDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from diffusers import QwenImageControlNetModel

        from ..weights import assemble

        return assemble(QwenImageControlNetModel, detected.config, tensors, dtype, "Qwen-Image ControlNet",
                        detected.source)

    def concat_mask(self, detected: ControlDetected) -> bool:
        return bool(detected.config["extra_condition_channels"])

    def residuals(self, net: Any, detected: ControlDetected, control: ControlNet, hint: torch.Tensor,
                  inputs: ControlInputs) -> Residuals:
        dtype = hint.dtype
        values = inputs.values
        samples = net(hidden_states=values["tokens"].to(dtype), controlnet_cond=pack(pad_to_patch(hint)),
                      encoder_hidden_states=values["context"].to(dtype),
                      encoder_hidden_states_mask=values.get("context_mask"), timestep=inputs.timestep.to(dtype),
                      img_shapes=values["img_shapes"], return_dict=False)
        return {"blocks": repeat_blocks(list(samples or ()), inputs.blocks["blocks"])}


KINDS: list[ControlKind] = [QwenImageInstantX()]
