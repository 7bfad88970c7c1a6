"""Model merging as patches applied when the model is used, as ComfyUI's ModelMerge* and CLIPMerge* nodes do.

A merge does not build a model: the merged MODEL (or CLIP) is the first model's handle with one more entry in its
ordered list of weight patches (``handle.loras``, where LoRAs sit too). When the model is used, each parameter
becomes ComfyUI's ``W ← W·strength_model + strength_patch·W₂`` in the order the patches were added, ``W₂`` being
the other model's parameter with *its* own patches (LoRAs, merges) applied — computed from its original weights,
so a model merged with itself plus a LoRA works. The originals of the parameters changed are kept aside once per
model (on the CPU, as for LoRAs) and put back when another patch set is used.

Block ratios (ModelMergeBlocks and the per-family nodes) match the parameter's name in the original layout
(``input_blocks.4.``, ``double_blocks.7.``, ``joint_blocks.3.``): the longest matching prefix wins, the first
ratio otherwise.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

log = logging.getLogger(__name__)

_state: weakref.WeakKeyDictionary[torch.nn.Module, dict[str, Any]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Merge:
    """One merge with ``other`` (a MODEL or CLIP handle): "ratio" (W·r + W₂·(1 − r), per block when ``blocks``
    is given), "subtract" ((W − W₂)·m) or "add" (W + W₂)."""

    other: Any = field(compare=False)
    mode: str = "ratio"
    value: float = 1.0
    blocks: tuple[tuple[str, float], ...] = ()
    skip: tuple[str, ...] = ()  # name endings never merged (CLIP's position ids and logit scale)

    def strengths(self, name: str) -> tuple[float, float]:
        """(strength_patch, strength_model) for a parameter with this original-layout name."""
        if self.mode == "add":
            return 1.0, 1.0
        if self.mode == "subtract":
            return -self.value, self.value
        ratio, longest = self.value, 0
        for prefix, value in self.blocks:
            if name.startswith(prefix) and len(prefix) > longest:
                ratio, longest = value, len(prefix)
        return 1.0 - ratio, ratio

    def identity(self) -> tuple[Any, ...]:
        key = getattr(self.other, "key", None) or getattr(self.other, "keys", None)
        return ("merge", self.mode, self.value, self.blocks, self.skip, key, patch_identity(self.other))


def patch_identity(handle: Any) -> tuple[Any, ...]:
    """What a handle's weight patches are, for deciding whether a module already holds them."""
    out: list[Any] = []
    for patch in getattr(handle, "loras", ()):
        if isinstance(patch, Merge):
            out.append(patch.identity())
        elif patch.strength != 0.0:
            out.append((patch.file.name, id(patch.file), patch.strength))
    return tuple(out)


@dataclass
class Target:
    """A module and how patches address it: its LoRA group, its LoRA names, its original-layout names."""

    module: torch.nn.Module
    handle: Any
    kind: str  # the LoRA group: "unet", "te0", "te1", "te2"
    unet_config: Any = None
    lora_names: dict[str, Any] | None = None
    original: Callable[[str], str] = lambda name: name
    slot: str | None = None  # a CLIP's encoder slot ("clip_l" …)
    _parameters: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    @property
    def parameters(self) -> dict[str, torch.Tensor]:
        if self._parameters is None:
            self._parameters = dict(self.module.named_parameters())
        return self._parameters


def has_merges(handle: Any) -> bool:
    return any(isinstance(p, Merge) for p in getattr(handle, "loras", ()))


def restore(module: torch.nn.Module) -> None:
    """Put back the parameters a merge changed (a no-op for a module never merged)."""
    state = _state.get(module)
    if not state or not state["backup"]:
        return
    with torch.no_grad():
        parameters = dict(module.named_parameters())
        for name, original in state["backup"].items():
            parameters[name].copy_(original.to(parameters[name].device))
    state["backup"].clear()
    state["applied"] = ()


@torch.no_grad()
def sync(target: Target) -> None:
    """Make the target's parameters its handle's original weights with every patch applied, in order."""
    from .lora import sync as sync_loras

    wanted = patch_identity(target.handle)
    state = _state.setdefault(target.module, {"applied": (), "backup": {}})
    if state["applied"] == wanted and state["backup"]:
        return
    sync_loras(target.module, target.kind, ())  # LoRA weights and earlier merges back to the originals
    _refuse_quantized(target.module)
    targets: dict[tuple[int, str | None], Target] = {}
    for name, parameter in target.module.named_parameters():
        value = effective(target, name, parameter.detach(), targets)
        if value is None:
            continue
        state["backup"][name] = parameter.detach().to("cpu", copy=True)
        parameter.copy_(value.to(parameter.device, parameter.dtype))
    state["applied"] = wanted


