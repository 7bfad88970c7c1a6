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


# ComfyUI's blank_inpaint_image_like: a black image in SD's latent space (an inpainting UNet without a mask)
BLANK_LATENT = (0.8223, -0.6876, 0.6364, 0.1380)


class UNetAdapter:
    """Feeds a diffusers UNet2DConditionModel (see ``conds.ModelAdapter``).

    Inpainting UNets (9 input channels: the latent, the mask, the masked image's latent) and InstructPix2Pix
    ones (8: the latent and the input image's latent) get the extra channels as ComfyUI builds them (``concat``);
    SD2.1 unCLIP UNets get the image embedding as their class embedding, SDXL takes an unCLIP embedding as its
    pooled output (revision); ``latent_format`` brings a masked image into the model's space and
    ``clip_stats`` (the checkpoint's noise augmentor statistics) scale unCLIP embeddings."""

    control_family = "unet"  # the ControlNets it drives (``control.base.ControlInputs.family``)

    spatial_keys: frozenset[str] = frozenset({"concat"})
    supported_patches: frozenset[str] = SUPPORTED

    def __init__(self, latent_format: Any = None, clip_stats: tuple[torch.Tensor, torch.Tensor] | None = None
                 ) -> None:
        from .families.base import LatentFormat

        self.latent_format = latent_format if latent_format is not None else LatentFormat(4, 0.18215)
        self.clip_stats = clip_stats

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
        concat = self._concat(module, options, ctx)
        if concat is not None:
            out["concat"] = concat.to(device, dtype)
        if getattr(module.config, "class_embed_type", None) == "projection":  # SD2.1 unCLIP
            out["class_labels"] = self._unclip_labels(module, options, ctx).to(device, dtype)
        if getattr(module.config, "addition_embed_type", None) != "text_time":
            return out
        pooled = options.get("pooled_output")
        if "unclip_conditioning" in options:  # SDXL revision: the image embedding as the pooled output
            from .unclip import NoiseAugmentor, unclip_adm

            width = self._unclip_width(module)
            seed = (ctx.seed or 0) - 10
            pooled = unclip_adm(options["unclip_conditioning"], NoiseAugmentor(width), seed=seed)[:, :width]
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

    @staticmethod
    def _unclip_width(module: Any) -> int:
        """The pooled width an SDXL UNet takes (ComfyUI keeps the first 1280 values of the unCLIP vector)."""
        config = module.config
        projection = int(config.projection_class_embeddings_input_dim)
        return 1280 if projection in (2816, 2560) else projection - 6 * int(config.addition_time_embed_dim)

    def _unclip_labels(self, module: Any, options: dict[str, Any], ctx: EncodeContext) -> torch.Tensor:
        """An SD2.1 unCLIP UNet's class embedding input: zeros without an image (ComfyUI's SD21UNCLIP)."""
        width = int(module.config.projection_class_embeddings_input_dim)
        unclip = options.get("unclip_conditioning")
        if unclip is None:
            return torch.zeros(1, width)
        from .unclip import NoiseAugmentor, unclip_adm

        mean, std = self.clip_stats if self.clip_stats is not None else (None, None)
        augmentor = NoiseAugmentor(width // 2, mean, std)
        return unclip_adm(unclip, augmentor, float(options.get("unclip_noise_augment_merge", 0.05)),
                          (ctx.seed or 0) - 10)

    def _concat(self, module: Any, options: dict[str, Any], ctx: EncodeContext) -> torch.Tensor | None:
        """The extra input channels of an inpainting or InstructPix2Pix UNet (ComfyUI's concat_cond)."""
        from ..image_utils import common_upscale

        shape = ctx.latent_shape
        in_channels = getattr(module.config, "in_channels", None)
        extra = int(in_channels) - int(shape[1]) if in_channels is not None else 0
        if extra <= 0:
            return None
        image = options.get("concat_latent_image")
        if extra == shape[1]:  # InstructPix2Pix: the input image's latent, as it is
            image = torch.zeros(shape) if image is None else image.float().cpu()
            if tuple(image.shape[1:]) != tuple(shape[1:]):
                image = common_upscale(image, shape[-1], shape[-2], "bilinear", "center")
            return _to_batch(image, shape[0])
        if extra != shape[1] + 1:
            raise ValueError(f"a UNet taking {module.config.in_channels} input channels is neither an inpainting "
                             "nor an InstructPix2Pix model")
        mask = options.get("concat_mask", ctx.denoise_mask)
        if image is not None:
            image = self.latent_format.process_in(image.float().cpu())
        elif ctx.latent_image is not None:
            image = ctx.latent_image.float().cpu()
        if image is not None and tuple(image.shape[1:]) != tuple(shape[1:]):
            image = common_upscale(image, shape[-1], shape[-2], "bilinear", "center")
        if mask is None:
            blank = torch.tensor(BLANK_LATENT[:shape[1]]).view(1, -1, 1, 1).expand(shape[0], -1, *shape[2:])
            return torch.cat([torch.ones(shape[0], 1, *shape[2:]), blank], dim=1)
        mask = mask.float().cpu()
        if mask.ndim == len(shape):
            mask = mask[:, :1]
        mask = mask.reshape(-1, 1, *mask.shape[-2:])
        if tuple(mask.shape[-2:]) != tuple(shape[-2:]):
            mask = common_upscale(mask, shape[-1], shape[-2], "bilinear", "center")
        image = torch.zeros(shape) if image is None else image
        return torch.cat([_to_batch(mask.round(), shape[0]), _to_batch(image, shape[0])], dim=1)

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        kwargs: dict[str, Any] = {}
        if "text_embeds" in conds:
            kwargs["added_cond_kwargs"] = {"text_embeds": conds["text_embeds"], "time_ids": conds["time_ids"]}
        if "class_labels" in conds:
            kwargs["class_labels"] = conds["class_labels"]
        control = conds.get("control")
        if control is not None:
            kwargs.update(self.control_kwargs(module, x_in, timestep, conds, kwargs.get("added_cond_kwargs"), control))
        x = x_in if "concat" not in conds else torch.cat([x_in, conds["concat"].to(x_in.dtype)], dim=1)
        output: torch.Tensor = module(x, timestep, encoder_hidden_states=conds["encoder_hidden_states"],
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


def _to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    """ComfyUI's resize_to_batch_size: repeat or cut along the batch."""
    if tensor.shape[0] == batch:
        return tensor
    repeats = -(-batch // tensor.shape[0])
    return tensor.repeat(repeats, *([1] * (tensor.ndim - 1)))[:batch]
