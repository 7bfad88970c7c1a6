"""The model adapter for diffusers' UNet2DConditionModel: SD1.x, SD2.x and SDXL (base and refiner).

SDXL's extra conditioning follows ComfyUI: the pooled CLIP-G output plus the micro-conditioning sizes
(height, width, crop_h, crop_w, target_height, target_width) from the entry's options (CLIPTextEncodeSDXL
sets them), defaulting to the latent's size in pixels and no crop. A refiner UNet (five time ids) takes
(height, width, crop_h, crop_w, aesthetic_score), the score defaulting to 6 (2.5 for a negative prompt).

ComfyUI's attention and block patches (FreeU, PAG, SAG, ToMe, HyperTile, Kohya deep shrink …) run through
``patches.unet_hooks``, installed for one call at a time. ControlNets and T2I-Adapters (``conds["control"]``,
a ``control.run.ControlCall``) get the UNet's inputs and give residuals for its skip connections, middle block
and down blocks, which diffusers' UNet adds.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

import torch

from .conds import EncodeContext
from .patches.unet_hooks import SUPPORTED, installed

LATENT_FACTOR = 8  # pixels per latent cell of the SD VAEs


class UNetAdapter:
    """Feeds a diffusers UNet2DConditionModel (see ``conds.ModelAdapter``)."""

    spatial_keys: frozenset[str] = frozenset()
    supported_patches: frozenset[str] = SUPPORTED

    def patched(self, module: Any, transformer_options: dict[str, Any]) -> AbstractContextManager[None]:
        """One call of ``module`` with the call's attention and block patches (see ``patches.support``)."""
        return installed(module, transformer_options)

    @staticmethod
    def _time_ids_count(module: Any, pooled_width: int) -> int:
        config = module.config
        return int((config.projection_class_embeddings_input_dim - pooled_width) // config.addition_time_embed_dim)

    @staticmethod
    def _pooled_width(module: Any) -> int:
        """The pooled width a base SDXL UNet expects when an entry has no pooled output."""
        config = module.config
        return int(config.projection_class_embeddings_input_dim - 6 * config.addition_time_embed_dim)

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: EncodeContext
               ) -> dict[str, torch.Tensor]:
        device, dtype, latent_shape = ctx.device, ctx.dtype, ctx.latent_shape
        out = {"encoder_hidden_states": embedding.to(device, dtype)}
        if getattr(module.config, "addition_embed_type", None) != "text_time":
            return out
        pooled = options.get("pooled_output")
        if pooled is None:
            pooled = torch.zeros(1, self._pooled_width(module))
        height = options.get("height", latent_shape[-2] * LATENT_FACTOR)
        width = options.get("width", latent_shape[-1] * LATENT_FACTOR)
        crop_w, crop_h = options.get("crop_w", 0), options.get("crop_h", 0)
        if self._time_ids_count(module, int(pooled.shape[-1])) == 5:  # the refiner
            score = options.get("aesthetic_score", 2.5 if ctx.prompt_type == "negative" else 6.0)
            ids = [height, width, crop_h, crop_w, score]
        else:
            ids = [height, width, crop_h, crop_w, options.get("target_height", height),
                   options.get("target_width", width)]
        out["text_embeds"] = pooled.to(device, dtype)
        out["time_ids"] = torch.tensor([ids], dtype=dtype, device=device)
        return out

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        kwargs: dict[str, Any] = {}
        if "text_embeds" in conds:
            kwargs["added_cond_kwargs"] = {"text_embeds": conds["text_embeds"], "time_ids": conds["time_ids"]}
        control = conds.get("control")
        if control is not None:
            kwargs.update(self.control_kwargs(module, x_in, timestep, conds, kwargs.get("added_cond_kwargs"), control))
        output: torch.Tensor = module(x_in, timestep, encoder_hidden_states=conds["encoder_hidden_states"],
                                      return_dict=False, **kwargs)[0]
        return output

    @staticmethod
    def control_kwargs(module: Any, x_in: torch.Tensor, timestep: torch.Tensor, conds: dict[str, Any],
                       added: dict[str, torch.Tensor] | None, control: Any) -> dict[str, Any]:
        """The call's ControlNet residuals as diffusers' UNet takes them: skip-connection and middle-block
        residuals (ControlNets), features inside the down blocks (T2I-Adapters)."""
        from .control.base import ControlInputs

        values: dict[str, Any] = {"encoder_hidden_states": conds["encoder_hidden_states"]}
        if added is not None:
            values["added_cond_kwargs"] = added
        residuals = control(ControlInputs("unet", x_in, timestep, module, values))
        out: dict[str, Any] = {}
        down, mid = residuals.get("down"), residuals.get("mid")
        if down:
            if any(r is None for r in down) or not mid or mid[0] is None:
                raise ValueError("a ControlNet gave the UNet an incomplete set of residuals")
            out["down_block_additional_residuals"] = tuple(r.to(x_in.dtype) for r in down if r is not None)
            out["mid_block_additional_residual"] = mid[0].to(x_in.dtype)
        features = residuals.get("intrablock")
        if features:
            out["down_intrablock_additional_residuals"] = [r.to(x_in.dtype) for r in features if r is not None]
        return out
