"""Guiders and the denoiser the samplers call: the network over every conditioning entry, combined by CFG.

D(x, σ) returns the estimate of the clean latent at noise level σ:

- :class:`ModelRunner` evaluates lists of prepared entries (``conds.Cond``) in as few network calls as
  possible (entries with equal tensor shapes share a batch) and averages each list's predictions per cell,
  weighted by strength, area and mask (ComfyUI's calc_cond_batch);
- a guider (GUIDER value) combines the lists: :class:`CFGGuider` uncond + (cond − uncond)·cfg (skipping
  the negative pass at cfg 1), :class:`BasicGuider` the positive alone, :class:`DualCFGGuider` two
  prompts and a negative;
- :class:`Denoiser` wraps both for one sampling run and pins the unmasked part of an inpainting latent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from .conds import Cond, EncodeContext, ModelAdapter, Slice, area_and_mult, pair_areas, prepare

Conditioning = list[list[Any]]
CondLists = dict[str, list[Cond]]


class ModelRunner:
    """The network of one sampling run, fed through its family's adapter and model sampling."""

    def __init__(self, module: Any, adapter: ModelAdapter, model_sampling: Any) -> None:
        self.module, self.adapter, self.model_sampling = module, adapter, model_sampling
        from .model_api import compute_dtype

        self.device, self.dtype = next(module.parameters()).device, compute_dtype(module)
        self.calls = 0
        self._batched: dict[tuple[Any, ...], dict[str, torch.Tensor]] = {}

    def _cond_tensors(self, slices: list[Slice], batch: int) -> dict[str, torch.Tensor]:
        """The entries' tensors expanded to the batch and concatenated; the same every step, so kept."""
        key = (tuple(id(s.cond) for s in slices), tuple(s.area for s in slices), batch)
        found = self._batched.get(key)
        if found is None:
            found = {}
            for name in slices[0].cond.tensors:
                parts = []
                for piece in slices:
                    tensor = piece.cond.tensors[name]
                    if name in self.adapter.spatial_keys and piece.area is not None:
                        h, w, y, x = piece.area
                        tensor = tensor[..., y:y + h, x:x + w]
                    parts.append(_to_batch(tensor, batch))
                found[name] = torch.cat(parts)
            self._batched[key] = found
        return found

    def _run(self, slices: list[Slice], sigma: torch.Tensor) -> list[torch.Tensor]:
        """One network call for entries that share input shape; their denoised predictions."""
        n = len(slices)
        sigmas = sigma.repeat(n)
        first = slices[0].input_x
        ones = [1] * (first.ndim - 1)
        if all(s.input_x is first for s in slices):  # whole-image entries: one input, repeated
            x_in = self.model_sampling.calculate_input(sigma, first).repeat(n, *ones)
            raw = first.repeat(n, *ones)
        else:
            x_in = torch.cat([self.model_sampling.calculate_input(sigma, s.input_x) for s in slices])
            raw = torch.cat([s.input_x for s in slices])
        timestep = self.model_sampling.timestep(sigmas).float()
        conds = self._cond_tensors(slices, first.shape[0])
        output = self.adapter.apply(self.module, x_in.to(self.device, self.dtype), timestep.to(self.device), conds)
        self.calls += 1
        denoised = self.model_sampling.calculate_denoised(sigmas, output.float().to(raw.device), raw)
        return list(denoised.chunk(n))

    def calc_cond_batch(self, lists: list[list[Cond] | None], x: torch.Tensor, sigma: torch.Tensor
                        ) -> list[torch.Tensor]:
        """Each list's prediction: the weighted average of its entries' predictions over the cells they
        cover (zero where none does, as ComfyUI); a None list gives zeros without running anything."""
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        work: list[tuple[int, Slice]] = []
        for index, entries in enumerate(lists):
            for cond in entries or []:
                piece = area_and_mult(cond, x, sigma)
                if piece is not None:
                    work.append((index, piece))
        groups: dict[tuple[Any, ...], list[tuple[int, Slice]]] = {}
        for index, piece in work:
            groups.setdefault((tuple(piece.input_x.shape), piece.cond.shape_key()), []).append((index, piece))
        results: dict[int, torch.Tensor] = {}
        for group in groups.values():
            for (_, piece), prediction in zip(group, self._run([p for _, p in group], sigma), strict=True):
                results[id(piece)] = prediction
        out = []
        for index, entries in enumerate(lists):
            pieces = [p for i, p in work if i == index]
            if len(pieces) == 1 and _whole(pieces[0]):
                out.append(results[id(pieces[0])])  # one prompt over the whole image: nothing to average
                continue
            total = torch.zeros_like(x)
            count = torch.ones_like(x) * 1e-37
            for piece in pieces:
                target_total, target_count = total, count
                if piece.area is not None:
                    h, w, y, x0 = piece.area
                    target_total = total[:, :, y:y + h, x0:x0 + w]
                    target_count = count[:, :, y:y + h, x0:x0 + w]
                target_total += results[id(piece)] * piece.mult
                target_count += piece.mult
            out.append(total / count if entries else total)
        return out


