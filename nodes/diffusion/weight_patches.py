"""ComfyUI's weight patches (``ModelPatcher.add_patches``), applied the way LoRAs are applied here.

A ComfyUI node pack changes weights by handing its ``ModelPatcher`` a dict ``{state-dict key: patch}``:
model merges give another model's weight (``get_key_patches``), LoRA loaders give low-rank factors, some
nodes give a plain difference. ComfyUI keeps the list and computes each patched weight when the model is
loaded (``comfy.lora.calculate_weight``): the weight is first scaled by the entry's ``strength_model``, then
the patch is applied times its strength.

Here one ``add_patches`` call becomes one :class:`~.lora.LoraFile` whose entries are :class:`WeightPatch`
objects, carried on the MODEL (or CLIP) handle as a LoRA is; ``lora.sync`` applies them in order and keeps the
originals aside, so a handle without the patches gets the original weights back, exactly.

Patch values understood (ComfyUI's spellings): ``(tensor,)`` and ``("diff", (tensor,))`` add a difference;
``("set", (tensor,))`` replaces the weight; ``("lora", (up, down, alpha, mid, dora_scale, …))`` and weight
adapters with ``.weights`` (``comfy.weight_adapter.LoRAAdapter``) add alpha/rank · up·down; a list
``[(weight, convert), entries…]`` (what ``get_key_patches`` returns) is that weight with its own entries
applied, added as a difference. Other kinds (LoHa, LoKr, GLoRA, DoRA) raise an error naming ComfyUI's
function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


class UnsupportedPatch(NotImplementedError):
    """A patch kind Inkgraph does not compute (it names ComfyUI's function)."""


def _unsupported(kind: str) -> UnsupportedPatch:
    return UnsupportedPatch(f"ComfyUI's comfy.lora.calculate_weight for {kind!r} weight patches is not available in "
                            "Inkgraph yet (a node pack passed one to ModelPatcher.add_patches)")


def _tensor(value: Any) -> torch.Tensor:
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], torch.Tensor) and callable(value[1]):
        return value[0]  # (weight, convert function) from get_key_patches
    if not isinstance(value, torch.Tensor):
        raise _unsupported(type(value).__name__)
    return value


def _rows(tensor: torch.Tensor, shape: torch.Size, rows: tuple[int, int] | None) -> torch.Tensor:
    """The rows of a fused original weight (Flux's q, k, v) that a split module holds."""
    if rows is not None and tensor.shape[0] != shape[0]:
        tensor = tensor[rows[0]:rows[1]]
    if tensor.numel() != shape.numel():
        raise ValueError(f"a weight patch of shape {tuple(tensor.shape)} does not fit a weight of shape {tuple(shape)}")
    return tensor.reshape(shape)


def _low_rank(weights: tuple[Any, ...]) -> torch.Tensor:
    """alpha/rank · up·down of a ComfyUI LoRA patch ``(up, down, alpha, mid, dora_scale, …)``."""
    up, down, alpha = weights[0], weights[1], weights[2] if len(weights) > 2 else None
    if len(weights) > 3 and weights[3] is not None:
        raise _unsupported("lora with a mid weight (LoCon)")
    if len(weights) > 4 and weights[4] is not None:
        raise _unsupported("DoRA")
    scale = float(alpha) / down.shape[0] if alpha is not None else 1.0
    return (up.flatten(1).float() @ down.flatten(1).float()) * scale


@dataclass
class WeightPatch:
    """One ``add_patches`` entry for one tensor of one module (``module``: the flattened module name a LoRA
    would use; ``param``: "weight" or "bias")."""

    value: Any
    module: str
    param: str = "weight"
    strength_model: float = 1.0
    offset: tuple[int, int, int] | None = None

    def apply(self, weight: torch.Tensor, strength: float, rows: tuple[int, int] | None = None) -> torch.Tensor:
        """The patched tensor (float32) from the current one (float32, changed in place and returned)."""
        target = weight.narrow(*self.offset) if self.offset is not None else weight
        if self.strength_model != 1.0:
            target *= self.strength_model
        kind, tensor = self._resolve(target.shape)
        if kind == "set":
            target.copy_(_rows(tensor, target.shape, rows).to(target))
        elif strength != 0.0:
            target += strength * _rows(tensor, target.shape, rows).to(target)
        return weight

    def _resolve(self, shape: torch.Size) -> tuple[str, torch.Tensor]:
        value = self.value
        if isinstance(value, list):  # another model's weight with its own patches (get_key_patches)
            merged = _tensor(value[0]).float().clone()
            for entry in value[1:]:
                strength, inner, strength_model, offset = entry[0], entry[1], entry[2], entry[3]
                merged = WeightPatch(inner, self.module, self.param, strength_model, offset).apply(merged, strength)
            return "diff", merged
        weights = getattr(value, "weights", None)
        if weights is not None and not isinstance(value, tuple):  # comfy.weight_adapter adapters
            if type(value).__name__ != "LoRAAdapter":
                raise _unsupported(type(value).__name__)
            return "diff", _low_rank(tuple(weights))
        if not isinstance(value, tuple) or not value:
            raise _unsupported(type(value).__name__)
        if len(value) == 1:
            return "diff", _tensor(value[0]).float()
        kind, inner = value[0], value[1]
        if kind in ("diff", "set"):
            return kind, _tensor(inner[0]).float()
        if kind == "lora":
            return "diff", _low_rank(tuple(inner))
        raise _unsupported(str(kind))
