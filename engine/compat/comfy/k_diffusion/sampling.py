"""``comfy.k_diffusion.sampling`` for node packs: Inkgraph's samplers as k-diffusion's ``sample_<name>``.

Every sampler ComfyUI's ``KSAMPLER_NAMES`` lists (``sample_euler``, ``sample_dpmpp_2m_sde_gpu`` …) takes
k-diffusion's arguments, ``(model, x, sigmas, extra_args=None, callback=None, disable=None, **options)``, and
runs Inkgraph's implementation (the same one the built-in KSampler runs, so a pack wrapping
``sample_dpmpp_sde`` in its own ``KSAMPLER`` gets the built-in results); the noise sources and schedule helpers
packs build on are here under their k-diffusion names. ``sample_dpm_fast`` / ``sample_dpm_adaptive`` (whose
k-diffusion signatures differ) and the UniPC samplers are stand-ins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from inkgraph.nodes.diffusion import schedules as _schedules
from inkgraph.nodes.diffusion.ksamplers.common import BrownianNoise, StepNoise, ancestral_step, append_dims, to_d
from inkgraph.nodes.diffusion.samplers import SAMPLERS as _SAMPLERS

from ...stubs import comfy_attribute
from .._sampling import k_style

_SKIPPED = ("dpm_fast", "dpm_adaptive", "ddim", "uni_pc", "uni_pc_bh2")
_K_SAMPLERS: dict[str, Callable[..., torch.Tensor]] = {
    f"sample_{name}": k_style(fn, name) for name, fn in _SAMPLERS.items() if name not in _SKIPPED}
globals().update(_K_SAMPLERS)

__all__ = ["BrownianTreeNoiseSampler", "append_dims", "append_zero", "default_noise_sampler", "get_ancestral_step",
           "get_sigmas_exponential", "get_sigmas_karras", "get_sigmas_laplace", "get_sigmas_polyexponential",
           "get_sigmas_vp", "to_d", *_K_SAMPLERS]


def append_zero(x: torch.Tensor) -> torch.Tensor:
    return _schedules.append_zero(x)  # type: ignore[no-any-return]


def get_sigmas_karras(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0, device: Any = "cpu"
                      ) -> torch.Tensor:
    return _schedules.karras_schedule(n, sigma_min, sigma_max, rho).to(device)  # type: ignore[no-any-return]


def get_sigmas_exponential(n: int, sigma_min: float, sigma_max: float, device: Any = "cpu") -> torch.Tensor:
    return _schedules.exponential_schedule(n, sigma_min, sigma_max).to(device)  # type: ignore[no-any-return]


def get_sigmas_polyexponential(n: int, sigma_min: float, sigma_max: float, rho: float = 1.0, device: Any = "cpu"
                               ) -> torch.Tensor:
    return _schedules.polyexponential_schedule(n, sigma_min, sigma_max, rho).to(device)  # type: ignore[no-any-return]


def get_sigmas_vp(n: int, beta_d: float = 19.9, beta_min: float = 0.1, eps_s: float = 1e-3, device: Any = "cpu"
                  ) -> torch.Tensor:
    return _schedules.vp_schedule(n, beta_d, beta_min, eps_s).to(device)  # type: ignore[no-any-return]


def get_sigmas_laplace(n: int, sigma_min: float, sigma_max: float, mu: float = 0.0, beta: float = 0.5,
                       device: Any = "cpu") -> torch.Tensor:
    return _schedules.laplace_schedule(n, sigma_min, sigma_max, mu, beta).to(device)  # type: ignore[no-any-return]


def get_ancestral_step(sigma_from: Any, sigma_to: Any, eta: float = 1.0) -> tuple[Any, Any]:
    return ancestral_step(sigma_from, sigma_to, eta)  # type: ignore[no-any-return]


def default_noise_sampler(x: torch.Tensor, seed: int | None = None) -> Callable[[Any, Any], torch.Tensor]:
    """Fresh unit noise per call (seeded as the samplers seed theirs; the global generator without a seed)."""
    if seed is not None:
        return StepNoise(x, seed)  # type: ignore[no-any-return]
    return lambda sigma, sigma_next: torch.randn_like(x)


class BrownianTreeNoiseSampler(BrownianNoise):  # type: ignore[misc]
    """k-diffusion's Brownian-tree noise over [σ_min, σ_max] (``cpu`` builds the tree on the CPU)."""

    def __init__(self, x: torch.Tensor, sigma_min: Any, sigma_max: Any, seed: int | None = None,
                 transform: Callable[[Any], Any] | None = None, cpu: bool = False) -> None:
        if transform is not None:
            sigma_min, sigma_max = transform(torch.as_tensor(sigma_min)), transform(torch.as_tensor(sigma_max))
        super().__init__(x, sigma_min, sigma_max, 0 if seed is None else seed, cpu=cpu)


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.k_diffusion.sampling", name)
