"""LoRA: parse kohya, diffusers/peft and LyCORIS (LoHa, LoKr: :mod:`lycoris`) files, and patch model
weights in place, reversibly.

W ← W + strength · (alpha / rank) · (up · down), reshaped to W (1×1 and k×k convolutions included).
The original weights are kept aside (on the CPU) the first time a weight is patched, so a model can
switch between LoRA sets — or back to none — exactly. This is how ComfyUI applies LoRAs; diffusers' own
loader requires peft and wraps modules instead. GGUF-quantized layers are the exception: their blocks are
never rewritten; they hold the patches and add them each time they dequantize, as ComfyUI-GGUF does.

A :class:`DiffPatch` uses another model's weight as a LoRA (ComfyUI's "model_as_lora", for
CreateHookModelAsLora): W ← W + strength · (W_other − W_original), and the same for the module's bias.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .ldm_format import unet_diffusers_to_ldm
from .weight_patches import WeightPatch

log = logging.getLogger(__name__)

# Target models: "unet" (the diffusion model), "te0" (CLIP-L / the only CLIP), "te1" (bigG beside CLIP-L),
# "te2" (T5-XXL). Kohya, diffusers/peft and ComfyUI spell the groups differently (longest prefixes first).
PREFIXES = (
    ("lora_unet_", "unet"), ("lora_te1_", "te0"), ("lora_te2_", "te1"), ("lora_te3_", "te2"), ("lora_te_", "te0"),
    ("lycoris_", "unet"), ("base_model.model.", "unet"), ("model.diffusion_model.", "unet"),
    ("diffusion_model.", "unet"),
    ("transformer.", "unet"), ("unet.", "unet"),
    ("text_encoders.clip_l.transformer.", "te0"), ("text_encoders.clip_g.transformer.", "te1"),
    ("text_encoders.t5xxl.transformer.", "te2"), ("text_encoder_2.", "te1"), ("text_encoder_3.", "te2"),
    ("text_encoder.", "te0"),
)
SUFFIXES = (  # (down, up) spellings of the different formats
    (".lora_down.weight", ".lora_up.weight"), (".lora_A.weight", ".lora_B.weight"),
    (".lora.down.weight", ".lora.up.weight"), ("_lora.down.weight", "_lora.up.weight"),
)


@dataclass
class Patch:
    down: torch.Tensor
    up: torch.Tensor
    alpha: float | None

    def product(self) -> torch.Tensor:
        """(alpha / rank) · up · down in float32, as [out, in·k·k]."""
        rank = self.down.shape[0]
        scale = (self.alpha / rank) if self.alpha is not None else 1.0
        return (self.up.flatten(1).float() @ self.down.flatten(1).float()) * scale

    def delta(self, shape: torch.Size, rows: tuple[int, int] | None = None) -> torch.Tensor:
        """The change of a weight of ``shape``: rows (start, end) of the product when the LoRA was trained on
        a fused layer that the model keeps apart (Flux's and SD3's q, k, v)."""
        product = self.product()
        if rows is not None:
            product = product[rows[0]:rows[1]]
        if product.numel() != shape.numel():
            raise ValueError(f"LoRA shape {tuple(product.shape)} does not fit a weight of shape {tuple(shape)}")
        return product.reshape(shape)

    def part(self, rows: tuple[int, int]) -> Patch:
        """The patch of rows (start, end) of the fused weight it was trained on."""
        return Patch(self.down, self.up[rows[0]:rows[1]], self.alpha)

    def to(self, device: torch.device) -> Patch:
        return Patch(self.down.to(device), self.up.to(device), self.alpha)

    def numel(self) -> int:
        return int(self.up.flatten(1).shape[0] * self.down.flatten(1).shape[1])


def _part(patch: Any, rows: tuple[int, int]) -> Any:
    """A patch's rows: LoRA slices its up factor; LoHa and LoKr products are sliced whole."""
    from .lycoris import Rows

    return patch.part(rows) if isinstance(patch, Patch) else Rows(patch, rows)


@dataclass
class DiffPatch:
    """Another model's weight used as a LoRA (ComfyUI's "model_as_lora" patch): the change of a weight is
    strength · (target − original), and the same for the module's bias when ``bias`` is given."""

    target: torch.Tensor
    bias: torch.Tensor | None = None

    def difference(self, original: torch.Tensor, target: torch.Tensor | None = None) -> torch.Tensor | None:
        """target − original in float32 on the original's device; None when the shapes differ."""
        wanted = self.target if target is None else target
        if tuple(wanted.shape) != tuple(original.shape):
            return None
        return wanted.to(original.device).float() - original.float()


