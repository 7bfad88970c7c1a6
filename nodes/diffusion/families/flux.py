"""Flux.1 (dev, schnell, Krea dev, Kontext dev, Fill dev; Canny/Depth dev) in Black Forest Labs' single-file
layout, with or without ComfyUI's ``model.diffusion_model.`` prefix, as diffusers' FluxTransformer2DModel.

The architecture is read from the tensors: width and head width (the q-norm scale has one entry per head
channel), double and single block counts, context and pooled widths, input channels (64 = 16 latent
channels in 2×2 patches; Fill 384 = latent + masked image + an 8×8 mask per cell; Canny/Depth 128 =
latent + control image), and whether a guidance embedder is there (dev) or not (schnell). The rotary axes
are Flux's (16, 56, 56) at its 128-wide heads, in the same proportion at other widths.

Sampling as ComfyUI: guidance-distilled models (dev) use ModelSamplingFlux with shift 1.15 and are fed σ
(diffusers multiplies by 1000); schnell uses discrete flow with shift 1 and multiplier 1. The adapter
(:class:`FluxAdapter`) packs latents into 2×2 patches with their position ids, appends reference latents
(Kontext, ReferenceLatent) at ComfyUI's offsets, concatenates Fill's masked image and mask, and passes the
guidance (FluxGuidance, default 3.5) when the model embeds it; ControlNets (``conds["control"]``) get the packed
latent, its ids, the context, pooled output and guidance, and their residuals are added after the double and
single blocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch

from ..patches.dit_blocks import ROPE_ATTR
from ..patches.dit_blocks import SUPPORTED as DIT_PATCHES
from ..state_dict import TensorIndex, block_count
from . import bfl
from .base import Detected, DiffusionFamily, LatentFormat

FLUX_LATENT = LatentFormat(16, 0.3611, 0.1159, rgb_factors=(
    (-0.0346, 0.0244, 0.0681), (0.0034, 0.0210, 0.0687), (0.0275, -0.0668, -0.0433), (-0.0174, 0.0160, 0.0617),
    (0.0859, 0.0721, 0.0329), (0.0004, 0.0383, 0.0115), (0.0405, 0.0861, 0.0915), (-0.0236, -0.0185, -0.0259),
    (-0.0245, 0.0250, 0.1180), (0.1008, 0.0755, -0.0421), (-0.0515, 0.0201, 0.0011), (0.0428, -0.0012, -0.0036),
    (0.0817, 0.0765, 0.0749), (-0.1264, -0.0522, -0.1103), (-0.0280, -0.0881, -0.0499), (-0.1262, -0.0982, -0.0778)),
    rgb_bias=(-0.0329, -0.0718, -0.0851), taesd_decoder="taef1_decoder")
MARKER = "double_blocks.0.img_attn.qkv.weight"
TRAIN_TARGETS = (r"(single_)?transformer_blocks\.\d+\.(attn\.(to_q|to_k|to_v|to_out\.0|add_q_proj|add_k_proj|"
                 r"add_v_proj|to_add_out)|ff(_context)?\.net\.(0\.proj|2)|proj_mlp|proj_out)")
PATCH = 2


def rope_axes(head_dim: int) -> tuple[int, int, int]:
    """Flux's rotary axes (16, 56, 56) for 128-wide heads; other head widths in the same proportion."""
    time = head_dim // 8
    side = (head_dim - time) // 2
    if time % 2 or side % 2 or time + 2 * side != head_dim:
        raise ValueError(f"heads {head_dim} wide have no rotary split like Flux's (16, 56, 56)")
    return time, side, side


def read_transformer(index: TensorIndex, prefix: str) -> dict[str, Any]:
    """What Flux and Chroma share: width, heads, depths, context width, input/output channels."""
    def shape(key: str) -> tuple[int, ...]:
        found = index.shape(prefix + key)
        if found is None:
            raise KeyError(key)
        return found

    keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
    width, in_channels = shape("img_in.weight")
    head_dim = shape("double_blocks.0.img_attn.norm.query_norm.scale")[0]
    if shape("double_blocks.0.img_mlp.0.weight")[0] != 4 * width:
        raise ValueError("an MLP ratio other than 4 is not supported")
    return {"patch_size": 1, "in_channels": in_channels, "out_channels": shape("final_layer.linear.weight")[0],
            "num_layers": block_count(keys, "double_blocks."), "num_single_layers": block_count(keys, "single_blocks."),
            "attention_head_dim": head_dim, "num_attention_heads": width // head_dim,
            "joint_attention_dim": shape("txt_in.weight")[1], "axes_dims_rope": rope_axes(head_dim)}


