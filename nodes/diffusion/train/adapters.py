"""Trainable adapters on a network the model manager owns, with peft, and off again afterwards.

peft wraps each target layer (``to_q`` becomes a LoRA layer around the original ``to_q``); training runs
through the wrapped network; :func:`factors` reads the trained weights out and :func:`detach` puts the
original layers back, so the shared model is exactly as it was. Algorithms: LoRA, and LyCORIS' LoHa and LoKr
(peft's ports of them, whose weights are LyCORIS' own, so LoraLoader reads them). OFT is listed, as in
ComfyUI, but refused: peft's OFT parametrisation is not the one ComfyUI's (LyCORIS') OFT files hold.

LoRA starts as ComfyUI's TrainLoraNode starts it (the up factor random, Kaiming-uniform, the down factor
zero, alpha 1), drawn from the run's seeded generator; LoHa and LoKr start as peft starts them (the second
factor zero), with torch's generator seeded from the run's seed: a second run with the same seed is
identical. Continuing an existing LoRA gives each module it covers that file's rank, alpha and weights
(peft's ``rank_pattern`` / ``alpha_pattern``).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from .names import Factors

log = logging.getLogger(__name__)

ADAPTER = "inkgraph_train"
ALGORITHMS = ("LoRA", "LoHa", "LoKr", "OFT")  # ComfyUI's choices (its adapter_maps)
TRAINABLE = ("LoRA", "LoHa", "LoKr")


@dataclass(frozen=True)
class Existing:
    """An existing LoRA's factors for one diffusers module (a fused original's rows already cut out)."""

    down: torch.Tensor
    up: torch.Tensor
    alpha: float


def existing_factors(lora_file: Any, index: dict[str, list[tuple[str, tuple[int, int] | None]]]
                     ) -> dict[str, Existing]:
    """The factors a parsed LoRA file (``lora.LoraFile``) holds for each diffusers module of the diffusion
    model; ``index`` is ``lora.module_index`` of the network (flat names, original ones included)."""
    out: dict[str, Existing] = {}
    for flat, patch in lora_file.patches.get("unet", {}).items():
        for module, rows in index.get(flat, []):
            up = patch.up if rows is None else patch.up[rows[0]:rows[1]]
            rank = int(patch.down.shape[0])
            alpha = float(patch.alpha) if patch.alpha is not None else float(rank)
            out[module] = Existing(patch.down, up, alpha)
    return out


def make_config(algorithm: str, rank: int, targets: str, existing: dict[str, Existing]) -> Any:
    """peft's config: the family's targets (and every module the existing LoRA covers) at ``rank``, alpha 1
    as ComfyUI's trained adapters; an existing module keeps its own rank and alpha."""
    if algorithm not in TRAINABLE:
        raise ValueError(f"TrainLoraNode: algorithm {algorithm!r} is not trained here (peft's {algorithm} is not "
                         f"the one ComfyUI's files hold); choose one of {', '.join(TRAINABLE)}")
    if existing and algorithm != "LoRA":
        raise ValueError(f"TrainLoraNode: existing_lora holds LoRA weights; continue it with algorithm LoRA, "
                         f"not {algorithm}")
    from peft import LoHaConfig, LoKrConfig, LoraConfig

    if algorithm == "LoHa":
        return LoHaConfig(r=rank, alpha=1.0, target_modules=targets, init_weights=True)
    if algorithm == "LoKr":
        return LoKrConfig(r=rank, alpha=1.0, target_modules=targets, init_weights=True)
    pattern = targets
    if existing:
        pattern = "|".join([f"(?:{targets})", *(re.escape(name) for name in sorted(existing))])
    return LoraConfig(r=rank, lora_alpha=1.0, target_modules=pattern, lora_dropout=0.0, init_lora_weights=True,
                      rank_pattern={re.escape(n): int(e.down.shape[0]) for n, e in existing.items()},
                      alpha_pattern={re.escape(n): e.alpha for n, e in existing.items()})


