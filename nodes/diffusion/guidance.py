"""Guiders and the denoiser the samplers call: the network over every conditioning entry, combined by CFG.

D(x, σ) returns the estimate of the clean latent at noise level σ:

- :class:`ModelRunner` evaluates lists of prepared entries (``conds.Cond``) in as few network calls as
  possible (entries with equal tensor shapes share a batch) and averages each list's predictions per cell,
  weighted by strength, area and mask (ComfyUI's calc_cond_batch);
- a guider (GUIDER value) combines the lists: :class:`CFGGuider` uncond + (cond − uncond)·cfg (skipping
  the negative pass at cfg 1), :class:`BasicGuider` the positive alone, :class:`DualCFGGuider` two
  prompts and a negative;
- :class:`Denoiser` wraps both for one sampling run and pins the unmasked part of an inpainting latent.

The MODEL's ``model_options`` (``patches.options``) are honoured where ComfyUI honours them:
:func:`sampling_function` and :func:`cfg_function` call the CFG hooks with ComfyUI's argument dicts,
:meth:`ModelRunner.calc_cond_batch` builds every network call's ``transformer_options`` (``cond_or_uncond``,
``uuids``, ``sigmas``) and calls the model-function wrapper, and the family's adapter runs the attention and
block patches (``patches.support``). Hooks receive the runner as ``args["model"]``; :func:`calc_cond_batch`
takes it back, as ComfyUI's ``comfy.samplers.calc_cond_batch`` takes its model.

Entries carrying conditioning hooks (``hooks/``) are evaluated group by group, the network's weights
patched for each group's hooks (:class:`~.hooks.sampling.HookRunner`); default entries
(PairConditioningSetDefaultCombine) fill what their list's other entries leave (``conds.default_slices``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import torch

from .conds import (
    Cond,
    EncodeContext,
    ModelAdapter,
    Slice,
    area_and_mult,
    default_slices,
    pair_areas,
    prepare,
    share_gligen,
)
from .hooks.sampling import HookRunner, group_key, hooks_of
from .patches.options import (
    CALC_COND_BATCH_FUNCTION,
    CFG_FUNCTION,
    DENOISE_MASK_FUNCTION,
    DISABLE_CFG1,
    MODEL_FUNCTION_WRAPPER,
    POST_CFG,
    PRE_CFG,
    WrappersMP,
    run_wrapped,
)
from .patches.support import check_supported, patch_context

Conditioning = list[list[Any]]
CondLists = dict[str, list[Cond]]


class ModelRunner:
    """The network of one sampling run, fed through its family's adapter and model sampling.

    ``model_options`` is the run's ComfyUI ``model_options`` dict (``ModelOptions.as_dict()`` of the MODEL);
    ``family`` names the model family in error messages."""

    def __init__(self, module: Any, adapter: ModelAdapter, model_sampling: Any,
                 model_options: dict[str, Any] | None = None, family: str = "unknown") -> None:
        self.module, self.adapter, self.model_sampling = module, adapter, model_sampling
        self.model_options: dict[str, Any] = model_options if model_options is not None else {}
        self.family = family
        check_supported(adapter, self.model_options, family)
        from .model_api import compute_dtype

        self.device, self.dtype = next(module.parameters()).device, compute_dtype(module)
        self.calls = 0
        self.controls: Any = None  # the run's ControlNets (control.run.ControlRun), set by denoiser_for
        self._batched: dict[tuple[Any, ...], dict[str, torch.Tensor]] = {}
        self.hooks: HookRunner | None = None  # set when entries carry hooks (their weights per group)

    @property
    def inner_model(self) -> ModelRunner:
        """ComfyUI hooks reach the model's sampling as ``extra_options["model"].inner_model.model_sampling``
        (its guider's inner model); the runner answers for both."""
        return self

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

    def apply_model(self, x: torch.Tensor, t: torch.Tensor, transformer_options: dict[str, Any] | None = None,
                    **conds: Any) -> torch.Tensor:
        """ComfyUI's ``BaseModel.apply_model``: the denoised prediction for noisy ``x`` at σ ``t`` (one per
        batch item), the network fed ``conds`` and ``transformer_options`` through the family's adapter."""
        options = transformer_options if transformer_options is not None else {}
        control = conds.pop("control", None)
        x_in = self.model_sampling.calculate_input(t, x)
        timestep = self.model_sampling.timestep(t).float()
        options["original_shape"] = list(x_in.shape)
        if control is not None:  # the ControlNets of this call, evaluated by the adapter at σ = t
            entries = len(options.get("cond_or_uncond") or [0])
            call = self.controls.call(control, t, entries) if self.controls is not None else None
            if call is not None and getattr(self.adapter, "control_family", None) is None:
                raise ValueError(f"ControlNets cannot steer '{self.family}' models yet (ControlNetApply… on a "
                                 f"conditioning this model samples); remove the ControlNet or use a model family "
                                 f"that takes one")
            if call is not None:
                conds = {**conds, "control": call}
        output = run_wrapped(WrappersMP.DIFFUSION_MODEL, options, self._network,
                             x_in.to(self.device, self.dtype), timestep.to(self.device), conds, options,
                             class_obj=self.module)  # ComfyUI's executor holds the diffusion model
        return self.model_sampling.calculate_denoised(t, output.float().to(x.device), x)  # type: ignore[no-any-return]

    def _network(self, x_in: torch.Tensor, timestep: torch.Tensor, conds: dict[str, torch.Tensor],
                 transformer_options: dict[str, Any]) -> torch.Tensor:
        """One network call (the DIFFUSION_MODEL wrappers' original), with the call's patches installed."""
        # an adapter that reads the call's options (the sampled schedule: HunyuanVideo 1.5's MeanFlow) says so
        extra = {"transformer_options": transformer_options} if getattr(self.adapter, "reads_options", False) else {}
        with patch_context(self.adapter, self.module, transformer_options, self.family):
            output = self.adapter.apply(self.module, x_in, timestep, conds, **extra)
        self.calls += 1
        return output

    def _run(self, slices: list[Slice], lists: list[int], sigma: torch.Tensor, model_options: dict[str, Any],
             patches: dict[str, list[Any]] | None = None) -> list[torch.Tensor]:
        """One network call for entries that share input shape; their denoised predictions. ``lists`` holds
        the index of the list each entry comes from (ComfyUI's ``cond_or_uncond``); ``patches`` are the
        entries' own block patches (GLIGEN), added after the MODEL's."""
        n = len(slices)
        sigmas = sigma.repeat(n)
        first = slices[0].input_x
        ones = [1] * (first.ndim - 1)
        if all(s.input_x is first for s in slices):  # whole-image entries: one input, repeated
            raw = first.repeat(n, *ones)
        else:
            raw = torch.cat([s.input_x for s in slices])
        transformer_options = dict(model_options.get("transformer_options") or {})
        if patches:
            merged = dict(transformer_options.get("patches") or {})
            for name, fns in patches.items():
                merged[name] = [*merged.get(name, []), *fns]
            transformer_options["patches"] = merged
        transformer_options.update(cond_or_uncond=list(lists), uuids=[s.cond.uuid for s in slices], sigmas=sigma)
        c: dict[str, Any] = {**self._cond_tensors(slices, first.shape[0]), "transformer_options": transformer_options}
        if slices[0].cond.control is not None:
            c["control"] = slices[0].cond.control
        wrapper = model_options.get(MODEL_FUNCTION_WRAPPER)
        if wrapper is not None:
            args = {"input": raw, "timestep": sigmas, "c": c, "cond_or_uncond": list(lists)}
            denoised = wrapper(self.apply_model, args)
        else:
            denoised = self.apply_model(raw, sigmas, **c)
        return list(denoised.chunk(n))

    def calc_cond_batch(self, lists: list[list[Cond] | None], x: torch.Tensor, sigma: torch.Tensor,
                        model_options: dict[str, Any] | None = None) -> list[torch.Tensor]:
        """Each list's prediction: the weighted average of its entries' predictions over the cells they
        cover (zero where none does, as ComfyUI); a None list gives zeros without running anything.
        ``model_options``: the run's, or as a hook changed them (PAG, SAG); its CALC_COND_BATCH wrappers
        are called as ComfyUI calls them, ``wrapper(executor, model, conds, x, sigma, model_options)``."""
        options = self.model_options if model_options is None else model_options
        result: list[torch.Tensor] = run_wrapped(
            WrappersMP.CALC_COND_BATCH, options.get("transformer_options") or {},
            lambda model, conds, x_in, s, o: model._calc_cond_batch(conds, x_in, s, o), self, lists, x, sigma, options)
        return result

    def _calc_cond_batch(self, lists: list[list[Cond] | None], x: torch.Tensor, sigma: torch.Tensor,
                         model_options: dict[str, Any]) -> list[torch.Tensor]:
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        work: list[tuple[int, Slice]] = []
        defaults: list[list[Cond]] = [[] for _ in lists]
        for index, entries in enumerate(lists):
            for cond in entries or []:
                if cond.default:
                    defaults[index].append(cond)
                    continue
                piece = area_and_mult(cond, x, sigma)
                if piece is not None:
                    work.append((index, piece))
        if any(defaults):
            work += default_slices(work, defaults, x, sigma)
        # ComfyUI runs the entries hook group by hook group, the network patched for each; within a group,
        # entries of equal shapes share a call (entries with their own block patches run alone)
        by_hooks: dict[tuple[Any, ...], dict[tuple[Any, ...], list[tuple[int, Slice]]]] = {}
        for index, piece in work:
            shapes = (tuple(piece.input_x.shape), piece.cond.shape_key(),
                      id(piece) if piece.cond.patches is not None else None, id(piece.cond.control))
            by_hooks.setdefault(group_key(hooks_of(piece.cond)), {}).setdefault(shapes, []).append((index, piece))
        if self.hooks is not None:
            self.hooks.advance([hooks_of(p.cond) for _, p in work], sigma)
        results: dict[int, torch.Tensor] = {}
        for batches in by_hooks.values():
            if self.hooks is not None:
                self.hooks.apply(hooks_of(next(iter(batches.values()))[0][1].cond))
            for group in batches.values():
                first = group[0][1]
                with ExitStack() as stack:
                    patches = None
                    if first.cond.patches is not None:
                        patches = stack.enter_context(first.cond.patches(tuple(first.input_x.shape), self.device))
                    predictions = self._run([p for _, p in group], [i for i, _ in group], sigma, model_options,
                                            patches)
                for (_, piece), prediction in zip(group, predictions, strict=True):
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


def calc_cond_batch(model: ModelRunner, conds: list[list[Cond] | None], x: torch.Tensor, sigma: torch.Tensor,
                    model_options: dict[str, Any]) -> list[torch.Tensor]:
    """ComfyUI's ``comfy.samplers.calc_cond_batch``, for hooks that run the network again (``args["model"]``
    is the runner)."""
    return model.calc_cond_batch(conds, x, sigma, model_options)


def _whole(piece: Slice) -> bool:
    return piece.area is None and piece.cond.mask is None and piece.cond.strength == 1.0 and not piece.weighted


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


def cfg_function(model: ModelRunner, cond_pred: torch.Tensor, uncond_pred: torch.Tensor, cond_scale: float,
                 x: torch.Tensor, sigma: torch.Tensor, model_options: dict[str, Any],
                 cond: list[Cond] | None = None, uncond: list[Cond] | None = None,
                 state: CfgState | None = None) -> torch.Tensor:
    """ComfyUI's ``cfg_function``: uncond + (cond − uncond)·scale, or the model's ``sampler_cfg_function``
    (given and returning x − prediction, as ComfyUI's ε-style arguments), then each
    ``sampler_post_cfg_function`` on the result."""
    cfg_fn = model_options.get(CFG_FUNCTION)
    if cfg_fn is not None:
        args = {"cond": x - cond_pred, "uncond": x - uncond_pred, "cond_scale": cond_scale, "timestep": sigma,
                "input": x, "sigma": sigma, "cond_denoised": cond_pred, "uncond_denoised": uncond_pred,
                "model": model, "model_options": model_options}
        result = x - cfg_fn(args)
    else:
        result = uncond_pred + (cond_pred - uncond_pred) * cond_scale
    for fn in model_options.get(POST_CFG, []):
        result = fn({"denoised": result, "cond": cond, "uncond": uncond, "cond_scale": cond_scale, "model": model,
                     "uncond_denoised": uncond_pred, "cond_denoised": cond_pred, "sigma": sigma,
                     "model_options": model_options, "input": x})
    if state is not None:
        state.uncond_denoised = uncond_pred
    return result


def sampling_function(model: ModelRunner, x: torch.Tensor, sigma: torch.Tensor, uncond: list[Cond] | None,
                      cond: list[Cond] | None, cond_scale: float, model_options: dict[str, Any],
                      state: CfgState | None = None) -> torch.Tensor:
    """ComfyUI's ``sampling_function``: the positive and negative predictions in as few network calls as
    possible (the negative skipped at cfg 1 unless a hook or a CFG++ sampler needs it), the
    ``sampler_pre_cfg_function`` hooks on them, then :func:`cfg_function`."""
    keep = model_options.get(DISABLE_CFG1, False) or (state is not None and state.keep_uncond)
    uncond_ = None if math.isclose(cond_scale, 1.0) and not keep else uncond
    conds = [cond, uncond_]
    batch_fn = model_options.get(CALC_COND_BATCH_FUNCTION)
    if batch_fn is not None:
        out = batch_fn({"conds": conds, "input": x, "sigma": sigma, "model": model, "model_options": model_options})
    else:
        out = calc_cond_batch(model, conds, x, sigma, model_options)
    for fn in model_options.get(PRE_CFG, []):
        out = fn({"conds": conds, "conds_out": out, "cond_scale": cond_scale, "timestep": sigma, "input": x,
                  "sigma": sigma, "model": model, "model_options": model_options})
    return cfg_function(model, out[0], out[1], cond_scale, x, sigma, model_options, cond=cond, uncond=uncond_,
                        state=state)


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
                state: CfgState, model_options: dict[str, Any] | None = None) -> torch.Tensor:
        options = runner.model_options if model_options is None else model_options
        return sampling_function(runner, x, sigma, conds.get("negative"), conds.get("positive"), self.cfg, options,
                                 state)

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
                state: CfgState, model_options: dict[str, Any] | None = None) -> torch.Tensor:
        options = runner.model_options if model_options is None else model_options
        negative, middle, positive = conds.get("negative"), conds.get("middle"), conds.get("positive")
        if self.nested:
            out = calc_cond_batch(runner, [negative, middle, positive], x, sigma, options)
            text = cfg_function(runner, out[2], out[1], self.cfg, x, sigma, options, cond=positive, uncond=middle,
                                state=state)
            return out[0] + self.cfg2 * (text - out[0])
        if not (state.keep_uncond or options.get(DISABLE_CFG1, False)) and math.isclose(self.cfg2, 1.0):
            negative = None
            if math.isclose(self.cfg, 1.0):
                middle = None
        out = calc_cond_batch(runner, [negative, middle, positive], x, sigma, options)
        return (cfg_function(runner, out[1], out[0], self.cfg2, x, sigma, options, cond=middle, uncond=negative,
                             state=state) + (out[2] - out[1]) * self.cfg)