def _whole(piece: Slice) -> bool:
    return piece.area is None and piece.cond.mask is None and piece.cond.strength == 1.0


def _to_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    if tensor.shape[0] == batch:
        return tensor
    if tensor.shape[0] == 1:
        return tensor.expand(batch, *tensor.shape[1:])
    repeats = math.ceil(batch / tensor.shape[0])
    return tensor.repeat(repeats, *([1] * (tensor.ndim - 1)))[:batch]


@dataclass
class CfgState:
    """Per-run CFG options the samplers may change: CFG++ needs the negative pass at every step."""

    keep_uncond: bool = False
    uncond_denoised: torch.Tensor | None = None


def cfg_combine(cond: torch.Tensor, uncond: torch.Tensor, scale: float, state: CfgState) -> torch.Tensor:
    """ComfyUI's cfg_function (without model patches): uncond + (cond − uncond)·scale."""
    state.uncond_denoised = uncond
    return uncond + (cond - uncond) * scale


@dataclass(eq=False)
class Guider:
    """A GUIDER: a model and named conditionings, and how to combine their predictions."""

    model: Any  # a ModelHandle
    conds: dict[str, Conditioning] = field(default_factory=dict)
    cfg: float = 1.0

    @property
    def model_patcher(self) -> Any:  # ComfyUI's attribute name for the guider's model
        return self.model

    def prompt_types(self) -> dict[str, str]:
        """The prompt type each list is encoded as (SDXL refiners score a negative prompt differently)."""
        return {name: "negative" if name in ("negative", "middle") else "positive" for name in self.conds}

    def predict(self, runner: ModelRunner, conds: CondLists, x: torch.Tensor, sigma: torch.Tensor,
                state: CfgState) -> torch.Tensor:
        positive, negative = conds.get("positive"), conds.get("negative")
        if math.isclose(self.cfg, 1.0) and not state.keep_uncond:
            (cond,) = runner.calc_cond_batch([positive], x, sigma)
            state.uncond_denoised = None
            return cond
        cond, uncond = runner.calc_cond_batch([positive, negative], x, sigma)
        return cfg_combine(cond, uncond, self.cfg, state)

    def cache_nbytes(self) -> int:
        return 64  # the conditioning tensors are counted where their encoder node produced them


class CFGGuider(Guider):
    """Classifier-free guidance between a positive and a negative conditioning."""

    def __init__(self, model: Any, positive: Conditioning, negative: Conditioning, cfg: float) -> None:
        super().__init__(model, {"positive": positive, "negative": negative}, cfg)


class BasicGuider(Guider):
    """The positive conditioning alone (guidance-distilled models such as Flux dev)."""

    def __init__(self, model: Any, conditioning: Conditioning) -> None:
        super().__init__(model, {"positive": conditioning}, 1.0)