@dataclass
class LoraFile:
    """Patches by target, keyed by a flattened module name ("down_blocks_0_..._to_q")."""

    name: str
    # Patch, DiffPatch (a model as a LoRA), WeightPatch (a pack's add_patches), lycoris' HadaPatch / KronPatch
    patches: dict[str, dict[str, Any]] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)


def parse(state: dict[str, torch.Tensor], name: str) -> LoraFile:
    from . import lycoris

    lora = LoraFile(name)
    alphas = {k[: -len(".alpha")]: float(v) for k, v in state.items() if k.endswith(".alpha")}
    for key in state:
        found = lycoris.read(state, key, alphas)  # LoHa and LoKr weights (their first factor's key)
        if found is not None:
            stem, patch = found
            target = next(((t, stem[len(p):]) for p, t in PREFIXES if stem.startswith(p)), None)
            if target is None:
                lora.unused.append(key)
            else:
                lora.patches.setdefault(target[0], {})[target[1].replace(".", "_")] = patch
            continue
        for down_suffix, up_suffix in SUFFIXES:
            if not key.endswith(down_suffix):
                continue
            stem = key[: -len(down_suffix)]
            up = state.get(stem + up_suffix)
            target = next(((t, stem[len(p):]) for p, t in PREFIXES if stem.startswith(p)), None)
            if up is None or target is None:
                lora.unused.append(key)
                break
            kind, module = target
            lora.patches.setdefault(kind, {})[module.replace(".", "_")] = Patch(state[key], up, alphas.get(stem))
            break
    if not lora.patches:
        raise ValueError(f"{name} holds no LoRA weights this loader understands (kohya, diffusers/peft or ComfyUI "
                         "keys)")
    return lora


def load(path: Path) -> LoraFile:
    from .state_dict import read_state_dict

    state, _ = read_state_dict(path)
    return parse(state, path.name)


Targets = list[tuple[str, tuple[int, int] | None]]  # (module name, rows of a fused original weight)


def module_index(model: torch.nn.Module, unet_config: Any = None, names: dict[str, Targets] | None = None
                 ) -> dict[str, Targets]:
    """Flattened names a LoRA may use for each weight-bearing module → the modules (and rows) it patches.

    Text encoders are matched with and without the ``text_model.`` wrapper; an SD UNet also answers to its
    original-layout (LDM) names, which kohya files for SDXL use; ``names`` adds a model family's original
    names (Flux's ``double_blocks_0_img_attn_qkv`` → to_q, to_k, to_v rows).
    """
    index: dict[str, Targets] = {}
    for name, module in model.named_modules():
        if not isinstance(getattr(module, "weight", None), torch.Tensor) or not name:
            continue
        index[name.replace(".", "_")] = [(name, None)]
        if not name.startswith("text_model."):
            index[("text_model." + name).replace(".", "_")] = [(name, None)]
    if unet_config is not None:
        for targets in list(index.values()):
            diffusers_name = targets[0][0]
            try:
                (ldm_key,) = unet_diffusers_to_ldm({f"{diffusers_name}.weight": None}, unet_config, prefix="")
            except (KeyError, ValueError):
                continue
            index[ldm_key[: -len(".weight")].replace(".", "_")] = [(diffusers_name, None)]
    for flat, targets in (names or {}).items():
        index.setdefault(flat, targets)
    return index


_state: weakref.WeakKeyDictionary[torch.nn.Module, dict[str, Any]] = weakref.WeakKeyDictionary()


def _restore(module: Any, saved: tuple[torch.Tensor, torch.Tensor | None, type]) -> None:
    """Put back a module's original weight (and fp8 scale, and class)."""
    weight, scale, cls = saved
    device = module.weight.device
    if module.weight.dtype == weight.dtype and scale is None and getattr(module, "scale_weight", None) is None:
        module.weight.copy_(weight.to(device))
        return
    module.weight = torch.nn.Parameter(weight.to(device), requires_grad=False)
    if scale is not None:
        module.register_buffer("scale_weight", scale.to(device))
    elif "scale_weight" in module._buffers:
        del module._buffers["scale_weight"]
    module.__class__ = cls