def _refuse_quantized(module: torch.nn.Module) -> None:
    from .gguf_ops import GGUFLayer
    from .state_dict import FP8_DTYPES

    for name, sub in module.named_modules():
        weight = getattr(sub, "weight", None)
        if isinstance(sub, GGUFLayer) or (isinstance(weight, torch.Tensor) and weight.dtype in FP8_DTYPES):
            raise ValueError(f"merging models stored in fp8 or GGUF is not supported ({name or 'the model'}); load "
                             "them with weight_dtype default")


def original_weight(target: Target, name: str) -> torch.Tensor:
    """A parameter's original value, whatever patches the module holds now."""
    from .lora import original_weight as lora_original

    merged = _state.get(target.module, {}).get("backup", {})
    if name in merged:
        return merged[name]  # type: ignore[no-any-return]
    found = lora_original(target.module, name)
    return found if found is not None else target.parameters[name].detach()


def effective(target: Target, name: str, original: torch.Tensor,
              targets: dict[tuple[int, str | None], Target]) -> torch.Tensor | None:
    """``original`` with the target handle's patches applied (None when none touches the parameter)."""
    from .lora import lora_delta

    value: torch.Tensor | None = None
    for patch in target.handle.loras:
        current = original.float() if value is None else value
        if isinstance(patch, Merge):
            if name.endswith(patch.skip) if patch.skip else False:
                continue
            other = other_weight(patch.other, target, name, targets)
            if other is None:
                continue
            if other.shape != current.shape:
                log.warning("merge: %s has shape %s in one model and %s in the other; not merged", name,
                            tuple(current.shape), tuple(other.shape))
                continue
            strength_patch, strength_model = patch.strengths(target.original(name))
            value = current * strength_model + other.to(current.device).float() * strength_patch
        elif patch.strength != 0.0:
            delta = lora_delta(target.module, target.kind, patch.file, name, current,
                               target.unet_config, target.lora_names)
            if delta is not None:
                value = current + delta.to(current.device) * patch.strength
    return value


def other_weight(handle: Any, asking: Target, name: str,
                 targets: dict[tuple[int, str | None], Target]) -> torch.Tensor | None:
    """The other model's parameter ``name`` with its own patches, from its original weights (it stays where
    the model manager keeps it; only this parameter is read)."""
    key = (id(handle), asking.slot)
    if key not in targets:
        found_target = target_of(handle, asking.slot)
        if found_target is None:
            return None
        targets[key] = found_target
    other = targets[key]
    if name not in other.parameters:
        return None
    original = original_weight(other, name)
    found = effective(other, name, original, targets)
    return found if found is not None else original


def target_of(handle: Any, slot: str | None = None, module: torch.nn.Module | None = None) -> Target | None:
    """How patches address ``handle``'s model (its loaded module taken from the manager without moving it), or
    its encoder in ``slot`` for a CLIP."""
    if hasattr(handle, "keys"):  # a CLIP: one target per encoder slot
        slots = handle.slot_names()
        if slot not in slots:
            return None
        index = slots.index(slot)
        encoder = module if module is not None else handle.manager.get(handle.keys[index], _missing(handle))
        return Target(encoder, handle, handle.lora_targets()[index], slot=slot)
    unet = module if module is not None else handle.manager.get(handle.key, _missing(handle))
    detected = handle.family.detected
    names = detected.family.lora_names(detected, unet) if detected is not None else None
    original = original_names(handle, unet)
    return Target(unet, handle, "unet", unet.config if names is None else None, names, original)


def _missing(handle: Any) -> Callable[[], Any]:
    def fail() -> Any:
        raise RuntimeError(f"a model merged into another ({handle.key}) is no longer loaded; run its loader again")

    return fail


def original_names(handle: Any, module: torch.nn.Module) -> Callable[[str], str]:
    """Parameter name → its name in the family's original layout (block ratios match those)."""
    detected = handle.family.detected
    family = detected.family if detected is not None else None
    mapping: dict[str, str] = {}
    if family is not None and hasattr(family, "original_names"):
        mapping = family.original_names(detected, module)
    elif hasattr(module.config, "layers_per_block"):  # an SD UNet without a registry reading (diffusers folder)
        from .ldm_format import unet_diffusers_to_ldm

        mapping = _ldm_names(module, unet_diffusers_to_ldm)
    return lambda name: mapping.get(name, name)


def _ldm_names(module: torch.nn.Module, convert: Callable[..., dict[str, Any]]) -> dict[str, str]:
    names = [name for name, _ in module.named_parameters()]
    converted = convert(dict.fromkeys(names), module.config, prefix="")
    return dict(zip(names, converted, strict=True))


def unet_original_names(module: torch.nn.Module) -> dict[str, str]:
    from .ldm_format import unet_diffusers_to_ldm

    return _ldm_names(module, unet_diffusers_to_ldm)

