"""Qwen-Image (2512, Edit, Edit 2509, Edit 2511, Layered) as diffusers' QwenImageTransformer2DModel.

ComfyUI's files (``qwen_image_2512_fp8_e4m3fn.safetensors``, ``qwen_image_edit_2511_fp8mixed.safetensors``,
``qwen_image_layered_bf16.safetensors`` …) keep diffusers' own key names (``transformer_blocks.N.img_mod.1``,
``txt_norm``, ``img_in`` …), with or without ``model.diffusion_model.``; fp8, scaled-fp8 and fp8mixed
files load through the usual scales. The architecture is read from the tensors: width and head width (the
q-norm has one weight per head channel), depth, text width (``txt_in``), latent channels, and whether the
timestep embedder has Layered's extra embedding (``time_text_embed.addition_t_embedding``). Edit 2511's
files carry ComfyUI's empty ``__index_timestep_zero__`` marker: their reference latents are modulated at
timestep 0 (diffusers' ``zero_cond_t``) unless a node chooses another method.

Sampling as ComfyUI's QwenImage: ModelSamplingFlux with shift 1.15 (the templates set AuraFlow's shift with
ModelSamplingAuraFlow), the network fed σ. Latents are Wan 2.1's: 16 channels normalised per channel with
the VAE's mean and standard deviation, sampled as one-frame video latents [B, 16, 1, h, w] (Layered: one
frame per layer plus the composite).

The adapter feeds the model the way ComfyUI's own Qwen-Image implementation does, which is not quite
diffusers' pipeline: rotary positions are centred on each image (row − ⌊h/2⌋), the text starts after the
*generated* image only, and reference latents are placed by ComfyUI's methods ("index": frame 1, 2 …;
"index_timestep_zero": the same, modulated at t = 0; "negative_index": frame −1, −2 … as Layered's input
image; "offset": Kontext's tiling). The positions reach the diffusers module through its ``pos_embed``,
which :class:`ComfyRope` replaces (it computes rotary factors for the ids the adapter passes).
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import Any, ClassVar

import torch

from ..patches.dit_blocks import SUPPORTED as DIT_PATCHES
from ..state_dict import TensorIndex, block_count
from .base import Detected, DiffusionFamily, LatentFormat
from .flux import rope_axes
from .wan import WAN21_LATENT  # ComfyUI: Qwen-Image's latents are Wan 2.1's (latent_formats.Wan21)

MARKER = "transformer_blocks.0.img_mod.1.weight"
ZERO_MARKER = "__index_timestep_zero__"
PATCH = 2
METHODS = ("index", "index_timestep_zero", "negative_index", "offset")


class QwenImage(DiffusionFamily):
    name = "qwen_image"
    latent = WAN21_LATENT
    text_encoders: ClassVar[tuple[str, ...]] = ("qwen25_7b",)
    vae = "qwen_image"

    def detect(self, index: TensorIndex) -> Detected | None:
        prefix = index.prefix_of(MARKER)
        if prefix is None or prefix + "txt_norm.weight" not in index:
            return None

        def shape(key: str) -> tuple[int, ...]:
            found = index.shape(prefix + key)
            if found is None:
                raise KeyError(key)
            return found

        keys = {k[len(prefix):]: None for k in index if k.startswith(prefix)}
        width, in_channels = shape("img_in.weight")
        head_dim = shape("transformer_blocks.0.attn.norm_q.weight")[0]
        layered = "time_text_embed.addition_t_embedding.weight" in keys
        config = {"patch_size": PATCH, "in_channels": in_channels,
                  "out_channels": shape("proj_out.weight")[0] // (PATCH * PATCH),
                  "num_layers": block_count(keys, "transformer_blocks."), "attention_head_dim": head_dim,
                  "num_attention_heads": width // head_dim, "joint_attention_dim": shape("txt_in.weight")[1],
                  "axes_dims_rope": rope_axes(head_dim), "use_additional_t_cond": layered}
        if ZERO_MARKER in keys:
            method, variant = "index_timestep_zero", "edit_2511"
        elif layered:
            method, variant = "negative_index", "layered"
        else:
            method, variant = "index", ""
        return Detected(self, config, prefix, variant, extra={"ref_method": method})

    def build(self, tensors: dict[str, torch.Tensor], detected: Detected, dtype: torch.dtype) -> torch.nn.Module:
        from diffusers import QwenImageTransformer2DModel

        from ..scaled_fp8 import split_scales
        from ..weights import apply_scales, assemble

        weights, scales = split_scales(tensors, detected.source)
        weights.pop(ZERO_MARKER, None)
        model = assemble(QwenImageTransformer2DModel, detected.config, weights, dtype, "transformer", detected.source)
        model.pos_embed = ComfyRope(tuple(detected.config["axes_dims_rope"]))
        if scales:
            apply_scales(model, scales)
        return model  # type: ignore[no-any-return]

    def model_sampling(self, detected: Detected) -> Any:
        from .. import model_sampling as ms

        return ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=1.15)

    def adapter(self, detected: Detected) -> Any:
        return QwenImageAdapter(self.latent, str(detected.extra.get("ref_method", "index")))

    def lora_names(self, detected: Detected, module: torch.nn.Module) -> dict[str, Any] | None:
        return {}  # LoRAs for Qwen-Image use the diffusers names the module already answers to


def pad_to_patch(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T, H, W] padded (wrapping) to even H and W, as ComfyUI's pad_to_patch_size."""
    pad_h, pad_w = (-x.shape[-2]) % PATCH, (-x.shape[-1]) % PATCH
    if pad_h or pad_w:
        b, c, t = x.shape[:3]
        flat = x.reshape(b, c * t, x.shape[-2], x.shape[-1])
        flat = torch.nn.functional.pad(flat, (0, pad_w, 0, pad_h), mode="circular")
        x = flat.reshape(b, c, t, flat.shape[-2], flat.shape[-1])
    return x