@torch.no_grad()
def sync(model: torch.nn.Module, kind: str, loras: tuple[tuple[LoraFile, float], ...], unet_config: Any = None,
         names: dict[str, Targets] | None = None) -> None:
    """Make ``model``'s weights equal base + exactly these LoRAs (restoring any others first).

    Weights stored in fp8 are patched in float32 (their scale undone) and stored back in fp8 with a new
    scale, so a LoRA's small changes are not lost to fp8 rounding of the scale they had. GGUF layers never
    have their blocks rewritten: their patches apply when they dequantize. A LoRA file's entries may also be
    ComfyUI weight patches (``weight_patches.WeightPatch``, from a node pack's ``add_patches``): they are
    applied in the same order, on weights or biases.
    """
    from .gguf_ops import GGUFLayer
    from .merge import restore as restore_merges

    restore_merges(model)  # a merge's parameters back to the originals first (a no-op when never merged)
    state = _state.setdefault(model, {"applied": (), "backup": {}, "bias_backup": {}, "index": None})
    wanted = tuple((lora.name, id(lora), strength) for lora, strength in loras if strength != 0.0)
    if state["applied"] == wanted:
        return
    modules = dict(model.named_modules())
    for name, saved in state["backup"].items():
        _restore(modules[name], saved)
    for name, bias in state.setdefault("bias_backup", {}).items():
        modules[name].bias.copy_(bias.to(modules[name].bias.device))
    quantized = {name: m for name, m in modules.items() if isinstance(m, GGUFLayer)}
    patches: dict[str, list[tuple[Any, float]]] = {}
    if not wanted:
        for layer in quantized.values():
            layer.set_patches([])
        state["applied"] = wanted
        return
    index = module_targets(model, unet_config, names)
    missed = 0
    for lora, strength in loras:
        if strength == 0.0:
            continue
        for flat, patch in lora.patches.get(kind, {}).items():
            general = isinstance(patch, WeightPatch)
            targets = index.get(patch.module if general else flat)
            if targets is None or (general and any(module_name in quantized for module_name, _ in targets)):
                missed += 1
                continue
            for module_name, rows in targets:
                module: Any = modules[module_name]
                if isinstance(patch, DiffPatch):
                    missed += not _apply_difference(module, module_name, patch, strength, rows, state,
                                                    module_name in quantized)
                    continue
                if isinstance(patch, WeightPatch):
                    missed += not _apply_general(module, module_name, patch, strength, rows, state)
                    continue
                if module_name in quantized:
                    part = patch if rows is None else _part(patch, rows)
                    patches.setdefault(module_name, []).append((part, strength))
                    continue
                weight = _backed_up(module, module_name, state)
                delta = patch.delta(weight.shape, rows).to(weight.device) * strength
                _add(module, delta)
    for module_name, layer in quantized.items():
        layer.set_patches(patches.get(module_name, []))
    if missed:
        log.warning("%d LoRA weights matched no module of the %s", missed, kind)
    state["applied"] = wanted


def _backed_up(module: Any, module_name: str, state: dict[str, Any]) -> torch.Tensor:
    """The module's weight, its original kept aside (on the CPU) the first time it is patched."""
    weight: torch.Tensor = module.weight
    if module_name not in state["backup"]:
        scale = getattr(module, "scale_weight", None)
        state["backup"][module_name] = (weight.detach().to("cpu", copy=True),
                                        None if scale is None else scale.detach().to("cpu", copy=True),
                                        module.__class__)
    return weight


def _current(module: Any) -> torch.Tensor:
    """The module's weight in float32 (an fp8 weight's scale undone)."""
    from .state_dict import FP8_DTYPES
    from .weights import dequantized

    weight: torch.Tensor = module.weight
    return dequantized(module) if weight.dtype in FP8_DTYPES else weight.float()


def _store(module: Any, new: torch.Tensor) -> None:
    """weight ← new (float32), fp8 weights re-stored with a fresh scale."""
    from .state_dict import FP8_DTYPES
    from .weights import store_fp8

    weight = module.weight
    if weight.dtype in FP8_DTYPES:
        store_fp8(module, weight.dtype, new)
    else:
        weight.copy_(new.to(weight.dtype))


def _add(module: Any, delta: torch.Tensor) -> None:
    """weight += delta (float32)."""
    _store(module, _current(module) + delta)


