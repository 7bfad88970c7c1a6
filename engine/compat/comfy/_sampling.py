"""How ComfyUI's sampling objects meet Inkgraph's: k-diffusion functions ↔ Inkgraph sampler functions, and
one sampling run for the ``comfy.samplers`` / ``comfy.sample`` facades.

Two calling conventions meet here:

- k-diffusion's (ComfyUI's ``KSAMPLER.sampler_function`` and ``comfy.k_diffusion.sampling.sample_*``):
  ``fn(model, x, sigmas, extra_args=None, callback=None, disable=None, **options)``, where ``model(x, sigma,
  **extra_args)`` is the denoiser and ``callback({"x", "i", "sigma", "sigma_hat", "denoised"})``;
- Inkgraph's (``samplers.Sampler.function``): ``fn(denoiser, x, sigmas, seed, cb, **options)``, with
  ``cb(i, x, denoised)``.

:func:`k_style` presents an Inkgraph sampler function in the first form and :func:`native_style` a pack's
function in the second; a denoiser crosses as :class:`KDiffusionModel` and is unwrapped again on the way
back, so an Inkgraph sampler wrapped by a pack runs exactly as it would alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from ...core.context import NodeContext, current_context
from ..stubs import Unavailable


def context(class_type: str = "comfy") -> NodeContext:
    """The running node's context; outside a prompt, a detached one (progress goes nowhere)."""
    ctx = current_context()
    if ctx is not None:
        return ctx
    from ...core.devices import ModelManager
    from .. import folders
    from ..node_facades import _Detached

    return NodeContext(_Detached(), node_id="", display_node_id="", class_type=class_type, prompt_id="", prompt={},
                       extra_data={}, folders=folders(), models=ModelManager())


class _View:
    """ComfyUI's ``model.inner_model`` chain as sampler functions read it (``.inner_model.model_sampling``)."""

    def __init__(self, denoiser: Any) -> None:
        self.model_sampling = getattr(denoiser, "model_sampling", None)
        self.inner_model = self
        self.model_options = getattr(getattr(denoiser, "runner", None), "model_options", {})
        guider = getattr(denoiser, "guider", None)
        self.model_patcher = getattr(guider, "model", None)


class KDiffusionModel:
    """An Inkgraph denoiser as k-diffusion's model: ``model(x, sigma, **extra_args)``."""

    def __init__(self, denoiser: Any) -> None:
        self.denoiser = denoiser
        self.inner_model = _View(denoiser)
        self.sigmas = getattr(denoiser, "sigmas", None)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **extra_args: Any) -> torch.Tensor:
        options = extra_args.get("model_options")
        if options is not None:
            return self.denoiser(x, sigma, options)  # type: ignore[no-any-return]
        return self.denoiser(x, sigma)  # type: ignore[no-any-return]


class _ForeignDenoiser:
    """A pack's own k-diffusion model as an Inkgraph denoiser."""

    def __init__(self, model: Any, extra_args: dict[str, Any]) -> None:
        self.model, self.extra_args = model, {k: v for k, v in extra_args.items() if k != "seed"}
        inner = getattr(model, "inner_model", None)
        self.model_sampling = getattr(inner, "model_sampling", None) or getattr(
            getattr(inner, "inner_model", None), "model_sampling", None)

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        if sigma.ndim == 0:
            sigma = sigma * x.new_ones([x.shape[0]])
        return self.model(x, sigma, **self.extra_args)  # type: ignore[no-any-return]


def denoiser_of(model: Any, extra_args: dict[str, Any] | None) -> Any:
    return model.denoiser if isinstance(model, KDiffusionModel) else _ForeignDenoiser(model, extra_args or {})


def _seed(extra_args: dict[str, Any] | None) -> int:
    seed = (extra_args or {}).get("seed")
    return int(seed) if seed is not None else 0


def _accepted(fn: Callable[..., Any], options: dict[str, Any], comfy_name: str) -> dict[str, Any]:
    target = getattr(fn, "func", fn)  # functools.partial
    params = inspect.signature(target).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return options
    unknown = [k for k in options if k not in params]
    if unknown:
        raise Unavailable(f"ComfyUI's {comfy_name} option(s) {', '.join(unknown)} are not available in Inkgraph yet")
    return options


def k_style(function: Callable[..., torch.Tensor], name: str) -> Callable[..., torch.Tensor]:
    """An Inkgraph sampler function called as a k-diffusion one."""
    def sample(model: Any, x: torch.Tensor, sigmas: torch.Tensor, extra_args: dict[str, Any] | None = None,
               callback: Callable[[dict[str, Any]], Any] | None = None, disable: Any = None,
               **options: Any) -> torch.Tensor:
        def cb(i: int, x_now: torch.Tensor, denoised: torch.Tensor) -> None:
            if callback is not None:
                callback({"x": x_now, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})

        options = _accepted(function, options, f"comfy.k_diffusion.sampling.sample_{name}")
        return function(denoiser_of(model, extra_args), x, sigmas, _seed(extra_args), cb, **options)

    sample.__name__ = f"sample_{name}"
    sample.__inkgraph_native__ = function  # type: ignore[attr-defined]
    return sample


def native_style(sampler_function: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
    """A k-diffusion sampler function (a pack's) called as an Inkgraph one."""
    native = getattr(sampler_function, "__inkgraph_native__", None)
    if native is not None:
        return native  # type: ignore[no-any-return]

    def run(model: Any, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: Callable[..., Any] | None = None,
            **options: Any) -> torch.Tensor:
        def callback(d: dict[str, Any]) -> None:
            if cb is not None:
                cb(d["i"], d["x"], d["denoised"])

        return sampler_function(KDiffusionModel(model), x, sigmas, extra_args={"seed": seed}, callback=callback,
                                disable=True, **options)

    return run


def run(guider: Any, sampler: Any, sigmas: torch.Tensor, noise: torch.Tensor,
        latent_image: torch.Tensor | None, denoise_mask: torch.Tensor | None = None,
        callback: Callable[..., Any] | None = None, seed: int | None = None) -> torch.Tensor:
    """One sampling run as ComfyUI's ``CFGGuider.sample``: the sampled latent, in the VAE's space, on the CPU."""
    from inkgraph.nodes.diffusion.ksampler import run_sampler

    latent = torch.zeros_like(noise) if latent_image is None else latent_image
    if len(sigmas) == 0:
        return latent
    value: dict[str, Any] = {"samples": latent.detach().cpu()}
    if denoise_mask is not None:
        value["noise_mask"] = denoise_mask.detach().cpu()
    out, _ = run_sampler(context(), guider, sampler, sigmas.detach().cpu(), noise.detach().cpu().float(), value,
                         int(seed) if seed is not None else 0, callback=callback, report=callback is None)
    samples: torch.Tensor = out["samples"]
    return samples
