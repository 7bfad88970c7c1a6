"""ControlNets during one sampling run: placing their models, preparing hints, and evaluating a chain per call.

:func:`placed` puts every control model the run's conditionings name on the compute device for the run (the
model manager moves them as it moves the main network). :class:`ControlRun` then answers each network call:
``call(control, sigma, entries)`` gives a :class:`ControlCall` — or None when no ControlNet of the chain applies
at this σ, so the call runs exactly as without ControlNets — which the family's adapter calls with its prepared
inputs to get the summed residuals.

As ComfyUI: a ControlNet applies while σ ≤ percent_to_sigma(start) and σ ≥ percent_to_sigma(end); its hint is
resized (nearest-exact, centre crop) to the latent's size times the kind's compression, VAE-encoded into the
latent format for latent-input kinds, joined by its extra channels (masks), prepared once per size and
broadcast to the call's batch.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import torch

from ..families.base import LatentFormat
from .base import ControlInputs, ControlNet, Residuals, merge


def controls_of(conditionings: Iterable[list[list[Any]]]) -> list[ControlNet]:
    """Every ControlNet (chains included) the conditionings' entries carry, each once."""
    found: dict[int, ControlNet] = {}
    for conditioning in conditionings:
        for _, options in conditioning:
            control = options.get("control") if isinstance(options, dict) else None
            if isinstance(control, ControlNet):
                for member in control.chain():
                    found.setdefault(id(member), member)
    return list(found.values())


@contextmanager
def placed(conditionings: Iterable[list[list[Any]]]) -> Iterator[dict[Hashable, Any]]:
    """The control models of the conditionings on the compute device for the block: key → module."""
    modules: dict[Hashable, Any] = {}
    with ExitStack() as stack:
        for control in controls_of(conditionings):
            key = control.model.key
            if key not in modules:
                modules[key] = stack.enter_context(control.model.use())
        yield modules


def broadcast_to(tensor: torch.Tensor, batch: int, entries: int) -> torch.Tensor:
    """A hint batch for a call of ``batch`` items made of ``entries`` conditioning entries (ComfyUI's
    broadcast_image_to): a single hint serves all; otherwise each entry's part repeats the hints in order."""
    if tensor.shape[0] == 1 or tensor.shape[0] == batch:
        return tensor
    per_entry = batch // entries
    tensor = tensor[:per_entry]
    if per_entry > tensor.shape[0]:
        whole = per_entry // tensor.shape[0]
        tensor = torch.cat([tensor] * whole + [tensor[:per_entry % tensor.shape[0]]], dim=0)
    if tensor.shape[0] == batch:
        return tensor
    return torch.cat([tensor] * entries, dim=0)


class ControlRun:
    """The ControlNets of one sampling run."""

    def __init__(self, modules: dict[Hashable, Any], model_sampling: Any, latent_format: LatentFormat,
                 device: torch.device, dtype: torch.dtype) -> None:
        self.modules, self.model_sampling, self.latent_format = modules, model_sampling, latent_format
        self.device, self.dtype = device, dtype
        self._ranges: dict[int, tuple[float, float]] = {}
        self._hints: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {}
        self.calls: list[tuple[str, float]] = []  # (kind, σ) of every ControlNet evaluation, for tests and logs

    def sigma_range(self, control: ControlNet) -> tuple[float, float]:
        found = self._ranges.get(id(control))
        if found is None:
            start, end = control.timestep_percent_range
            found = (float(self.model_sampling.percent_to_sigma(start)),
                     float(self.model_sampling.percent_to_sigma(end)))
            self._ranges[id(control)] = found
        return found

    def active(self, control: ControlNet, sigma: float) -> bool:
        high, low = self.sigma_range(control)
        return not (sigma > high or sigma < low)

    def call(self, control: ControlNet | None, sigma: torch.Tensor, entries: int) -> ControlCall | None:
        """What the adapter calls for this network call, or None when no ControlNet applies at σ."""
        if control is None:
            return None
        current = float(sigma.reshape(-1)[0])
        chain = [c for c in control.chain() if self.active(c, current)]
        return ControlCall(self, chain, current, entries) if chain else None

    def hint(self, control: ControlNet, x: torch.Tensor, entries: int, dtype: torch.dtype) -> torch.Tensor:
        """The control's hint for a call on ``x`` (the latent batch), prepared once per latent size."""
        key = (id(control), tuple(x.shape[-2:]))
        found = self._hints.get(key)
        if found is None:
            found = self._prepare(control, int(x.shape[-1]), int(x.shape[-2]))
            self._hints[key] = found
        return broadcast_to(found.to(self.device, dtype), x.shape[0], entries)

    def _prepare(self, control: ControlNet, width: int, height: int) -> torch.Tensor:
        from ...image_utils import common_upscale

        kind, detected = control.model.kind, control.model.detected
        original = control.cond_hint_original
        if original is None:
            raise ValueError(f"the {kind.name} ControlNet has no hint image; apply it with a ControlNet Apply node")
        compression = kind.compression
        if kind.latent_input:
            if control.vae is None:
                raise ValueError("This Controlnet needs a VAE but none was provided, please use a ControlNetApply "
                                 "node with a VAE input and connect it.")
            compression *= 8
        width, height = kind.scale_size(detected, width * compression, height * compression)
        hint = common_upscale(original.float().cpu(), width, height, kind.upscale, "center")
        hint = kind.preprocess(detected, hint)
        if kind.latent_input:
            from ..vae_ops import encode

            with control.vae.use() as vae:
                hint = encode(vae, hint.movedim(1, -1))
            hint = kind.hint_format(detected, self.latent_format).process_in(hint)
            if hint.ndim == 5:  # an image model whose VAE is a video VAE (Qwen-Image's): its one frame
                hint = hint[:, :, 0]
        extra = []
        for part in control.extra_concat_orig:
            part = common_upscale(part.float().cpu(), hint.shape[-1], hint.shape[-2], kind.upscale, "center")
            extra.append(_repeat_to(part, hint.shape[0]))
        return torch.cat([hint, *extra], dim=1) if extra else hint


class ControlCall:
    """The ControlNets of one network call: called by the adapter with its inputs, returns the residuals."""

    def __init__(self, run: ControlRun, chain: list[ControlNet], sigma: float, entries: int) -> None:
        self.run, self.chain, self.sigma, self.entries = run, chain, sigma, entries

    def __call__(self, inputs: ControlInputs) -> Residuals:
        total: Residuals | None = None
        for control in self.chain:
            kind, detected = control.model.kind, control.model.detected
            if inputs.family not in kind.families:
                raise ValueError(f"{detected.source or 'the ControlNet'} is a {kind.name} ControlNet; it cannot "
                                 f"drive a model of the {inputs.family!r} kind")
            net = self.run.modules[control.model.key]
            from ..model_api import compute_dtype

            hint = self.run.hint(control, inputs.x, self.entries, compute_dtype(net))
            found = kind.residuals(net, detected, control, hint, inputs)
            self.run.calls.append((kind.name, self.sigma))
            total = merge(total, found, control.strength)
        return total or {}


def _repeat_to(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    if tensor.shape[0] >= batch:
        return tensor[:batch]
    repeats = -(-batch // tensor.shape[0])
    return tensor.repeat(repeats, *([1] * (tensor.ndim - 1)))[:batch]