@dataclass
class Inpaint:
    """An inpainting run: where to denoise (mask 1) and what to keep elsewhere."""

    mask: torch.Tensor  # [B, C, h, w] (video: [B, C, T, h, w]) on the device
    latent: torch.Tensor  # the input latent, in the model's space
    noise: torch.Tensor  # the noise the kept part is re-noised with
    clean: bool = False  # the kept part stays clean instead (ComfyUI's WAN22.scale_latent_inpaint)


class Denoiser:
    """D(x, σ) for one sampling run: the guider's prediction, with inpainting applied.

    ``model_sampling`` tells the samplers about the model's noise; ``watch_uncond`` gives CFG++ samplers
    the unconditional prediction of each call. ``sigmas`` (the run's schedule, when the caller knows it)
    reaches a ``denoise_mask_function``.
    """

    def __init__(self, guider: Guider, runner: ModelRunner, conds: CondLists, inpaint: Inpaint | None = None) -> None:
        self.guider, self.runner, self.conds, self.inpaint = guider, runner, conds, inpaint
        self.model_sampling = runner.model_sampling
        self.state = CfgState()
        self.sigmas: torch.Tensor | None = None

    @property
    def calls(self) -> int:
        return self.runner.calls

    def finish(self) -> None:
        """The run is over: a network patched for hooked entries gets the MODEL's own weights back."""
        if self.runner.hooks is not None:
            self.runner.hooks.finish()

    def watch_uncond(self) -> Callable[[], torch.Tensor]:
        self.state.keep_uncond = True

        def latest() -> torch.Tensor:
            found = self.state.uncond_denoised
            assert found is not None, "the guider gave no unconditional prediction"
            return found

        return latest

    def _predict(self, x: torch.Tensor, sigma: torch.Tensor, model_options: dict[str, Any]) -> torch.Tensor:
        if model_options is self.runner.model_options:  # (guiders written before model options take five arguments)
            return self.guider.predict(self.runner, self.conds, x, sigma, self.state)
        return self.guider.predict(self.runner, self.conds, x, sigma, self.state, model_options)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, model_options: dict[str, Any] | None = None
                 ) -> torch.Tensor:
        """D(x, σ); ``model_options`` replaces the run's for this call (a ComfyUI sampler function passes its
        own ``extra_args["model_options"]``, e.g. with a post-CFG hook that keeps the unconditional
        prediction)."""
        if sigma.ndim == 0:
            sigma = sigma.expand(x.shape[0])
        options = self.runner.model_options if model_options is None else model_options
        inpaint = self.inpaint
        mask = None
        if inpaint is not None:
            mask = inpaint.mask
            mask_fn = options.get(DENOISE_MASK_FUNCTION)
            if mask_fn is not None:
                mask = mask_fn(sigma, mask, extra_options={"model": self.runner, "sigmas": self.sigmas})
            pinned = (inpaint.latent if inpaint.clean
                      else self.model_sampling.noise_scaling(sigma, inpaint.noise, inpaint.latent, False))
            x = x * mask + pinned * (1 - mask)
        out: torch.Tensor = run_wrapped(WrappersMP.PREDICT_NOISE, options.get("transformer_options") or {},
                                        self._predict, x, sigma, options)
        if inpaint is not None and mask is not None:
            out = out * mask + inpaint.latent * (1 - mask)
        return out


