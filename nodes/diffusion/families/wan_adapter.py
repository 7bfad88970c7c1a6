"""Feeding diffusers' Wan transformers the way ComfyUI feeds its WanModel (``model_base.WAN21``/``WAN22``).

Per conditioning entry (:meth:`WanAdapter.encode`):

- the umT5 context (512 tokens, zero-padded by the ``wan`` recipe);
- ``clip_vision_output`` → the CLIP-H penultimate states for models with an image embedder (Wan 2.1 I2V,
  FLF2V, Fun); FLF2V's two images are 514 tokens with their own position table;
- ``concat_latent_image`` / ``concat_mask`` → the channels the model takes beyond the noise, built as
  ComfyUI's ``WAN21.concat_cond``: the image latent resized to the latent, in the model's space, behind a
  4-channel mask of where it is given (1 − mask, per latent frame), zeros where nothing is given;
- ``vace_frames`` / ``vace_mask`` / ``vace_strength`` → VACE's 96-channel control input and per-layer scale;
- ``camera_conditions`` → the Fun-camera control adapter's input (added to the patch embedding);
- for Wan 2.2 TI2V, the sampler's denoise mask → a per-frame scale of the timestep (0 for the given first
  frame, which the sampler also keeps clean rather than re-noised: ``inpaint_clean``).
"""

from __future__ import annotations

import logging
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from ..patches.dit_blocks import SUPPORTED as DIT_PATCHES
from .base import LatentFormat

log = logging.getLogger(__name__)
TEXT_TOKENS = 512  # diffusers' Wan attention reads the last 512 context tokens as text when there is an image


def pad_to_patch(x: torch.Tensor, patch: tuple[int, ...]) -> torch.Tensor:
    """Pad the last len(patch) dims up to multiples of the patch, wrapping around (ComfyUI's pad_to_patch_size)."""
    pad: tuple[int, ...] = ()
    for i, size in enumerate(patch):
        pad = (0, (size - x.shape[2 + i] % size) % size, *pad)
    return F.pad(x, pad, mode="circular") if any(pad) else x



def concat_mask(options: dict[str, Any], ctx: Any, channels: int) -> torch.Tensor:
    """The mask channels a video model's concat input ends or starts with (ComfyUI's concat_mask, else the
    sampler's noise mask), inverted — 1 where the frame is kept —, at the latent's size and frame count, as
    ``channels`` channels (Wan's 4 per latent frame, HunyuanVideo's 1); zeros without a mask."""
    from ...image_utils import common_upscale

    shape = ctx.latent_shape
    batch, frames, height, width = shape[0], shape[2], shape[-2], shape[-1]
    mask = options.get("concat_mask")
    if mask is None:
        mask = ctx.denoise_mask
    if mask is None:
        return torch.zeros(batch, channels, *shape[2:])
    mask = mask.float().cpu()
    if mask.shape[1] != channels:
        mask = mask.mean(dim=1, keepdim=True)
    mask = common_upscale(1.0 - mask, width, height, "bilinear", "center")
    if mask.shape[-3] < frames:
        mask = F.pad(mask, (0, 0, 0, 0, 0, frames - mask.shape[-3]))
    if mask.shape[1] == 1 and channels > 1:
        mask = mask.repeat(1, channels, 1, 1, 1)
    return _to_batch(mask[:, :, :frames], batch)