def _apply_general(module: Any, module_name: str, patch: WeightPatch, strength: float,
                   rows: tuple[int, int] | None, state: dict[str, Any]) -> bool:
    """A ComfyUI weight patch on a module's weight or bias (originals kept aside); False when the module has
    no bias to patch."""
    if patch.param == "bias":
        if module.bias is None:
            return False
        if module_name not in state["bias_backup"]:
            state["bias_backup"][module_name] = module.bias.detach().to("cpu", copy=True)
        module.bias.copy_(patch.apply(module.bias.float(), strength, rows).to(module.bias.dtype))
        return True
    _backed_up(module, module_name, state)
    _store(module, patch.apply(_current(module).clone(), strength, rows))
    return True


def _apply_difference(module: Any, module_name: str, patch: DiffPatch, strength: float,
                      rows: tuple[int, int] | None, state: dict[str, Any], quantized: bool) -> bool:
    """Add strength · (target − original) to a module's weight and bias; False when it does not fit (a fused
    or GGUF-quantized weight, or another shape), as ComfyUI skips what it cannot merge."""
    if rows is not None or quantized:
        return False
    if patch.target is module.weight:  # the model as a LoRA of itself: no difference
        return True
    _backed_up(module, module_name, state)
    original, scale, _ = state["backup"][module_name]
    if scale is not None:
        original = original.float() * scale.float()
    difference = patch.difference(original.to(module.weight.device))
    if difference is None:
        return False
    _add(module, difference * strength)
    bias = getattr(module, "bias", None)
    if patch.bias is not None and isinstance(bias, torch.Tensor):
        if module_name not in state["bias_backup"]:
            state["bias_backup"][module_name] = bias.detach().to("cpu", copy=True)
        change = patch.difference(state["bias_backup"][module_name].to(bias.device), patch.bias)
        if change is not None:
            bias.copy_((bias.float() + change * strength).to(bias.dtype))
    return True


def module_targets(model: torch.nn.Module, unet_config: Any = None, names: dict[str, Targets] | None = None
                   ) -> dict[str, Targets]:
    """The flattened names a LoRA (or a ComfyUI weight patch) may use for ``model``'s modules, built once per
    model (see :func:`module_index`)."""
    state = _state.setdefault(model, {"applied": (), "backup": {}, "bias_backup": {}, "index": None})
    if state["index"] is None:
        state["index"] = module_index(model, unet_config, names)
    index: dict[str, Targets] = state["index"]
    return index


def original_weight(model: torch.nn.Module, param_name: str) -> torch.Tensor | None:
    """The original value of a weight a LoRA currently patches (None when none does)."""
    module_name, _, leaf = param_name.rpartition(".")
    saved = _state.get(model, {}).get("backup", {}).get(module_name) if leaf == "weight" else None
    if saved is None:
        return None
    weight, scale, _ = saved
    return weight.float() * scale.float() if scale is not None else weight


def lora_delta(model: torch.nn.Module, kind: str, lora: LoraFile, param_name: str, current: torch.Tensor,
               unet_config: Any = None, names: dict[str, Targets] | None = None) -> torch.Tensor | None:
    """The change one LoRA (strength 1) makes to ``model``'s weight ``param_name`` whose value is now
    ``current`` (None when it has none), for merges that apply LoRAs and other patches in order, parameter by
    parameter. A model used as a LoRA and a pack's weight patch act on ``current``; a bias is left alone."""
    module_name, _, leaf = param_name.rpartition(".")
    if leaf != "weight":
        return None
    state = _state.setdefault(model, {"applied": (), "backup": {}, "bias_backup": {}, "index": None})
    if state["index"] is None:
        state["index"] = module_index(model, unet_config, names)
    cache = state.setdefault("by_module", {})
    key = (id(lora), kind)
    if key not in cache:
        by_module: dict[str, list[tuple[Any, tuple[int, int] | None]]] = {}
        for flat, patch in lora.patches.get(kind, {}).items():
            for target, rows in state["index"].get(flat, []):
                by_module.setdefault(target, []).append((patch, rows))
        cache[key] = by_module
    found = cache[key].get(module_name)
    if not found:
        return None
    total = torch.zeros_like(current, dtype=torch.float32)
    for patch, rows in found:
        if isinstance(patch, WeightPatch):
            if patch.param == "weight":
                total += patch.apply(current.float().clone(), 1.0, rows) - current.float()
        elif isinstance(patch, DiffPatch):
            difference = patch.difference(current.float()) if rows is None else None
            if difference is not None:
                total += difference
        else:  # a LoRA, LoHa or LoKr: its product
            total += patch.delta(current.shape, rows).to(total.device)
    return total
