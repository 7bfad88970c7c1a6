"""LoRA: parse kohya and diffusers/peft files, and patch model weights in place, reversibly.

W ← W + strength · (alpha / rank) · (up · down), reshaped to W (1×1 and k×k convolutions included).
The original weights are kept aside (on the CPU) the first time a weight is patched, so a model can
switch between LoRA sets — or back to none — exactly. This is how ComfyUI applies LoRAs; diffusers' own
loader requires peft and wraps modules instead. GGUF-quantized layers are the exception: their blocks are
never rewritten; they hold the patches and add them each time they dequantize, as ComfyUI-GGUF does.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .ldm_format import unet_diffusers_to_ldm

log = logging.getLogger(__name__)

# Target models: "unet", "te0" (CLIP-L / the only encoder), "te1" (SDXL's CLIP-G).
PREFIXES = (
    ("lora_unet_", "unet"), ("lora_te1_", "te0"), ("lora_te2_", "te1"), ("lora_te_", "te0"),
    ("unet.", "unet"), ("text_encoder_2.", "te1"), ("text_encoder.", "te0"),
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

    def delta(self, shape: torch.Size) -> torch.Tensor:
        rank = self.down.shape[0]
        scale = (self.alpha / rank) if self.alpha is not None else 1.0
        product = self.up.flatten(1).float() @ self.down.flatten(1).float()
        if product.numel() != shape.numel():
            raise ValueError(f"LoRA shape {tuple(product.shape)} does not fit a weight of shape {tuple(shape)}")
        return (product * scale).reshape(shape)


@dataclass
class LoraFile:
    """Patches by target, keyed by a flattened module name ("down_blocks_0_..._to_q")."""

    name: str
    patches: dict[str, dict[str, Patch]] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)


def parse(state: dict[str, torch.Tensor], name: str) -> LoraFile:
    lora = LoraFile(name)
    alphas = {k[: -len(".alpha")]: float(v) for k, v in state.items() if k.endswith(".alpha")}
    for key in state:
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
        raise ValueError(f"{name} holds no LoRA weights this loader understands (kohya or diffusers/peft keys)")
    return lora


def load(path: Path) -> LoraFile:
    from .state_dict import read_state_dict

    state, _ = read_state_dict(path)
    return parse(state, path.name)


def module_index(model: torch.nn.Module, unet_config: Any = None) -> dict[str, str]:
    """Flattened names a LoRA may use for each weight-bearing module → the module's dotted name.

    Text encoders are matched with and without the ``text_model.`` wrapper; a UNet also answers to
    its original-layout (LDM) names, which kohya files for SDXL use.
    """
    index: dict[str, str] = {}
    for name, module in model.named_modules():
        if not isinstance(getattr(module, "weight", None), torch.Tensor) or not name:
            continue
        index[name.replace(".", "_")] = name
        if not name.startswith("text_model."):
            index[("text_model." + name).replace(".", "_")] = name
    if unet_config is not None:
        for diffusers_name in set(index.values()):
            try:
                (ldm_key,) = unet_diffusers_to_ldm({f"{diffusers_name}.weight": None}, unet_config, prefix="")
            except (KeyError, ValueError):
                continue
            index[ldm_key[: -len(".weight")].replace(".", "_")] = diffusers_name
    return index


_state: weakref.WeakKeyDictionary[torch.nn.Module, dict[str, Any]] = weakref.WeakKeyDictionary()


@torch.no_grad()
def sync(model: torch.nn.Module, kind: str, loras: tuple[tuple[LoraFile, float], ...], unet_config: Any = None
         ) -> None:
    """Make ``model``'s weights equal base + exactly these LoRAs (restoring any others first)."""
    from .gguf_ops import GGUFLayer

    state = _state.setdefault(model, {"applied": (), "backup": {}, "index": None})
    wanted = tuple((lora.name, id(lora), strength) for lora, strength in loras if strength != 0.0)
    if state["applied"] == wanted:
        return
    params = dict(model.named_parameters())
    for name, original in state["backup"].items():
        params[name].copy_(original.to(params[name].device))
    # GGUF layers never have their blocks rewritten: their patches apply when they dequantize
    quantized = {name: m for name, m in model.named_modules() if isinstance(m, GGUFLayer)}
    patches: dict[str, list[tuple[Patch, float]]] = {}
    if state["index"] is None:
        state["index"] = module_index(model, unet_config)
    index: dict[str, str] = state["index"]
    missed = 0
    for lora, strength in loras:
        if strength == 0.0:
            continue
        for flat, patch in lora.patches.get(kind, {}).items():
            module_name = index.get(flat)
            if module_name is None:
                missed += 1
                continue
            if module_name in quantized:
                patches.setdefault(module_name, []).append((patch, strength))
                continue
            weight_name = f"{module_name}.weight"
            weight = params[weight_name]
            if weight_name not in state["backup"]:
                state["backup"][weight_name] = weight.detach().to("cpu", copy=True)
            delta = patch.delta(weight.shape).to(weight.device) * strength
            weight.copy_((weight.float() + delta).to(weight.dtype))
    for module_name, layer in quantized.items():
        layer.set_patches(patches.get(module_name, []))
    if missed:
        log.warning("%d LoRA weights matched no module of the %s", missed, kind)
    state["applied"] = wanted