class DualCFGGuider(Guider):
    """Two prompts and a negative: cond1 is guided against cond2 (cfg_conds), cond2 against the negative
    (cfg_cond2_negative); "nested" applies the first guidance inside the second."""

    def __init__(self, model: Any, cond1: Conditioning, cond2: Conditioning, negative: Conditioning,
                 cfg_conds: float, cfg_cond2_negative: float, nested: bool = False) -> None:
        super().__init__(model, {"positive": cond1, "middle": cond2, "negative": negative}, cfg_conds)
        self.cfg2, self.nested = cfg_cond2_negative, nested

    def predict(self, runner: ModelRunner, conds: CondLists, x: torch.Tensor, sigma: torch.Tensor,
                state: CfgState) -> torch.Tensor:
        negative, middle, positive = conds.get("negative"), conds.get("middle"), conds.get("positive")
        if self.nested:
            out = runner.calc_cond_batch([negative, middle, positive], x, sigma)
            text = cfg_combine(out[2], out[1], self.cfg, state)
            return out[0] + self.cfg2 * (text - out[0])
        if not state.keep_uncond and math.isclose(self.cfg2, 1.0):
            negative = None
            if math.isclose(self.cfg, 1.0):
                middle = None
        out = runner.calc_cond_batch([negative, middle, positive], x, sigma)
        return cfg_combine(out[1], out[0], self.cfg2, state) + (out[2] - out[1]) * self.cfg


@dataclass
class Inpaint:
    """An inpainting run: where to denoise (mask 1) and what to keep elsewhere."""

    mask: torch.Tensor  # [B, C, h, w] on the device
    latent: torch.Tensor  # the input latent, in the model's space
    noise: torch.Tensor  # the noise the kept part is re-noised with
    # the MODEL's "denoise_mask_function" (DifferentialDiffusion): (σ, mask, {"model_sampling", "sigmas"}) → mask
    mask_function: Callable[..., torch.Tensor] | None = None
    sigmas: torch.Tensor | None = None  # the run's schedule, for mask_function

    def mask_at(self, sigma: torch.Tensor, model_sampling: Any) -> torch.Tensor:
        if self.mask_function is None:
            return self.mask
        return self.mask_function(sigma, self.mask, {"model_sampling": model_sampling, "sigmas": self.sigmas})


class Denoiser:
    """D(x, σ) for one sampling run: the guider's prediction, with inpainting applied.

    ``model_sampling`` tells the samplers about the model's noise; ``watch_uncond`` gives CFG++ samplers
    the unconditional prediction of each call.
    """

    def __init__(self, guider: Guider, runner: ModelRunner, conds: CondLists, inpaint: Inpaint | None = None) -> None:
        self.guider, self.runner, self.conds, self.inpaint = guider, runner, conds, inpaint
        self.model_sampling = runner.model_sampling
        self.state = CfgState()

    @property
    def calls(self) -> int:
        return self.runner.calls

    def watch_uncond(self) -> Callable[[], torch.Tensor]:
        self.state.keep_uncond = True

        def latest() -> torch.Tensor:
            found = self.state.uncond_denoised
            assert found is not None, "the guider gave no unconditional prediction"
            return found

        return latest

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        inpaint = self.inpaint
        mask = inpaint.mask_at(sigma, self.model_sampling) if inpaint is not None else None
        if inpaint is not None and mask is not None:
            pinned = self.model_sampling.noise_scaling(sigma, inpaint.noise, inpaint.latent, False)
            x = x * mask + pinned * (1 - mask)
        out = self.guider.predict(self.runner, self.conds, x, sigma, self.state)
        if inpaint is not None and mask is not None:
            out = out * mask + inpaint.latent * (1 - mask)
        return out


def denoiser_for(module: Any, model_sampling: Any, guider: Guider, latent_shape: tuple[int, ...],
                 adapter: ModelAdapter | None = None, inpaint: Inpaint | None = None,
                 latent_image: torch.Tensor | None = None, seed: int | None = None) -> Denoiser:
    """The denoiser of one sampling run over a loaded network: the guider's conditionings prepared for the
    latent's shape (areas, masks and σ ranges resolved, tensors encoded once)."""
    if adapter is None:
        from .unet import UNetAdapter

        adapter = UNetAdapter()
    runner = ModelRunner(module, adapter, model_sampling)
    types = guider.prompt_types()
    conds = {}
    for name, conditioning in guider.conds.items():
        ctx = EncodeContext(types[name], latent_shape, runner.device, runner.dtype,
                            None if latent_image is None else latent_image.to(runner.device),
                            inpaint.mask if inpaint is not None else None, seed)
        conds[name] = prepare(conditioning, adapter, module, model_sampling, ctx)
    pair_areas(conds)
    return Denoiser(guider, runner, conds, inpaint)
