"""``comfy.samplers`` for ComfyUI packs, over Inkgraph's samplers, schedules and guiders.

- the name lists (``KSampler.SAMPLERS`` / ``SCHEDULERS``, ``SAMPLER_NAMES`` …), which packs put in their combos
  and extend at import time;
- ``KSampler(model, steps, device, sampler, scheduler, denoise)`` with ``.sigmas`` and ``.sample(...)``,
  ``calculate_sigmas``, ``sampler_object``, ``ksampler``, ``sample`` — the same schedules and samplers as the
  built-in KSampler, so equal inputs give equal latents;
- SAMPLER values as ``KSAMPLER`` objects (``sampler_function``, ``extra_options``, ``inpaint_options``): a
  built-in sampler reaching a pack is one, and a ``KSAMPLER`` a pack builds (around its own k-diffusion
  function, or wrapping another's) works in the built-in SamplerCustom nodes;
- GUIDER values as ``CFGGuider`` objects (``set_conds``, ``set_cfg``, ``sample``, ``predict_noise``), and a
  pack's ``CFGGuider`` subclass overriding ``predict_noise`` runs inside Inkgraph's sampler, its
  ``self.inner_model`` and ``self.conds`` given to ``sampling_function`` / ``calc_cond_batch`` as ComfyUI gives
  them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch

from ..stubs import Unavailable, comfy_attribute
from . import _sampling


def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from inkgraph.nodes.diffusion.names import SAMPLER_NAMES as SAMPLERS
    from inkgraph.nodes.diffusion.names import SCHEDULER_NAMES as SCHEDULERS

    return SAMPLERS, SCHEDULERS


_SAMPLERS, _SCHEDULERS = _names()
SAMPLER_NAMES: list[str] = list(_SAMPLERS)
KSAMPLER_NAMES: list[str] = [name for name in _SAMPLERS if name not in ("ddim", "uni_pc", "uni_pc_bh2")]
SCHEDULER_NAMES: list[str] = list(_SCHEDULERS)


class SchedulerHandler(NamedTuple):
    """A scheduler: ``handler(model_sampling, steps)``, or with ``use_ms`` False
    ``handler(n, sigma_min, sigma_max)``."""

    handler: Callable[..., torch.Tensor]
    use_ms: bool = True


def _builtin_handler(name: str) -> SchedulerHandler:
    from inkgraph.nodes.diffusion.schedules import schedule_sigmas

    def handler(model_sampling: Any, steps: int) -> torch.Tensor:
        return schedule_sigmas(model_sampling, name, steps)  # type: ignore[no-any-return]

    return SchedulerHandler(handler)


# packs add their own schedulers here (and to KSampler.SCHEDULERS); calculate_sigmas consults this table
SCHEDULER_HANDLERS: dict[str, SchedulerHandler] = {name: _builtin_handler(name) for name in SCHEDULER_NAMES}


def calculate_sigmas(model_sampling: Any, scheduler_name: str, steps: int) -> torch.Tensor:
    handler = SCHEDULER_HANDLERS.get(scheduler_name)
    if handler is None:
        raise ValueError(f"error invalid scheduler {scheduler_name}")
    if handler.use_ms:
        return handler.handler(model_sampling, steps)
    return handler.handler(n=steps, sigma_min=float(model_sampling.sigma_min),
                           sigma_max=float(model_sampling.sigma_max))


# -- SAMPLER values -------------------------------------------------------------------------------------------

class Sampler:
    """ComfyUI's sampler base class (a pack's subclass must define ``sample``)."""

    def sample(self, *args: Any, **kwargs: Any) -> Any:
        raise Unavailable("ComfyUI's comfy.samplers.Sampler.sample of a node pack's own Sampler subclass cannot run "
                          "in Inkgraph's sampler; wrap a sampler function in comfy.samplers.KSAMPLER instead")

    def max_denoise(self, model_wrap: Any, sigmas: torch.Tensor) -> bool:
        import math

        max_sigma = float(model_wrap.inner_model.model_sampling.sigma_max)
        sigma = float(sigmas[0])
        return math.isclose(max_sigma, sigma, rel_tol=1e-05) or sigma > max_sigma

    def __inkgraph_value__(self) -> Any:
        return self


class KSAMPLER(Sampler):
    """ComfyUI's SAMPLER value: a k-diffusion sampler function and its options."""

    def __init__(self, sampler_function: Callable[..., Any], extra_options: dict[str, Any] | None = None,
                 inpaint_options: dict[str, Any] | None = None) -> None:
        self.sampler_function = sampler_function
        self.extra_options = dict(extra_options or {})
        self.inpaint_options = dict(inpaint_options or {})
        self._native: Any = None

    @classmethod
    def of(cls, native: Any) -> KSAMPLER:
        """A built-in SAMPLER (``samplers.Sampler``) as ComfyUI's object."""
        out = cls(_sampling.k_style(native.function, native.name), dict(native.options),
                  {"random": True} if native.inpaint_random else {})
        out._native = native
        return out

    def __inkgraph_value__(self) -> Any:
        from inkgraph.nodes.diffusion.samplers import Sampler as Native

        native = self._native
        inpaint_random = bool(self.inpaint_options.get("random", False))
        function = _sampling.native_style(self.sampler_function)
        if native is not None and function is native.function and dict(native.options) == self.extra_options \
                and native.inpaint_random == inpaint_random:
            return native
        name = getattr(self.sampler_function, "__name__", "custom").removeprefix("sample_")
        final = native.final_sigma if native is not None and function is native.function else None
        return Native(name, function, tuple(self.extra_options.items()), inpaint_random, final)

    def sample(self, model_wrap: Any, sigmas: torch.Tensor, extra_args: dict[str, Any], callback: Any,
               noise: torch.Tensor, latent_image: torch.Tensor | None = None, denoise_mask: Any = None,
               disable_pbar: bool = False) -> torch.Tensor:
        """ComfyUI's KSAMPLER.sample, for a pack's guider that calls it itself (without inpainting)."""
        if denoise_mask is not None:
            raise Unavailable("ComfyUI's comfy.samplers.KSAMPLER.sample with a denoise mask outside a guider's run is "
                              "not available in Inkgraph yet")
        model_sampling = model_wrap.inner_model.model_sampling
        latent = torch.zeros_like(noise) if latent_image is None else latent_image
        x = model_sampling.noise_scaling(sigmas[0], noise, latent, self.max_denoise(model_wrap, sigmas))
        total = len(sigmas) - 1
        k_callback = None if callback is None else (lambda d: callback(d["i"], d["denoised"], d["x"], total))
        samples = self.sampler_function(model_wrap, x, sigmas, extra_args=extra_args, callback=k_callback,
                                        disable=disable_pbar, **self.extra_options)
        return model_sampling.inverse_noise_scaling(sigmas[-1], samples)  # type: ignore[no-any-return]


