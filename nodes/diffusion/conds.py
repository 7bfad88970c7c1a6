"""CONDITIONING entries prepared for one sampling run, with ComfyUI's rules for what each entry covers.

An entry is ``[embedding, options]``. The options the sampler honours, as ComfyUI does:

- ``area``: (h, w, y, x) in latent cells, or ("percentage", h, w, y, x) as fractions of the latent;
  ``strength`` weighs the entry where it applies. An area without a mask fades in over its inner
  edges (up to 8 cells) where it does not touch the border of the latent.
- ``mask`` (MASK [B?, H, W], resized to the latent) with ``mask_strength``; ``set_area_to_bounds`` runs
  the entry on the mask's bounding box only.
- ``start_percent`` / ``end_percent``: the entry applies while σ is within percent_to_sigma of both
  (intersected with ``clip_start_percent`` / ``clip_end_percent``, the range a scheduled CLIP encoded the
  entry for: SetClipHooks with schedule_clip).
- ``hooks``: the entry is evaluated with the network patched by those hooks (``hooks.sampling``);
  ``default`` (PairConditioningSetDefaultCombine): the entry applies only where the other entries of its
  list leave weight (:func:`default_slices`); ``gligen``: GLIGEN's boxes, run inside the network's
  transformer blocks for this entry (``gligen.py``), and given to the negative when it has none.
- ``control``: a CONTROL_NET (``control.base.ControlNet``, with the ones applied before it): entries run
  together only when they carry the same one, and the family's adapter adds its residuals.
- everything else (pooled outputs, SDXL sizes, Flux guidance …) goes to the model family's adapter,
  which turns an entry into the tensors its network takes (:class:`ModelAdapter`).

Where an area entry has no counterpart on the other side of CFG, the other side gets one over the same
area (ComfyUI's create_cond_with_same_area_if_none), so guidance is balanced region by region.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol
from uuid import UUID, uuid4

import torch
import torch.nn.functional as F  # noqa: N812

Area = tuple[int, int, int, int]  # (h, w, y, x) in latent cells


@dataclass(frozen=True)
class EncodeContext:
    """What an adapter may need besides the entry itself (ComfyUI passes the same to extra_conds)."""

    prompt_type: str  # "positive" or "negative" (a DualCFGGuider's middle prompt counts as negative)
    latent_shape: tuple[int, ...]  # [B, C, h, w] of the latent being sampled
    device: torch.device
    dtype: torch.dtype
    latent_image: torch.Tensor | None = None  # the input latent in the model's space (img2img, inpainting)
    denoise_mask: torch.Tensor | None = None  # [B, C, h, w], 1 where the sampler repaints
    seed: int | None = None


class ModelAdapter(Protocol):
    """How one model family's network is fed; the model layer provides one per family.

    ``encode`` runs once per conditioning entry and sampling run: it returns the tensors the network takes
    for that entry (batch dimension 1, or the latent batch), on ``ctx.device`` in ``ctx.dtype``. Entries
    whose tensors have equal keys and shapes are batched: each tensor is expanded to the latent batch and
    concatenated along dim 0. Keys in ``spatial_keys`` are latent-shaped [B, C, h, w] and cropped to an
    entry's area. ``apply`` is one network call on ``x_in`` (``model_sampling.calculate_input`` of the
    latent) at ``timestep`` (``model_sampling.timestep(σ)``, one per batch item) and returns the raw
    prediction (ε, v or flow velocity) with the shape of ``x_in``.

    An adapter whose ``reads_options`` is true is also given the call's ``transformer_options`` (``sigmas``,
    ``sample_sigmas`` …) as a keyword argument of ``apply``.

    An adapter that can run ComfyUI's attention and block patches (FreeU, PAG, ToMe …) also declares
    ``supported_patches`` and ``patched(module, transformer_options)``; see ``patches.support``.
    """

    spatial_keys: frozenset[str]

    def encode(self, module: Any, embedding: torch.Tensor, options: dict[str, Any], ctx: EncodeContext
               ) -> dict[str, torch.Tensor]:
        ...

    def apply(self, module: Any, x_in: torch.Tensor, timestep: torch.Tensor,
              conds: dict[str, torch.Tensor]) -> torch.Tensor:
        ...


@dataclass(eq=False)
class Cond:
    """One conditioning entry ready for the sampler (ComfyUI's cond dict after process_conds)."""

    tensors: dict[str, torch.Tensor]
    area: Area | None = None
    strength: float = 1.0
    mask: torch.Tensor | None = None  # [B or 1, h, w] at the latent's size
    mask_strength: float = 1.0
    sigma_start: float | None = None  # the entry applies while σ ≤ sigma_start …
    sigma_end: float | None = None  # … and σ ≥ sigma_end
    options: dict[str, Any] = field(default_factory=dict)
    control: Any = None  # the entry's CONTROL_NET (ComfyUI's cond["control"])
    uuid: UUID = field(default_factory=uuid4)  # ComfyUI's per-entry id (transformer_options["uuids"])
    default: bool = False  # applies where no other entry of its list does (PairConditioningSetDefaultCombine)
    # what the network runs for this entry inside its blocks (GLIGEN): (input shape, device) → context
    # giving transformer_options patches; entries with one are never batched with others, as in ComfyUI
    patches: Callable[[tuple[int, ...], torch.device], AbstractContextManager[dict[str, list[Any]]]] | None = None

    def shape_key(self) -> tuple[Any, ...]:
        return tuple((k, tuple(v.shape)) for k, v in sorted(self.tensors.items()))


def resolve_area(area: Any, height: int, width: int) -> Area | None:
    """An ``area`` option in latent cells; percentages are rounded as ComfyUI rounds them."""
    if area is None:
        return None
    if len(area) == 5 and area[0] == "percentage":
        _, h, w, y, x = area
        return max(1, round(h * height)), max(1, round(w * width)), round(y * height), round(x * width)
    if len(area) == 4:
        h, w, y, x = (int(v) for v in area)
        return h, w, y, x
    raise ValueError(f"conditioning area {area!r} is neither (h, w, y, x) nor ('percentage', h, w, y, x)")


def resolve_mask(mask: torch.Tensor, height: int, width: int, device: torch.device) -> torch.Tensor:
    """A conditioning mask as [B, h, w] at the latent's size (bilinear, as ComfyUI)."""
    mask = mask.to(device=device, dtype=torch.float32)
    if mask.ndim == 2:
        mask = mask.unsqueeze(0)
    if mask.shape[1:] != (height, width):
        mask = F.interpolate(mask.unsqueeze(1), size=(height, width), mode="bilinear").squeeze(1)
    return mask


def mask_bounds(mask: torch.Tensor) -> Area:
    """The bounding box of a mask's non-zero cells (at least 8×8), as ComfyUI's "mask bounds"."""
    bounds = torch.max(torch.abs(mask), dim=0).values
    if not bool((bounds != 0).any()):
        return 8, 8, 0, 0  # an empty mask: the smallest area (the entry then adds nothing)
    ys, xs = torch.where(bounds != 0)
    y0, x0, y1, x1 = int(ys.min()), int(xs.min()), int(ys.max()), int(xs.max())
    return max(8, y1 - y0 + 1), max(8, x1 - x0 + 1), y0, x0


def prepare(conditioning: list[list[Any]], adapter: ModelAdapter, module: Any, model_sampling: Any,
            ctx: EncodeContext) -> list[Cond]:
    """Every entry of a CONDITIONING, encoded for the model and with its area, mask and σ range resolved."""
    height, width = ctx.latent_shape[-2], ctx.latent_shape[-1]
    out = []
    for embedding, options in conditioning:
        area = resolve_area(options.get("area"), height, width)
        mask = options.get("mask")
        if mask is not None:
            mask = resolve_mask(mask, height, width, ctx.device)
            if options.get("set_area_to_bounds", False):
                area = mask_bounds(mask)
        sigma_start = sigma_end = None
        if "clip_start_percent" in options:  # a scheduled CLIP's range, within the entry's own
            sigma_start = model_sampling.percent_to_sigma(max(options["clip_start_percent"],
                                                              options.get("start_percent", 0.0)))
            sigma_end = model_sampling.percent_to_sigma(min(options["clip_end_percent"],
                                                            options.get("end_percent", 1.0)))
        else:
            if "start_percent" in options:
                sigma_start = model_sampling.percent_to_sigma(options["start_percent"])
            if "end_percent" in options:
                sigma_end = model_sampling.percent_to_sigma(options["end_percent"])
        entry_ctx = replace(ctx, prompt_type=options["prompt_type"]) if "prompt_type" in options else ctx
        tensors = adapter.encode(module, embedding, options, entry_ctx)
        out.append(Cond(tensors, area, float(options.get("strength", 1.0)), mask,
                        float(options.get("mask_strength", 1.0)), sigma_start, sigma_end, options,
                        options.get("control"), default="default" in options, patches=_patches_of(options)))
    return out


def _patches_of(options: dict[str, Any]) -> Any:
    gligen = options.get("gligen")
    if gligen is None:
        return None
    from .gligen import patches_for

    return patches_for(gligen)


def share_gligen(conds: dict[str, list[Cond]]) -> None:
    """Give the other lists the positive's GLIGEN boxes when none of their whole-image entries has any:
    the i-th boxed positive entry goes to the i-th (cyclically) whole-image entry (ComfyUI's
    apply_empty_x_to_equal_area for "gligen")."""
    boxed = [c for c in conds.get("positive", []) if c.area is None and c.patches is not None]
    if not boxed:
        return
    for name, entries in conds.items():
        if name == "positive":
            continue
        whole = [(i, c) for i, c in enumerate(entries) if c.area is None]
        if not whole or any(c.patches is not None for _, c in whole):
            continue
        plain = [(i, c) for i, c in whole if c.patches is None]
        for n, source in enumerate(boxed):
            i, target = plain[n % len(plain)]
            entries[i] = replace(target, options={**target.options, "gligen": source.options["gligen"]},
                                 patches=source.patches)


def _inside(inner: Area, outer: Area) -> bool:
    return (inner[2] >= outer[2] and inner[3] >= outer[3]
            and inner[0] + inner[2] <= outer[0] + outer[2] and inner[1] + inner[3] <= outer[1] + outer[3])


def pair_areas(conds: dict[str, list[Cond]]) -> None:
    """Give each area entry a counterpart with the same area in every other list that lacks one: a copy of
    the entry carrying the smallest entry there that covers the area (ComfyUI's rule)."""
    for name, entries in conds.items():
        for entry in list(entries):
            if entry.area is None:
                continue
            for other_name, others in conds.items():
                if other_name == name:
                    continue
                smallest: Cond | None = None
                for candidate in others:
                    if candidate.area is None:
                        smallest = smallest or candidate
                    elif _inside(entry.area, candidate.area) and (
                            smallest is None or smallest.area is None
                            or math.prod(smallest.area[:2]) > math.prod(candidate.area[:2])):
                        smallest = candidate
                if smallest is None or smallest.area == entry.area:
                    continue
                others.append(replace(entry, tensors=smallest.tensors))


@dataclass
class Slice:
    """An entry's share of one evaluation: its input, its weight map, where it goes."""

    cond: Cond
    input_x: torch.Tensor
    mult: torch.Tensor
    area: Area | None
    weighted: bool = False  # ``mult`` was computed from the other entries (a default entry's)


def area_and_mult(cond: Cond, x: torch.Tensor, sigma: torch.Tensor) -> Slice | None:
    """The input crop and weight map of an entry at σ, or None when its σ range excludes σ."""
    current = float(sigma.reshape(-1)[0])
    if cond.sigma_start is not None and current > cond.sigma_start:
        return None
    if cond.sigma_end is not None and current < cond.sigma_end:
        return None
    area = cond.area
    input_x = x
    if area is not None:
        h, w, y, x0 = area
        h, w = min(x.shape[2] - y, h), min(x.shape[3] - x0, w)
        area = (h, w, y, x0)
        input_x = x[:, :, y:y + h, x0:x0 + w]
    if cond.mask is not None:
        mask = cond.mask[:input_x.shape[0]]
        if area is not None:
            mask = mask[:, area[2]:area[2] + area[0], area[3]:area[3] + area[1]]
        mask = (mask * cond.mask_strength).unsqueeze(1)
        mult = mask.repeat(input_x.shape[0] // mask.shape[0], input_x.shape[1], 1, 1) * cond.strength
    else:
        mult = torch.ones_like(input_x) * cond.strength
    if cond.mask is None and area is not None:
        _feather(mult, area, x.shape)
    return Slice(cond, input_x, mult, area)


def _feather(mult: torch.Tensor, area: Area, full: torch.Size) -> None:
    """Fade an area's weight in over up to 8 cells along each inner edge (ComfyUI's fuzz)."""
    h, w, y, x = area
    for dim, (size, offset, extent) in enumerate(((h, y, full[2]), (w, x, full[3]))):
        rr = min(8, mult.shape[2 + dim] // 4)
        if offset != 0:
            for t in range(rr):
                mult.narrow(2 + dim, t, 1).mul_((1.0 / rr) * (t + 1))
        if size + offset < extent:
            for t in range(rr):
                mult.narrow(2 + dim, size - 1 - t, 1).mul_((1.0 / rr) * (t + 1))


def default_slices(work: list[tuple[int, Slice]], defaults: list[list[Cond]], x: torch.Tensor,
                   sigma: torch.Tensor) -> list[tuple[int, Slice]]:
    """The default entries of each list (PairConditioningSetDefaultCombine), weighted by what the list's
    other entries leave: 1 − the sum of their weight maps, clamped at 0. A list whose entries cover
    everything runs no default entry (ComfyUI's finalize_default_conds)."""
    out: list[tuple[int, Slice]] = []
    for index, entries in enumerate(defaults):
        if not entries:
            continue
        left = torch.ones_like(x)
        for i, piece in work:
            if i != index:
                continue
            if piece.area is None:
                left -= piece.mult
            else:
                h, w, y, x0 = piece.area
                left[:, :, y:y + h, x0:x0 + w] -= piece.mult
        torch.relu_(left)
        if float(left.max()) == 0.0:
            continue
        for cond in entries:
            piece = area_and_mult(cond, x, sigma)
            if piece is None:
                continue
            mult = left
            if piece.area is not None:
                h, w, y, x0 = piece.area
                mult = left[:, :, y:y + h, x0:x0 + w]
            out.append((index, replace(piece, mult=mult, weighted=True)))
    return out