def _to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    if tensor.shape[0] == batch:
        return tensor
    repeats = -(-batch // tensor.shape[0])
    return tensor.repeat(repeats, *([1] * (tensor.ndim - 1)))[:batch]


def _in_groups(latent: torch.Tensor, latent_format: LatentFormat) -> torch.Tensor:
    """Each group of the latent format's channels moved into the model's space (concatenated latents)."""
    step = latent_format.channels
    parts = [latent_format.process_in(latent[:, i:i + step]) for i in range(0, latent.shape[1], step)]
    return torch.cat(parts, dim=1)


class WanAdapter:
    """See the module docstring (``conds.ModelAdapter``)."""

    spatial_keys: frozenset[str] = frozenset()

    supported_patches: frozenset[str] = DIT_PATCHES | {"rope_options"}

    def patched(self, module: Any, transformer_options: dict[str, Any]) -> Any:
        """One call of ``module`` with the call's DiT block replacements (see ``patches.dit_blocks``) and
        ScaleROPE's positions (``rope_options``)."""
        from ..patches.dit_blocks import DOUBLE_WAN, installed, scaled_rope

        return installed(module, transformer_options, (DOUBLE_WAN,), scaled_rope)

    def __init__(self, latent_format: LatentFormat, image_to_video: bool, wan22: bool,
                 config: dict[str, Any] | None = None) -> None:
        self.latent_format = latent_format
        self.image_to_video = image_to_video
        self.inpaint_clean = wan22  # ComfyUI's WAN22.scale_latent_inpaint: the kept frames stay clean
        self.config = config or {}

    def activation_bytes(self, shape: tuple[int, ...]) -> int:
        """A generous estimate of one network call's working memory for a latent of ``shape`` [B, C, T, h, w]:
        the tokens of a positive and a negative pass through a block's widest tensors (the MLP's inner width
        and q, k, v, out), in 2-byte activations. The sampler keeps this much free on the device."""
        config = self.config
        if not config or len(shape) != 5:
            return 0
        patch = tuple(config.get("patch_size", (1, 2, 2)))
        tokens = -(-shape[2] // patch[0]) * -(-shape[3] // patch[1]) * -(-shape[4] // patch[2])
        width = int(config["num_attention_heads"]) * int(config["attention_head_dim"])
        return 2 * int(shape[0]) * tokens * (4 * width + int(config["ffn_dim"])) * 2

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        device, dtype = ctx.device, ctx.dtype
        config = module.config
        context = embedding
        out: dict[str, torch.Tensor] = {}
        if config.get("image_dim"):
            context = _fit_text(context)
            clip = options.get("clip_vision_output")
            if clip is None:
                raise ValueError("this Wan model embeds a CLIP vision image (I2V, FLF2V, Fun): give the Wan node a "
                                 "clip_vision_output (CLIPVisionLoader clip_vision_h → CLIPVisionEncode)")
            out["clip_fea"] = clip.penultimate_hidden_states.to(device, dtype)
        out["context"] = context.to(device, dtype)
        concat = self._concat(module, options, ctx)
        if concat is not None:
            out["concat"] = concat.to(device, dtype)
        if "vace_layers" in config:
            out.update(self._vace(module, options, ctx))
        camera = options.get("camera_conditions")
        if camera is not None and getattr(module, "camera_adapter", None) is not None:
            out["camera"] = camera.to(device, dtype)
        refs = options.get("reference_latents")
        if refs and getattr(module, "reference_embedder", None) is not None:  # ignored by others, as ComfyUI
            reference = self.latent_format.process_in(refs[-1].float().cpu())
            out["reference"] = (reference[:, :, 0] if reference.ndim == 5 else reference).to(device, dtype)
        if self.inpaint_clean and ctx.denoise_mask is not None and ctx.denoise_mask.ndim == 5:
            out["frame_scale"] = ctx.denoise_mask.float().mean(dim=(1, 3, 4)).to(device)  # [B, T]
        return out

    def _concat(self, module: Any, options: dict[str, Any], ctx: Any) -> torch.Tensor | None:
        from ...image_utils import common_upscale

        shape = ctx.latent_shape
        extra = int(module.config.in_channels) - int(shape[1])
        if extra <= 0:
            return None
        batch, height, width = shape[0], shape[-2], shape[-1]
        image = options.get("concat_latent_image")
        if image is None:
            image = torch.zeros(batch, extra, *shape[2:])
        else:
            image = common_upscale(image.float().cpu(), width, height, "bilinear", "center")
            image = _to_batch(_in_groups(image, self.latent_format), batch)
        if extra != image.shape[1] + 4 and (not self.image_to_video or extra == image.shape[1]):
            return image
        image = image[:, :extra - 4]
        mask = concat_mask(options, ctx, 4)
        index = int(options.get("concat_mask_index", 0))
        if index:
            return torch.cat((image[:, :index], mask, image[:, index:]), dim=1)
        return torch.cat((mask, image), dim=1)

    def _vace(self, module: Any, options: dict[str, Any], ctx: Any) -> dict[str, torch.Tensor]:
        shape = list(ctx.latent_shape)
        frames = options.get("vace_frames")
        if frames is None:
            frames = [torch.zeros(1, 2 * self.latent_format.channels, *shape[2:])]
        masks = options.get("vace_mask")
        if masks is None:
            masks = [torch.ones(1, 64, *shape[2:])] * len(frames)
        if len(frames) != 1:
            raise ValueError(f"{len(frames)} VACE inputs (chained WanVaceToVideo nodes) are given; Inkgraph's VACE "
                             "model takes one")
        strengths = options.get("vace_strength") or [1.0]
        control = torch.cat([_in_groups(frames[0].float().cpu(), self.latent_format), masks[0].float().cpu()], dim=1)
        layers = len(module.config.vace_layers)
        return {"vace": control.to(ctx.device, ctx.dtype),
                "vace_scale": torch.full((1, layers), float(strengths[0]), device=ctx.device)}

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        frames, height, width = x_in.shape[-3:]
        patch = tuple(int(p) for p in module.config.patch_size)
        x = x_in
        if "concat" in conds:
            x = torch.cat([x, conds["concat"].to(x.dtype)], dim=1)
        x = pad_to_patch(x, patch)
        kwargs: dict[str, Any] = {}
        if "clip_fea" in conds:
            kwargs["encoder_hidden_states_image"] = conds["clip_fea"]
        if "vace" in conds:
            kwargs["control_hidden_states"] = pad_to_patch(conds["vace"].to(x.dtype), patch)
            kwargs["control_hidden_states_scale"] = conds["vace_scale"][0]
        steps = timestep.to(x.dtype)
        if "frame_scale" in conds:
            tokens = (x.shape[3] // patch[1]) * (x.shape[4] // patch[2])
            scale = conds["frame_scale"].to(steps.dtype)[:, : x.shape[2] // patch[0]]
            steps = (scale * steps[:, None]).repeat_interleave(tokens, dim=1)
        camera = getattr(module, "camera_adapter", None)
        if camera is not None:
            camera.pending = conds.get("camera")
        reference = getattr(module, "reference_embedder", None)
        if reference is not None:
            reference.pending = conds.get("reference")
            if reference.pending is not None and steps.ndim == 2:
                raise ValueError("a reference image with a per-frame timestep (Wan 2.2 TI2V's image-to-video "
                                 "mask) is not supported")
        try:
            output: torch.Tensor = module(hidden_states=x, timestep=steps, encoder_hidden_states=conds["context"],
                                          return_dict=False, **kwargs)[0]
        finally:
            if camera is not None:
                camera.pending = None
            if reference is not None:
                reference.pending = None
        return output[:, :, :frames, :height, :width]


def _fit_text(context: torch.Tensor) -> torch.Tensor:
    """The text part of an image-conditioned Wan model's context is exactly 512 tokens (the ``wan`` recipe's
    length); other lengths are padded with zeros or cut, with a warning."""
    length = context.shape[1]
    if length == TEXT_TOKENS:
        return context
    if length > TEXT_TOKENS:
        log.warning("a prompt of %d umT5 tokens is cut to the %d this Wan model reads", length, TEXT_TOKENS)
        return context[:, :TEXT_TOKENS]
    return F.pad(context, (0, 0, 0, TEXT_TOKENS - length))


def install_image_embedding(model: Any) -> None:
    """FLF2V's image embedder as ComfyUI's MLPProj: the position table added to however many tokens are given
    (257 for one image, 514 for the first and last), instead of diffusers' fixed two-image reshape."""
    embedder = model.condition_embedder.image_embedder

    def forward(states: torch.Tensor) -> torch.Tensor:
        table = embedder.pos_embed
        if table is not None:
            states = states[:, : table.shape[1]] + table[:, : states.shape[1]].to(states.dtype)
        return embedder.norm2(embedder.ff(embedder.norm1(states)))  # type: ignore[no-any-return]

    embedder.forward = forward


class CameraAdapter(torch.nn.Module):
    """The Fun-camera control adapter (ComfyUI's WanCamAdapter): Plücker embeddings [B, C, F, H, W] →
    pixel-unshuffled 8×, a strided convolution to the model's width and patch grid, residual blocks; the
    result is added to the patch embedding."""

    def __init__(self, in_channels: int, width: int, kernel: tuple[int, ...], blocks: int) -> None:
        super().__init__()
        self.pixel_unshuffle = torch.nn.PixelUnshuffle(8)
        self.conv = torch.nn.Conv2d(in_channels * 64, width, kernel_size=kernel, stride=kernel)
        self.residual_blocks = torch.nn.Sequential(*[_Residual(width) for _ in range(blocks)])
        self.pending: torch.Tensor | None = None

    def forward(self, camera: torch.Tensor) -> torch.Tensor:
        b, c, f, h, w = camera.shape
        x = camera.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        x = self.residual_blocks(self.conv(self.pixel_unshuffle(x)))
        return x.view(b, f, *x.shape[1:]).permute(0, 2, 1, 3, 4)


class _Residual(torch.nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.conv1 = torch.nn.Conv2d(width, width, kernel_size=3, padding=1)
        self.conv2 = torch.nn.Conv2d(width, width, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(torch.relu(self.conv1(x)))


def install_camera(model: Any, state: dict[str, torch.Tensor], shape: dict[str, Any], dtype: torch.dtype,
                   source: str) -> None:
    """Attach the camera adapter (weights ``control_adapter.*``) and add its output to the patch embedding."""
    from ..state_dict import ModelFileError

    width = int(model.config.num_attention_heads) * int(model.config.attention_head_dim)
    adapter = CameraAdapter(int(shape["in_channels"]), width, tuple(shape["kernel"]), int(shape["blocks"]))
    missing, unexpected = adapter.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ModelFileError(f"{source}: the camera control adapter does not fit ({(missing or unexpected)[0]})")
    model.camera_adapter = adapter.to(dtype).eval().requires_grad_(False)

    def add_camera(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        pending = model.camera_adapter.pending
        if pending is None:
            return output
        camera = model.camera_adapter(pending.to(output.dtype))
        return output + camera[..., : output.shape[2], : output.shape[3], : output.shape[4]]

    model.patch_embedding.register_forward_hook(add_camera)