class Flux(DiffusionFamily):
    name = "flux"
    latent = FLUX_LATENT
    text_encoders: ClassVar[tuple[str, ...]] = ("clip_l", "t5xxl")
    vae = "flux"
    chroma = False

    def _prefix(self, index: TensorIndex) -> str | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or (prefix + "distilled_guidance_layer.in_proj.weight" in index) != self.chroma:
            return None
        if prefix + "double_stream_modulation_img.lin.weight" in index:
            return None  # Flux.2 (families/flux2.py)
        return prefix

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = self._prefix(index)
        if prefix is None:
            return None
        config = read_transformer(index, prefix)
        config["pooled_projection_dim"] = index[prefix + "vector_in.in_layer.weight"].shape[1]
        config["guidance_embeds"] = prefix + "guidance_in.in_layer.weight" in index
        channels = config["in_channels"] // (PATCH * PATCH)
        latent = config["out_channels"] // (PATCH * PATCH)
        variant = "dev" if config["guidance_embeds"] else "schnell"
        if channels > 2 * latent:
            variant = "fill"
        elif channels > latent:
            variant = "control"  # Canny/Depth dev: latent + control image latent
        return Detected(self, config, prefix, variant)

    def mapping(self, detected: Detected) -> bfl.Table:
        return bfl.table(detected.config, chroma=self.chroma)

    def diffusers_class(self) -> Any:
        from diffusers import FluxTransformer2DModel

        return FluxTransformer2DModel

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble

        weights, scales = split_scales(tensors, detected.source)
        mapping = self.mapping(detected)
        state = bfl.to_diffusers(weights, mapping, detected.source)
        model = assemble(self.diffusers_class(), detected.config, state, dtype, "transformer", detected.source)
        if scales:
            apply_scales(model, bfl.scales_to_diffusers(scales, mapping))
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        if detected.variant == "schnell":
            return ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=1.0, multiplier=1.0)
        return ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=1.15)

    def adapter(self, detected: Detected) -> Any:
        return FluxAdapter(self.latent)

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        return bfl.lora_names(self.mapping(detected))

    def train_targets(self, detected: Detected, module: torch.nn.Module) -> str:
        """Attention, MLPs and the single blocks' fused projections of every block (what kohya's and
        ai-toolkit's Flux LoRAs train); not the embedders, modulations or final layer."""
        return TRAIN_TARGETS

    def original_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, str]:
        return bfl.original_names(self.mapping(detected))

    def original_state(self, detected: Detected, module: torch.nn.Module) -> dict[str, torch.Tensor]:
        return bfl.to_original(module.state_dict(), self.mapping(detected))


def pad_to_patch(x: torch.Tensor, patch: int = PATCH) -> torch.Tensor:
    """Pad the last two dims up to a multiple of the patch size, wrapping around (ComfyUI's pad_to_patch_size)."""
    pad_h, pad_w = (-x.shape[-2]) % patch, (-x.shape[-1]) % patch
    if pad_h or pad_w:
        x = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h), mode="circular")
    return x