def ksampler(sampler_name: str, extra_options: dict[str, Any] | None = None,
             inpaint_options: dict[str, Any] | None = None) -> KSAMPLER:
    from inkgraph.nodes.diffusion.samplers import sampler_object as native

    out = KSAMPLER.of(native(sampler_name, **(extra_options or {})))
    out.inpaint_options = dict(inpaint_options or {})
    return out


def sampler_object(name: str) -> KSAMPLER:
    from inkgraph.nodes.diffusion.samplers import sampler_object as native

    return KSAMPLER.of(native(name))


def sampler_facade(native: Any) -> KSAMPLER:
    return KSAMPLER.of(native)


def native_sampler(sampler: Any) -> Any:
    value = sampler.__inkgraph_value__() if hasattr(sampler, "__inkgraph_value__") else sampler
    from inkgraph.nodes.diffusion.samplers import Sampler as Native

    if not isinstance(value, Native):
        raise Unavailable(f"ComfyUI's comfy.samplers.Sampler.sample of {type(sampler).__name__} cannot run in "
                          "Inkgraph's sampler; wrap a sampler function in comfy.samplers.KSAMPLER instead")
    return value


# -- guiding ------------------------------------------------------------------------------------------------

def calc_cond_batch(model: Any, conds: list[Any], x_in: torch.Tensor, timestep: torch.Tensor,
                    model_options: dict[str, Any]) -> list[torch.Tensor]:
    from inkgraph.nodes.diffusion.guidance import calc_cond_batch as native

    return native(model, conds, x_in, timestep, model_options)  # type: ignore[no-any-return]


