"""The names a trained LoRA is written under, and the factors written for layers the original model fuses.

A trained adapter sits on a diffusers module; the file names the module as the model's original layout
does, flattened with underscores after kohya's ``lora_unet_`` (what ComfyUI's LoraLoader, ours and kohya's
tools read): an SD UNet's LDM names (``lora_unet_input_blocks_1_1_proj_in``), a family's own names from
its ``lora_names`` (Flux's ``lora_unet_double_blocks_0_img_attn_qkv``). Where the original fuses layers
that diffusers keeps apart (Flux's q, k, v), the parts' LoRAs become one LoRA of the fused layer: the downs
stacked, the ups placed block-diagonally at each part's rows, so up·down is each part's product at its rows
and zero elsewhere (LoHa and LoKr cannot be fused so: their parts keep diffusers' names after
``lycoris_``). A family with neither keeps diffusers' names (``lora_unet_transformer_blocks_0_…``), which
our loader reads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

log = logging.getLogger(__name__)

PREFIX = "lora_unet_"


@dataclass(frozen=True)
class Place:
    """Where a diffusers module's LoRA goes: the original (flattened) name, and its rows in the original
    weight when the original fuses it with other modules (``parts``: every module of that weight)."""

    stem: str
    rows: tuple[int, int] | None = None
    parts: tuple[tuple[str, tuple[int, int] | None], ...] = ()


@dataclass(frozen=True)
class Factors:
    """One module's trained LoRA: down [r, in(, k, k)], up [out, r(, 1, 1)], alpha (scale alpha / r)."""

    down: torch.Tensor
    up: torch.Tensor
    alpha: float

    @property
    def rank(self) -> int:
        return int(self.down.shape[0])


@dataclass(frozen=True)
class Lycoris:
    """One module's trained LoHa or LoKr: peft's tensors under LyCORIS' names (``hada_w1_a`` …, ``lokr_w1``
    …), its alpha and rank (peft scales by alpha / rank)."""

    tensors: dict[str, torch.Tensor]
    alpha: float
    rank: int

    def lyco_state(self) -> tuple[dict[str, torch.Tensor], float | None]:
        """The tensors and alpha LoraLoader applies as peft computed: LoHa's scale is alpha / rank in both;
        ComfyUI's LoKr ignores alpha when neither factor is decomposed, so peft's alpha / rank is then
        multiplied into the first factor and no alpha written."""
        tensors = dict(self.tensors)
        if "lokr_w1" in tensors and "lokr_w2_b" not in tensors and "lokr_w1_b" not in tensors:
            tensors["lokr_w1"] = tensors["lokr_w1"] * (self.alpha / self.rank)
            return tensors, None
        return tensors, self.alpha


def places(module: torch.nn.Module, detected: Any, names: Mapping[str, Any] | None,
           modules: list[str]) -> dict[str, Place]:
    """Where each of ``modules`` (diffusers names) is written. ``names`` is the family's ``lora_names``
    (original flat name → [(diffusers module, rows)]); None for an SD UNet, whose LDM names come from its
    config."""
    out: dict[str, Place] = {}
    if names is not None:
        for flat, targets in names.items():
            parts = tuple((str(m), None if rows is None else (int(rows[0]), int(rows[1]))) for m, rows in targets)
            fused = len(parts) > 1 or parts[0][1] is not None
            for name, rows in parts:
                out[name] = Place(flat, rows, parts if fused else ())
    elif hasattr(getattr(module, "config", None), "down_block_types"):
        from ..ldm_format import unet_diffusers_to_ldm

        for name in modules:
            try:
                (key,) = unet_diffusers_to_ldm({f"{name}.weight": None}, module.config, prefix="")
            except (KeyError, ValueError):
                continue
            out[name] = Place(key[: -len(".weight")].replace(".", "_"))
    missing = [name for name in modules if name not in out]
    if missing:
        family = getattr(getattr(detected, "family", None), "name", "this model")
        log.info("%d trained modules of %s have no original-layout name; written under diffusers' names (%s …)",
                 len(missing), family, missing[0])
        for name in missing:
            out[name] = Place(name.replace(".", "_"))
    return out


def _out_rows(module: torch.nn.Module, parts: tuple[tuple[str, tuple[int, int] | None], ...]) -> int:
    """Rows of the fused original weight: the largest end among its parts."""
    end = 0
    for name, rows in parts:
        if rows is None:
            return int(module.get_submodule(name).weight.shape[0])
        end = max(end, rows[1])
    return end


def kohya_state(module: torch.nn.Module, trained: Mapping[str, Factors | Lycoris], where: Mapping[str, Place],
                dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """The trained weights as a kohya-format state dict (``<stem>.lora_down.weight``, ``.lora_up.weight``,
    ``.alpha``; LyCORIS' ``<stem>.hada_w1_a`` … for LoHa and LoKr), tensors in ``dtype`` on the CPU (alpha in
    float32, exact). LoHa and LoKr on a part of a fused original layer (Flux's q) go under
    ``lycoris_<diffusers name>``, which ComfyUI's and our loaders map to that part."""
    state: dict[str, torch.Tensor] = {}
    fused: dict[str, list[tuple[Place, Factors]]] = {}
    for name, factors in trained.items():
        place = where[name]
        if isinstance(factors, Lycoris):  # one module's own weights: a fused original's part keeps its own name
            stem = f"lycoris_{name.replace('.', '_')}" if place.parts else PREFIX + place.stem
            tensors, alpha = factors.lyco_state()
            for key, tensor in tensors.items():
                state[f"{stem}.{key}"] = tensor.detach().to("cpu", dtype).contiguous()
            if alpha is not None:
                state[f"{stem}.alpha"] = torch.tensor(float(alpha), dtype=torch.float32)
            continue
        if place.parts:
            fused.setdefault(place.stem, []).append((place, factors))
            continue
        _write(state, place.stem, factors.down, factors.up, factors.alpha, dtype)
    for stem, members in fused.items():
        ratios = {m.alpha / m.rank for _, m in members}
        if len(ratios) != 1:  # parts trained at different scales: bake each scale into its up
            members = [(p, Factors(m.down, m.up * (m.alpha / m.rank), float(m.rank))) for p, m in members]
        rank = sum(m.rank for _, m in members)
        alpha = members[0][1].alpha / members[0][1].rank * rank
        first = members[0][1]
        rows = _out_rows(module, members[0][0].parts)
        down = torch.cat([m.down.float() for _, m in members])
        up = torch.zeros((rows, rank, *first.up.shape[2:]), dtype=torch.float32)
        column = 0
        for place, m in members:
            start, end = place.rows if place.rows is not None else (0, rows)
            up[start:end, column:column + m.rank] = m.up.float()
            column += m.rank
        _write(state, stem, down, up, alpha, dtype)
    return state


def _write(state: dict[str, torch.Tensor], stem: str, down: torch.Tensor, up: torch.Tensor, alpha: float,
           dtype: torch.dtype) -> None:
    key = PREFIX + stem
    state[f"{key}.lora_down.weight"] = down.detach().to("cpu", dtype).contiguous()
    state[f"{key}.lora_up.weight"] = up.detach().to("cpu", dtype).contiguous()
    state[f"{key}.alpha"] = torch.tensor(float(alpha), dtype=torch.float32)