def denoiser_for(module: Any, model_sampling: Any, guider: Guider, latent_shape: tuple[int, ...],
                 adapter: ModelAdapter | None = None, inpaint: Inpaint | None = None,
                 latent_image: torch.Tensor | None = None, seed: int | None = None,
                 model_options: dict[str, Any] | None = None, controls: dict[Any, Any] | None = None) -> Denoiser:
    """The denoiser of one sampling run over a loaded network: the guider's conditionings prepared for the
    latent's shape (areas, masks and σ ranges resolved, tensors encoded once). ``model_options`` is the run's
    ComfyUI ``model_options`` dict (by default the guider's MODEL's); ``controls`` the run's control models on
    the device (``control.run.placed``), key → module."""
    from .control.run import ControlRun
    from .model_api import latent_format_of, preview_kind
    from .patches.options import model_options_of

    if adapter is None:
        from .unet import UNetAdapter

        adapter = UNetAdapter()
    if model_options is None:
        model_options = model_options_of(guider.model).as_dict()
    runner = ModelRunner(module, adapter, model_sampling, model_options, preview_kind(guider.model))
    runner.controls = ControlRun(controls or {}, model_sampling, latent_format_of(guider.model), runner.device,
                                 runner.dtype)
    types = guider.prompt_types()
    conds = {}
    for name, conditioning in guider.conds.items():
        ctx = EncodeContext(types[name], latent_shape, runner.device, runner.dtype,
                            None if latent_image is None else latent_image.to(runner.device),
                            inpaint.mask if inpaint is not None else None, seed)
        conds[name] = prepare(conditioning, adapter, module, model_sampling, ctx)
    pair_areas(conds)
    share_gligen(conds)
    denoiser = Denoiser(guider, runner, conds, inpaint)
    if any(hooks_of(c) is not None for entries in conds.values() for c in entries):
        runner.hooks = HookRunner(guider.model, module, model_sampling, lambda: denoiser.sigmas)
    return denoiser