def cfg_function(model: Any, cond_pred: torch.Tensor, uncond_pred: torch.Tensor, cond_scale: float, x: torch.Tensor,
                 timestep: torch.Tensor, model_options: dict[str, Any] | None = None, cond: Any = None,
                 uncond: Any = None) -> torch.Tensor:
    from inkgraph.nodes.diffusion.guidance import cfg_function as native

    return native(model, cond_pred, uncond_pred, cond_scale, x, timestep, model_options or {}, cond, uncond,  # type: ignore[no-any-return]
                  model.__dict__.get("_inkgraph_cfg_state"))


def sampling_function(model: Any, x: torch.Tensor, timestep: torch.Tensor, uncond: Any, cond: Any, cond_scale: float,
                      model_options: dict[str, Any] | None = None, seed: int | None = None) -> torch.Tensor:
    from inkgraph.nodes.diffusion.guidance import sampling_function as native

    return native(model, x, timestep, uncond, cond, cond_scale, model_options if model_options is not None else  # type: ignore[no-any-return]
                  model.model_options, model.__dict__.get("_inkgraph_cfg_state"))


from ._guiders import CFGGuider as CFGGuider  # noqa: E402  (they use the functions above)
from ._guiders import guider_facade as guider_facade  # noqa: E402


def sample(model: Any, noise: torch.Tensor, positive: Any, negative: Any, cfg: float, device: Any, sampler: Any,
           sigmas: torch.Tensor, model_options: dict[str, Any] | None = None, latent_image: torch.Tensor | None = None,
           denoise_mask: torch.Tensor | None = None, callback: Callable[..., Any] | None = None,
           disable_pbar: bool = False, seed: int | None = None) -> torch.Tensor:
    guider = CFGGuider(model)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider.sample(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed)


class KSampler:
    """ComfyUI's KSampler: the sigmas of a scheduler and a sampler name for a model, and a sampling run."""

    SAMPLERS = SAMPLER_NAMES
    SCHEDULERS = SCHEDULER_NAMES
    DISCARD_PENULTIMATE_SIGMA_SAMPLERS = {"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"}

    def __init__(self, model: Any, steps: int, device: Any, sampler: str | None = None, scheduler: str | None = None,
                 denoise: float | None = None, model_options: dict[str, Any] | None = None) -> None:
        self.model, self.device = model, device
        self.scheduler = scheduler if scheduler in self.SCHEDULERS else self.SCHEDULERS[0]
        self.sampler = sampler if sampler in self.SAMPLERS else self.SAMPLERS[0]
        self.set_steps(steps, denoise)
        self.denoise = denoise
        self.model_options = model_options if model_options is not None else {}

    def calculate_sigmas(self, steps: int) -> torch.Tensor:
        discard = self.sampler in self.DISCARD_PENULTIMATE_SIGMA_SAMPLERS
        sigmas = calculate_sigmas(self.model.get_model_object("model_sampling"), self.scheduler,
                                  steps + 1 if discard else steps)
        return torch.cat([sigmas[:-2], sigmas[-1:]]) if discard else sigmas

    def set_steps(self, steps: int, denoise: float | None = None) -> None:
        self.steps = steps
        if denoise is None or denoise > 0.9999:
            self.sigmas = self.calculate_sigmas(steps)
        elif denoise <= 0.0:
            self.sigmas = torch.FloatTensor([])
        else:
            self.sigmas = self.calculate_sigmas(int(steps / denoise))[-(steps + 1):]

    def sample(self, noise: torch.Tensor, positive: Any, negative: Any, cfg: float,
               latent_image: torch.Tensor | None = None, start_step: int | None = None, last_step: int | None = None,
               force_full_denoise: bool = False, denoise_mask: torch.Tensor | None = None,
               sigmas: torch.Tensor | None = None, callback: Callable[..., Any] | None = None,
               disable_pbar: bool = False, seed: int | None = None) -> torch.Tensor:
        sigmas = self.sigmas if sigmas is None else sigmas
        if last_step is not None and last_step < len(sigmas) - 1:
            sigmas = sigmas[:last_step + 1].clone()
            if force_full_denoise:
                sigmas[-1] = 0
        if start_step is not None:
            if start_step < len(sigmas) - 1:
                sigmas = sigmas[start_step:]
            else:
                return latent_image if latent_image is not None else torch.zeros_like(noise)
        return sample(self.model, noise, positive, negative, cfg, self.device, sampler_object(self.sampler), sigmas,
                      self.model_options, latent_image=latent_image, denoise_mask=denoise_mask, callback=callback,
                      disable_pbar=disable_pbar, seed=seed)


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.samplers", name)