def pack(x: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] → [B, (H/2)(W/2), C·4] (patch channels ordered c, ph, pw, as BFL and diffusers)."""
    b, c, h, w = x.shape
    x = x.view(b, c, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 2, 4, 1, 3, 5)
    return x.reshape(b, (h // PATCH) * (w // PATCH), c * PATCH * PATCH)


def unpack(x: torch.Tensor, channels: int, h: int, w: int) -> torch.Tensor:
    b = x.shape[0]
    x = x.view(b, h // PATCH, w // PATCH, channels, PATCH, PATCH).permute(0, 3, 1, 4, 2, 5)
    return x.reshape(b, channels, h, w)


def image_ids(h: int, w: int, index: float = 0.0, h_offset: int = 0, w_offset: int = 0,
              device: torch.device | None = None, rope: dict[str, float] | None = None) -> torch.Tensor:
    """Position ids [(h/2)(w/2), 3] of a latent h×w (rounded up to patches): (index, row, column), rows and
    columns starting at the offsets (in latent cells, rounded to patches), as ComfyUI's process_img.
    ``rope``: ScaleROPE's options — row i at shift_y + i·scale_y, column j at shift_x + j·scale_x, the index
    moved by shift_t."""
    rows, cols = (h + PATCH // 2) // PATCH, (w + PATCH // 2) // PATCH
    h_offset, w_offset = (h_offset + PATCH // 2) // PATCH, (w_offset + PATCH // 2) // PATCH
    rope = rope or {}
    scale_y, scale_x = float(rope.get("scale_y", 1.0)), float(rope.get("scale_x", 1.0))
    ids = torch.zeros(rows, cols, 3, device=device)
    ids[..., 0] = index + float(rope.get("shift_t", 0.0))
    ids[..., 1] = (torch.arange(rows, device=device, dtype=torch.float32)[:, None] * scale_y + h_offset
                   + float(rope.get("shift_y", 0.0)))
    ids[..., 2] = (torch.arange(cols, device=device, dtype=torch.float32)[None, :] * scale_x + w_offset
                   + float(rope.get("shift_x", 0.0)))
    return ids.reshape(rows * cols, 3)


def reference_ids(refs: list[torch.Tensor], h: int, w: int, method: str = "offset") -> list[torch.Tensor]:
    """The position ids of each reference latent: ComfyUI's "offset" (Kontext: index 1, placed beside or
    below the earlier references), "index" (index 1, 2 …) or "uxo" (index 0, past the image)."""
    out = []
    h_used = w_used = 0
    index = 0
    for ref in refs:
        rh, rw = ref.shape[-2], ref.shape[-1]
        if method == "index":
            index += 1
            h_offset = w_offset = 0
        elif method == "uxo":
            index = 0
            h_offset = ((h + PATCH // 2) // PATCH) * PATCH + h_used
            w_offset = ((w + PATCH // 2) // PATCH) * PATCH + w_used
            h_used += rh
            w_used += rw
        else:
            index = 1
            h_offset = w_offset = 0
            if rh + h_used > rw + w_used:
                w_offset = w_used
            else:
                h_offset = h_used
            h_used = max(h_used, rh + h_offset)
            w_used = max(w_used, rw + w_offset)
        out.append(image_ids(rh, rw, index, h_offset, w_offset, ref.device))
    return out


class FluxAdapter:
    """Feeds a diffusers Flux (or Chroma) transformer (see ``conds.ModelAdapter``).

    Per entry: the context states; the pooled CLIP-L output (zeros when the entry has none, as ComfyUI);
    the guidance (default 3.5) when the model embeds it; the reference latents packed, with their ids;
    for models taking more input channels than they output (Fill, Canny/Depth), the concatenated image
    (and mask) built as ComfyUI's Flux.concat_cond.
    """

    control_family = "flux"  # the ControlNets it drives (``control.base.ControlInputs.family``)

    spatial_keys: frozenset[str] = frozenset({"concat"})

    supported_patches: frozenset[str] = DIT_PATCHES | {"rope_options"}

    def patched(self, module: Any, transformer_options: dict[str, Any]) -> Any:
        """One call of ``module`` with the call's DiT block replacements (see ``patches.dit_blocks``) and
        ScaleROPE's positions for the generated image (``rope_options``, read by :meth:`apply`)."""
        from ..patches.dit_blocks import flux_layouts, installed, rope_options_set

        return installed(module, transformer_options, flux_layouts(module), context=rope_options_set)

    default_guidance = 3.5

    def __init__(self, latent_format: LatentFormat) -> None:
        self.latent_format = latent_format

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        device, dtype = ctx.device, ctx.dtype
        if options.get("attention_mask") is not None:
            raise ValueError("an attention mask on the conditioning (StyleModelApply's attn_bias) is not supported "
                             "for Flux models yet; use strength_type 'multiply'")
        out = {"context": embedding.to(device, dtype)}
        config = module.config
        if "pooled_projection_dim" in config:
            pooled = options.get("pooled_output")
            if pooled is None:
                pooled = torch.zeros(1, config.pooled_projection_dim)
            out["pooled"] = pooled.to(device, dtype)
        if config.get("guidance_embeds"):
            guidance = options.get("guidance", self.default_guidance)  # None: FluxDisableGuidance
            out["guidance"] = torch.tensor([0.0 if guidance is None else float(guidance)], device=device,
                                           dtype=torch.float32)
            out["guidance_on"] = torch.tensor([0.0 if guidance is None else 1.0], device=device, dtype=torch.float32)
        latent_format = self.latent_format
        refs = options.get("reference_latents")
        if refs:
            h, w = ctx.latent_shape[-2], ctx.latent_shape[-1]
            method = str(options.get("reference_latents_method", "offset"))
            tokens, ids = [], []
            for ref, ref_ids in zip(refs, reference_ids(list(refs), h, w, method), strict=True):
                ref = latent_format.process_in(ref.float()).to(device)
                tokens.append(pack(pad_to_patch(ref[:1])))
                ids.append(ref_ids.to(device))
            out["ref_tokens"] = torch.cat(tokens, dim=1).to(dtype)
            out["ref_ids"] = torch.cat(ids, dim=0)[None]
        concat = self._concat(module, options, ctx, latent_format)
        if concat is not None:
            out["concat"] = concat.to(device, dtype)
        return out

    @staticmethod
    def _concat(module: Any, options: dict[str, Any], ctx: Any, latent_format: LatentFormat) -> torch.Tensor | None:
        from ...image_utils import common_upscale

        channels = int(module.config.in_channels) // (PATCH * PATCH)
        latent = latent_format.channels
        if channels <= latent:
            return None
        shape = ctx.latent_shape
        image = options.get("concat_latent_image")
        if image is None:
            image = torch.zeros(shape[0], latent, shape[-2], shape[-1])
        image = common_upscale(image.float().cpu(), shape[-1], shape[-2], "bilinear", "center")
        image = latent_format.process_in(_to_batch(image, shape[0]))
        if channels <= 2 * latent:
            return image
        mask = options.get("concat_mask")
        if mask is None:
            mask = ctx.denoise_mask
        if mask is None:
            mask = torch.ones(shape[0], 1, shape[-2], shape[-1])
        mask = mask.float().cpu()
        mask = mask.unsqueeze(1) if mask.ndim == 3 else mask
        mask = common_upscale(mask.mean(dim=1, keepdim=True), shape[-1] * 8, shape[-2] * 8, "bilinear", "center")
        b = mask.shape[0]
        mask = mask.view(b, shape[-2], 8, shape[-1], 8).permute(0, 2, 4, 1, 3).reshape(b, 64, shape[-2], shape[-1])
        return torch.cat((image, _to_batch(mask, shape[0])), dim=1)

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        h, w = x_in.shape[-2:]
        out_channels = x_in.shape[1]
        x = x_in
        if "concat" in conds:
            x = torch.cat([x, conds["concat"].to(x.dtype)], dim=1)
        x = pad_to_patch(x)
        hp, wp = x.shape[-2:]
        tokens = pack(x)
        ids = image_ids(hp, wp, device=x.device, rope=module.__dict__.get(ROPE_ATTR))  # references: unscaled
        count = tokens.shape[1]
        if "ref_tokens" in conds:
            tokens = torch.cat([tokens, conds["ref_tokens"].to(tokens.dtype)], dim=1)
            ids = torch.cat([ids, conds["ref_ids"][0]], dim=0)
        context = conds["context"]
        txt_ids = torch.zeros(context.shape[1], 3, device=x.device)
        kwargs: dict[str, Any] = {}
        if "pooled" in conds:
            kwargs["pooled_projections"] = conds["pooled"]
        if "guidance" in conds:
            kwargs["guidance"] = conds["guidance"].reshape(-1)
        residuals: dict[str, Any] = {}
        control = conds.get("control")
        if control is not None:
            from ..control.base import ControlInputs

            latent_ids = image_ids(*pad_to_patch(x_in).shape[-2:], device=x.device)
            values = {"tokens": pack(pad_to_patch(x_in)), "img_ids": latent_ids, "txt_ids": txt_ids,
                      "context": context, **kwargs}
            values["pooled"] = values.pop("pooled_projections", None)
            blocks = {"double": len(module.transformer_blocks), "single": len(module.single_transformer_blocks)}
            residuals = control(ControlInputs("flux", x_in, timestep, module, values, blocks))
        with controlled(module, residuals), _guidance_switched(module, conds.get("guidance_on")):
            output = module(hidden_states=tokens, encoder_hidden_states=context, timestep=timestep.to(tokens.dtype),
                            img_ids=ids, txt_ids=txt_ids, return_dict=False, **kwargs)[0]
        output = unpack(output[:, :count], output.shape[-1] // (PATCH * PATCH), hp, wp)
        return output[:, :out_channels, :h, :w]


@contextmanager
def _guidance_switched(module: Any, on: torch.Tensor | None) -> Iterator[None]:
    """Entries whose guidance is off (FluxDisableGuidance: ComfyUI adds no guidance embedding to their
    vector) get diffusers' guidance embedding multiplied by 0 for one call."""
    embedder = getattr(getattr(module, "time_text_embed", None), "guidance_embedder", None)
    if on is None or embedder is None or bool((on != 0).all()):
        yield
        return
    factor = on.reshape(-1, 1)
    hook = embedder.register_forward_hook(lambda m, i, out: out * factor.to(out.device, out.dtype))
    try:
        yield
    finally:
        hook.remove()


def controlled(module: Any, residuals: dict[str, Any]) -> Any:
    """One call of a Flux transformer with ControlNet residuals added after its double and single blocks."""
    from contextlib import ExitStack

    from ..control.inject import block_residuals

    stack = ExitStack()
    if residuals.get("double"):
        stack.enter_context(block_residuals(module.transformer_blocks, residuals["double"]))
    if residuals.get("single"):
        stack.enter_context(block_residuals(module.single_transformer_blocks, residuals["single"]))
    return stack


def _to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    if tensor.shape[0] == batch:
        return tensor
    repeats = -(-batch // tensor.shape[0])
    return tensor.repeat(repeats, *([1] * (tensor.ndim - 1)))[:batch]