def adapter_layers(network: torch.nn.Module) -> Iterator[tuple[str, Any]]:
    """(module name, peft layer) of every wrapped layer, in module order."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    for name, module in network.named_modules():
        if isinstance(module, BaseTunerLayer) and ADAPTER in module._get_available_adapters():  # type: ignore[operator]
            yield name, module


def _initialise(layer: Any, generator: torch.Generator, existing: Existing | None) -> None:
    """ComfyUI's start (up Kaiming-uniform, down zero) or the existing LoRA's factors."""
    down, up = layer.lora_A[ADAPTER].weight, layer.lora_B[ADAPTER].weight
    with torch.no_grad():
        if existing is not None:
            down.copy_(existing.down.reshape(down.shape).to(down))
            up.copy_(existing.up.reshape(up.shape).to(up))
            return
        fresh = torch.empty(up.shape, dtype=torch.float32)
        torch.nn.init.kaiming_uniform_(fresh, a=math.sqrt(5), generator=generator)
        up.copy_(fresh.to(up))
        down.zero_()


def plain_tensors(network: torch.nn.Module) -> None:
    """Replace the network's inference-mode tensors by ordinary copies, one at a time.

    Loaders run under ``torch.inference_mode`` (as ComfyUI's nodes do), so the weights they make cannot take
    part in autograd; a frozen weight still must be saved for the backward pass through it. Each copy
    replaces its original, so the model costs no more memory afterwards (and stays usable as before).
    """
    with torch.inference_mode(False):
        for module in network.modules():
            for name, param in list(module._parameters.items()):
                if param is not None and param.is_inference():
                    module._parameters[name] = torch.nn.Parameter(param.clone(), requires_grad=False)
            for name, buffer in list(module._buffers.items()):
                if buffer is not None and buffer.is_inference():
                    module._buffers[name] = buffer.clone()


@contextmanager
def attached(network: torch.nn.Module, config: Any, dtype: torch.dtype, generator: torch.Generator,
             existing: dict[str, Existing]) -> Iterator[list[torch.nn.Parameter]]:
    """The network with trainable adapters (their parameters yielded, in ``dtype``), every other weight
    frozen; on leaving, the original layers are back in place and the network's ``requires_grad`` flags as
    they were."""
    from peft import LoraConfig, inject_adapter_in_model

    flags = {name: p.requires_grad for name, p in network.named_parameters()}
    plain_tensors(network)
    network.requires_grad_(False)
    try:
        with torch.random.fork_rng(devices=[]):  # peft draws LoHa/LoKr's start from torch's CPU generator
            if not isinstance(config, LoraConfig):  # LoRA's start is drawn below: its stream stays untouched
                torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=generator)))
            inject_adapter_in_model(config, network, adapter_name=ADAPTER)
        params = [p for name, p in network.named_parameters() if f".{ADAPTER}" in name]
        for param in params:
            param.data = param.data.to(dtype)
        layers = list(adapter_layers(network))
        if isinstance(config, LoraConfig):
            for name, layer in layers:
                _initialise(layer, generator, existing.get(name))
        for param in params:
            param.requires_grad_(True)
        log.info("training %d adapters (%d parameters)", len(layers), sum(p.numel() for p in params))
        yield params
    finally:
        detach(network)
        for name, param in network.named_parameters():
            param.requires_grad_(flags.get(name, False))


def factors(network: torch.nn.Module) -> dict[str, Any]:
    """Each adapted module's trained weights now (detached copies), keyed by the module's diffusers name:
    LoRA as :class:`names.Factors`, LoHa and LoKr as :class:`names.Lycoris` (LyCORIS' tensor names)."""
    from peft.tuners.loha import LoHaLayer
    from peft.tuners.lokr import LoKrLayer

    from .names import Lycoris

    out: dict[str, Any] = {}
    for name, layer in adapter_layers(network):
        if isinstance(layer, (LoHaLayer, LoKrLayer)):
            tensors = {}
            for attribute in layer.adapter_layer_names:
                held = getattr(layer, attribute)
                if ADAPTER in held:
                    tensors[attribute] = held[ADAPTER].detach().clone()
            out[name] = Lycoris(tensors, float(layer.alpha[ADAPTER]), int(layer.r[ADAPTER]))
            continue
        down = layer.lora_A[ADAPTER].weight.detach().clone()
        up = layer.lora_B[ADAPTER].weight.detach().clone()
        out[name] = Factors(down, up, float(layer.lora_alpha[ADAPTER]))
    return out


def detach(network: torch.nn.Module) -> None:
    """Put every original layer back in place of its peft wrapper."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    wrapped = [(name, module) for name, module in network.named_modules() if isinstance(module, BaseTunerLayer)]
    for name, module in wrapped:
        parent_name, _, child = name.rpartition(".")
        parent = network.get_submodule(parent_name) if parent_name else network
        setattr(parent, child, module.get_base_layer())
    network.__dict__.pop("peft_config", None)  # peft's record of the adapters it added
