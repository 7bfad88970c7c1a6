"""What every sampler shares: the denoiser it calls, its noise sources, and k-diffusion's small helpers.

A sampler walks ``sigmas`` (decreasing noise levels) in k-diffusion's space: it calls the denoiser
D(x, σ) → estimate of the clean latent and returns the latent at the last σ. It learns what it needs about
the model only from ``model.model_sampling`` (flow or not, σ ↔ half-log-SNR, percent → σ) and, for the CFG++
methods, from the unconditional prediction the guider exposes (:func:`watch_uncond`).

Noise, as ComfyUI draws it: ancestral steps from a private generator seeded ``seed + 1`` on the CPU (``seed``
on other devices); SDE samplers from a torchsde Brownian tree seeded with ``seed``, built on the CPU (the
``_gpu`` names build it on the latent's device), so a seed gives the same result everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from ..model_sampling import CONST, ModelSampling, discrete

StepCallback = Callable[[int, torch.Tensor, torch.Tensor], None]  # (step index, x, denoised)
NoiseSampler = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (σ, σ_next) → unit-variance noise


class Denoiser(Protocol):
    """What a sampler calls: D(x, σ) with σ a 0-d tensor (or one per batch item)."""

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor: ...


def noop(i: int, x: torch.Tensor, denoised: torch.Tensor) -> None:
    return None


def sampling_of(model: Any) -> ModelSampling:
    """The denoiser's model sampling; a bare function is taken for an ε-model on SD's schedule."""
    found = getattr(model, "model_sampling", None)
    return found if found is not None else discrete("epsilon")


def noise_scale_of(model: Any) -> float:
    """Flow families trained with scaled noise scale the noise SDE samplers add (ComfyUI's noise_scale)."""
    return float(getattr(sampling_of(model), "noise_scale", 1.0))


def watch_uncond(model: Any) -> Callable[[], torch.Tensor]:
    """For CFG++: the denoiser runs the negative pass on every call (even at cfg 1) and keeps its
    prediction; the returned function gives the latest one. Needs a guider's denoiser."""
    watch = getattr(model, "watch_uncond", None)
    if watch is None:
        raise ValueError("CFG++ samplers need the unconditional prediction, which only a guider's denoiser gives")
    getter: Callable[[], torch.Tensor] = watch()
    return getter


class StepNoise:
    """ComfyUI's default noise sampler: one randn(x.shape) per call from a private generator, seeded
    seed + 1 on the CPU and seed elsewhere."""

    def __init__(self, x: torch.Tensor, seed: int) -> None:
        self.shape, self.dtype, self.device = x.shape, x.dtype, x.device
        self.generator = torch.Generator(device=x.device)
        self.generator.manual_seed(seed + 1 if x.device.type == "cpu" else seed)

    def __call__(self, sigma: Any = None, sigma_next: Any = None) -> torch.Tensor:
        return torch.randn(self.shape, dtype=self.dtype, device=self.device, generator=self.generator)


class BrownianNoise:
    """ComfyUI's BrownianTreeNoiseSampler: increments of one torchsde Brownian tree over [σ_min, σ_max],
    normalised to unit variance. ``cpu`` builds the tree on the CPU (device-independent results)."""

    def __init__(self, x: torch.Tensor, sigma_min: torch.Tensor, sigma_max: torch.Tensor, seed: int,
                 cpu: bool = True) -> None:
        import torchsde

        t0, t1 = torch.as_tensor(sigma_min), torch.as_tensor(sigma_max)
        t0, t1, self.sign = (t0, t1, 1) if t0 < t1 else (t1, t0, -1)
        w0 = torch.zeros_like(x)
        self.cpu = cpu
        if cpu:
            t0, w0, t1 = t0.detach().cpu(), w0.detach().cpu(), t1.detach().cpu()
        self.tree = torchsde.BrownianTree(t0, w0, t1, entropy=seed)

    def __call__(self, sigma: Any, sigma_next: Any) -> torch.Tensor:
        s, s_next = torch.as_tensor(sigma), torch.as_tensor(sigma_next)
        t0, t1, sign = (s, s_next, 1) if s < s_next else (s_next, s, -1)
        device, dtype = t0.device, t0.dtype
        if self.cpu:
            t0, t1 = t0.detach().cpu().float(), t1.detach().cpu().float()
        w: torch.Tensor = self.tree(t0, t1).to(device=device, dtype=dtype) * (self.sign * sign)
        return w / (s_next - s).abs().sqrt()


def brownian(x: torch.Tensor, sigmas: torch.Tensor, seed: int, cpu: bool = True) -> BrownianNoise:
    """A Brownian noise source over the positive range of ``sigmas``."""
    return BrownianNoise(x, sigmas[sigmas > 0].min(), sigmas.max(), seed, cpu=cpu)


def to_d(x: torch.Tensor, sigma: torch.Tensor, denoised: torch.Tensor) -> torch.Tensor:
    """The Karras ODE derivative dx/dσ from a denoiser output."""
    return (x - denoised) / append_dims(sigma, x.ndim)


def append_dims(v: torch.Tensor, ndim: int) -> torch.Tensor:
    return v[(...,) + (None,) * (ndim - v.ndim)]


def ancestral_step(sigma_from: Any, sigma_to: Any, eta: float = 1.0) -> tuple[Any, Any]:
    """(σ_down, σ_up): where the deterministic step goes and how much fresh noise brings it to σ_to."""
    if not eta:
        return sigma_to, 0.0
    sigma_up = min(sigma_to, eta * (sigma_to ** 2 * (sigma_from ** 2 - sigma_to ** 2) / sigma_from ** 2) ** 0.5)
    return (sigma_to ** 2 - sigma_up ** 2) ** 0.5, sigma_up


def half_log_snr(sigma: torch.Tensor, model_sampling: ModelSampling) -> torch.Tensor:
    """λ = log(α/σ): −log σ for VE/VP models, log((1−σ)/σ) for flow."""
    if isinstance(model_sampling, CONST):
        return sigma.logit().neg()
    return sigma.log().neg()


def sigma_from_half_log_snr(lam: torch.Tensor, model_sampling: ModelSampling) -> torch.Tensor:
    if isinstance(model_sampling, CONST):
        return lam.neg().sigmoid()
    return lam.neg().exp()


def offset_first_sigma(sigmas: torch.Tensor, model_sampling: ModelSampling,
                       percent_offset: float = 1e-4) -> torch.Tensor:
    """A flow schedule starting at σ = 1 has λ = −∞; start a hair below instead (as ComfyUI)."""
    if len(sigmas) <= 1:
        return sigmas
    if isinstance(model_sampling, CONST) and sigmas[0] >= 1:
        sigmas = sigmas.clone()
        sigmas[0] = model_sampling.percent_to_sigma(percent_offset)  # type: ignore[attr-defined]
    return sigmas


def ei_h_phi_1(h: torch.Tensor) -> torch.Tensor:
    """h·φ₁(h) of exponential integrators."""
    return torch.expm1(h)


def ei_h_phi_2(h: torch.Tensor) -> torch.Tensor:
    """h·φ₂(h) of exponential integrators."""
    return (torch.expm1(h) - h) / h