def pack(x: torch.Tensor) -> torch.Tensor:
    """[B, C, T, H, W] (even H, W) → [B, T·(H/2)·(W/2), C·4], patch channels ordered (c, ph, pw)."""
    b, c, t, h, w = x.shape
    x = x.view(b, c, t, h // PATCH, PATCH, w // PATCH, PATCH).permute(0, 2, 3, 5, 1, 4, 6)
    return x.reshape(b, t * (h // PATCH) * (w // PATCH), c * PATCH * PATCH)


def unpack(x: torch.Tensor, channels: int, t: int, h: int, w: int) -> torch.Tensor:
    b = x.shape[0]
    x = x.view(b, t, h // PATCH, w // PATCH, channels, PATCH, PATCH).permute(0, 4, 1, 2, 5, 3, 6)
    return x.reshape(b, channels, t, h, w)


def image_ids(t: int, h: int, w: int, index: float = 0.0, h_offset: int = 0, w_offset: int = 0) -> torch.Tensor:
    """Position ids [t·(h/2)·(w/2), 3] of a latent of t frames, h×w cells: (frame, row, column), rows and
    columns centred on the image (ComfyUI's process_img); several frames (Layered) are numbered 0 … t−1,
    one frame takes ``index``."""
    rows, cols = (h + PATCH // 2) // PATCH, (w + PATCH // 2) // PATCH
    h_offset, w_offset = (h_offset + PATCH // 2) // PATCH, (w_offset + PATCH // 2) // PATCH
    ids = torch.zeros(t, rows, cols, 3)
    ids[..., 0] = torch.arange(t, dtype=torch.float32)[:, None, None] if t > 1 else index
    ids[..., 1] = torch.arange(rows, dtype=torch.float32)[None, :, None] + h_offset - rows // 2
    ids[..., 2] = torch.arange(cols, dtype=torch.float32)[None, None, :] + w_offset - cols // 2
    return ids.reshape(t * rows * cols, 3)


def reference_placement(refs: list[torch.Tensor], method: str) -> list[tuple[float, int, int]]:
    """(frame index, row offset, column offset) of each reference latent under ComfyUI's methods."""
    out = []
    h_used = w_used = 0
    index = 0
    for ref in refs:
        rh, rw = ref.shape[-2], ref.shape[-1]
        if method in ("index", "index_timestep_zero"):
            index += 1
            out.append((index, 0, 0))
        elif method == "negative_index":
            index -= 1
            out.append((index, 0, 0))
        else:  # "offset": Kontext's tiling, beside or below the earlier references
            h_offset = w_offset = 0
            if rh + h_used > rw + w_used:
                w_offset = w_used
            else:
                h_offset = h_used
            h_used = max(h_used, rh + h_offset)
            w_used = max(w_used, rw + w_offset)
            out.append((1, h_offset, w_offset))
    return out


def _five_d(latent: torch.Tensor) -> torch.Tensor:
    return latent.unsqueeze(2) if latent.ndim == 4 else latent


class PositionPlan(list):  # type: ignore[type-arg]
    """What one call's rotary positions are: the shapes (frames, rows, columns in patches) of the generated
    image and of each reference — the list diffusers reads to tell references apart for ``zero_cond_t`` —
    and the ids of every image token and text token."""

    def __init__(self, shapes: list[tuple[int, int, int]], img_ids: torch.Tensor, txt_ids: torch.Tensor) -> None:
        super().__init__(shapes)
        self.img_ids = img_ids
        self.txt_ids = txt_ids


class ComfyRope(torch.nn.Module):
    """Rotary factors (complex, [tokens, head_dim / 2]) for ids given per axis, θ = 10000, as ComfyUI's
    EmbedND computes them (in float64, per axis, pairs of channels rotated together): the ``pos_embed`` of
    a Qwen-Image module Inkgraph built. Called by the diffusers module with the ``img_shapes`` it was given,
    which is a :class:`PositionPlan` per batch item."""

    def __init__(self, axes_dim: tuple[int, ...], theta: float = 10000.0) -> None:
        super().__init__()
        self.axes_dim = tuple(axes_dim)
        self.theta = theta

    def factors(self, ids: torch.Tensor, device: torch.device | None) -> torch.Tensor:
        parts = []
        for axis, dim in enumerate(self.axes_dim):
            omega = 1.0 / (self.theta ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
            angles = ids[:, axis].to(torch.float64)[:, None] * omega[None, :]
            parts.append(torch.polar(torch.ones_like(angles), angles))
        return torch.cat(parts, dim=-1).to(torch.complex64).to(device)

    def forward(self, video_fhw: Any, device: torch.device | None = None, max_txt_seq_len: Any = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        plan = video_fhw[0] if isinstance(video_fhw, list) and video_fhw and isinstance(video_fhw[0], list) \
            else video_fhw
        if not isinstance(plan, PositionPlan):
            raise TypeError("this Qwen-Image module takes its positions from Inkgraph's adapter (a PositionPlan)")
        return self.factors(plan.img_ids, device), self.factors(plan.txt_ids, device)


@contextmanager
def _zero_cond(module: Any, enabled: bool) -> Any:
    """diffusers' ``zero_cond_t`` (reference tokens modulated at t = 0) switched on for one call."""
    if not enabled:
        yield
        return
    blocks = list(module.transformer_blocks)
    module.zero_cond_t = True
    for block in blocks:
        block.zero_cond_t = True
    try:
        yield
    finally:
        module.zero_cond_t = False
        for block in blocks:
            block.zero_cond_t = False


class QwenImageAdapter:
    """Feeds a diffusers QwenImageTransformer2DModel (see ``conds.ModelAdapter``).

    Per entry: the text states (and the encoder's attention mask when it pads); the reference latents
    (ReferenceLatent, TextEncodeQwenImageEdit) in the model's space, packed with their position ids under
    the entry's ``reference_latents_method`` (or the model's default); whether the references are
    modulated at timestep 0.
    """

    spatial_keys: frozenset[str] = frozenset()

    supported_patches: frozenset[str] = DIT_PATCHES | {"double_block"}
    control_family = "qwen_image"  # InstantX ControlNets (``control.qwen``) add residuals after each block

    @contextmanager
    def patched(self, module: Any, transformer_options: dict[str, Any]) -> Any:
        """One call of ``module`` with the call's DiT block replacements (see ``patches.dit_blocks``) and its
        ``double_block`` patches (QwenImageDiffsynthControlnet), which :meth:`apply` runs after each block."""
        from ..control.inject import lent
        from ..patches.dit_blocks import DOUBLE_QWEN, installed

        double = list((transformer_options.get("patches") or {}).get("double_block") or ())
        with installed(module, transformer_options, (DOUBLE_QWEN,)), lent(module, double, transformer_options):
            yield

    def __init__(self, latent_format: LatentFormat, default_method: str = "index") -> None:
        self.latent_format = latent_format
        self.default_method = default_method

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: Any
               ) -> dict[str, torch.Tensor]:
        device, dtype = ctx.device, ctx.dtype
        out = {"context": embedding.to(device, dtype)}
        mask = options.get("attention_mask")
        if mask is not None:
            out["mask"] = mask.reshape(1, -1).to(device, torch.float32)
        refs = options.get("reference_latents")
        if refs:
            method = str(options.get("reference_latents_method", self.default_method))
            if method not in METHODS:
                method = "offset" if method == "uxo" else "index"
            tokens, ids, shapes = [], [], []
            for ref, (index, h_offset, w_offset) in zip(refs, reference_placement(list(refs), method), strict=True):
                ref = pad_to_patch(self.latent_format.process_in(_five_d(ref.float()))[:1])
                tokens.append(pack(ref))
                t, h, w = ref.shape[2:]
                ids.append(image_ids(1, h, w, index, h_offset, w_offset).repeat(t, 1))
                shapes.append([t, h // PATCH, w // PATCH])
            out["ref_tokens"] = torch.cat(tokens, dim=1).to(device, dtype)
            out["ref_ids"] = torch.cat(ids, dim=0)[None]
            out["ref_shapes"] = torch.tensor(shapes)[None]
            out["ref_zero"] = torch.tensor([[1.0 if method == "index_timestep_zero" else 0.0]])
        return out

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        flat = x_in.ndim == 4
        x = _five_d(x_in)
        b, channels, t, h, w = x.shape
        x = pad_to_patch(x)
        hp, wp = x.shape[-2:]
        tokens = pack(x)
        count = tokens.shape[1]
        img_ids = image_ids(t, hp, wp)
        shapes = [(t, hp // PATCH, wp // PATCH)]
        zero = False
        if "ref_tokens" in conds:
            tokens = torch.cat([tokens, conds["ref_tokens"].to(tokens.dtype)], dim=1)
            img_ids = torch.cat([img_ids, conds["ref_ids"][0].cpu()], dim=0)
            shapes += [tuple(int(v) for v in s) for s in conds["ref_shapes"][0].tolist()]
            zero = bool(conds["ref_zero"].reshape(-1)[0] > 0)
        image_tokens = tokens[:, :count]
        context = conds["context"]
        start = max((hp // PATCH) // 2, (wp // PATCH) // 2)
        txt_ids = torch.arange(start, start + context.shape[1], dtype=torch.float32)[:, None].repeat(1, 3)
        plan = PositionPlan(shapes, img_ids, txt_ids)
        kwargs: dict[str, Any] = {}
        if "mask" in conds:
            kwargs["encoder_hidden_states_mask"] = conds["mask"].to(x.device)
        if module.config.get("use_additional_t_cond"):
            kwargs["additional_t_cond"] = torch.zeros(b, dtype=torch.long, device=x.device)
        with _zero_cond(module, zero), self._steered(module, x_in, timestep, image_tokens, context, kwargs,
                                                     [[shapes[0]]] * b, conds.get("control")):
            output = module(hidden_states=tokens, encoder_hidden_states=context, timestep=timestep.to(tokens.dtype),
                            img_shapes=[plan] * b, return_dict=False, **kwargs)[0]
        output = unpack(output[:, :count], output.shape[-1] // (PATCH * PATCH), t, hp, wp)
        output = output[:, :channels, :, :h, :w]
        return output[:, :, 0] if flat else output

    @contextmanager
    def _steered(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor, tokens: torch.Tensor,
                 context: torch.Tensor, kwargs: dict[str, Any], img_shapes: list[Any], control: Any) -> Any:
        """The call's ``double_block`` patches after each block, then its ControlNets' residuals (ComfyUI's
        order): InstantX ControlNets see the image tokens (not the references), the text and its mask."""
        from ..control.inject import BLOCK_PATCHES, block_patches, block_residuals

        with ExitStack() as stack:
            lent_patches = module.__dict__.get(BLOCK_PATCHES)
            if lent_patches and lent_patches[0]:
                stack.enter_context(block_patches(module.transformer_blocks, lent_patches[0], x_in, lent_patches[1]))
            if control is not None:
                from ..control.base import ControlInputs

                values = {"tokens": tokens, "context": context, "img_shapes": img_shapes,
                          "context_mask": kwargs.get("encoder_hidden_states_mask")}
                blocks = {"blocks": len(module.transformer_blocks)}
                residuals = control(ControlInputs("qwen_image", x_in, timestep, module, values, blocks))
                if residuals.get("blocks"):
                    stack.enter_context(block_residuals(module.transformer_blocks, residuals["blocks"]))
            yield
