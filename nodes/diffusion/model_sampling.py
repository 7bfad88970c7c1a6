"""Model sampling: how a model reads noise levels, under the names of ComfyUI's ``comfy/model_sampling.py``.

Custom-node code calls these names (``ms.sigma(t)``, ``ms.timestep(sigma)``, ``ms.percent_to_sigma(p)``,
``ms.calculate_input``, ``ms.calculate_denoised``, ``ms.noise_scaling``, ``ms.inverse_noise_scaling``,
``ms.sigma_min``/``sigma_max``, ``isinstance(ms, CONST)``), so the pieces keep ComfyUI's names and are combined
the same way: one *prediction type* and one *schedule* joined by inheritance (:func:`combine`).

Prediction types say what the network outputs and how a noisy latent relates to the clean one at noise
level σ: :class:`EPS` (ε, x = x0 + σ·ε, fed x/√(σ²+σ_data²)), :class:`V_PREDICTION`, :class:`EDM`,
:class:`X0`, :class:`CONST` (rectified flow: x = (1−σ)·x0 + σ·ε). Schedules say which σ the model was
trained on and which timestep the network is fed for a σ: :class:`ModelSamplingDiscrete` (the 1,000 DDPM
steps of Stable Diffusion), the continuous EDM/V schedules, :class:`ModelSamplingDiscreteFlow` (SD3 and
AuraFlow: σ = shift·t / (1 + (shift−1)·t)) and :class:`ModelSamplingFlux` (σ = e^μ / (e^μ + 1/t − 1)).

The samplers walk σ in k-diffusion's space and never look at the model otherwise; everything model-specific
about noise goes through one of these objects.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Any

import torch

from .predictions import CONST, COSMOS_RFLOW, EDM, EPS, IMG_TO_IMG, LCM, V_PREDICTION, X0, reshape_sigma

__all__ = ["CONST", "COSMOS_RFLOW", "EDM", "EPS", "IMG_TO_IMG", "LCM", "V_PREDICTION", "X0", "ModelSampling",
           "ModelSamplingContinuousEDM", "ModelSamplingContinuousV", "ModelSamplingCosmosRFlow",
           "ModelSamplingDiscrete", "ModelSamplingDiscreteDistilled", "ModelSamplingDiscreteFlow",
           "ModelSamplingFlux", "combine", "discrete", "flux_shift", "flux_time_shift", "is_flow",
           "make_beta_schedule", "reshape_sigma", "rescale_zero_terminal_snr_sigmas", "time_snr_shift"]


# -- schedules ----------------------------------------------------------------------------------------

def make_beta_schedule(schedule: str, timesteps: int, linear_start: float, linear_end: float,
                       cosine_s: float = 8e-3) -> torch.Tensor:
    """The DDPM betas a model was trained with (float64, as the original LDM code computes them)."""
    if schedule == "linear":
        return torch.linspace(linear_start ** 0.5, linear_end ** 0.5, timesteps, dtype=torch.float64) ** 2
    if schedule == "sqrt_linear":
        return torch.linspace(linear_start, linear_end, timesteps, dtype=torch.float64)
    if schedule == "sqrt":
        return torch.linspace(linear_start, linear_end, timesteps, dtype=torch.float64) ** 0.5
    if schedule == "cosine":
        steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps + cosine_s
        alphas = torch.cos(steps / (1 + cosine_s) * math.pi / 2).pow(2)
        alphas = alphas / alphas[0]
        return torch.clamp(1 - alphas[1:] / alphas[:-1], min=0, max=0.999)
    raise ValueError(f"unknown beta schedule {schedule!r}")


def rescale_zero_terminal_snr_sigmas(sigmas: torch.Tensor) -> torch.Tensor:
    """Lin et al.'s zero-terminal-SNR rescaling (the last step is pure noise), as ComfyUI's ``zsnr``."""
    alphas_bar_sqrt = (1 / ((sigmas * sigmas) + 1)).sqrt()
    first, last = alphas_bar_sqrt[0].clone(), alphas_bar_sqrt[-1].clone()
    alphas_bar_sqrt -= last
    alphas_bar_sqrt *= first / (first - last)
    alphas_bar = alphas_bar_sqrt ** 2
    alphas_bar[-1] = 4.8973451890853435e-08
    return ((1 - alphas_bar) / alphas_bar) ** 0.5


class ModelSamplingDiscrete:
    """The discrete DDPM schedule of Stable Diffusion: σ_t = √((1−ᾱ_t)/ᾱ_t) for t = 0…999.

    σ → t is the nearest training step (no interpolation); t → σ interpolates log σ linearly, as ComfyUI.
    """

    sigma_data = 1.0

    def __init__(self, beta_schedule: str = "linear", linear_start: float = 0.00085, linear_end: float = 0.012,
                 timesteps: int = 1000, zsnr: bool = False) -> None:
        betas = make_beta_schedule(beta_schedule, timesteps, linear_start, linear_end)
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        if zsnr:
            sigmas = rescale_zero_terminal_snr_sigmas(sigmas)
        self.num_timesteps = int(timesteps)
        self.linear_start, self.linear_end, self.zsnr = linear_start, linear_end, zsnr
        self.set_sigmas(sigmas)

    def set_sigmas(self, sigmas: torch.Tensor) -> None:
        self.sigmas = sigmas.float()
        self.log_sigmas = sigmas.log().float()

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        dists = sigma.log().to(self.log_sigmas.device) - self.log_sigmas[:, None]
        return dists.abs().argmin(dim=0).view(sigma.shape).to(sigma.device)

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        t = torch.clamp(timestep.float().to(self.log_sigmas.device), min=0, max=len(self.sigmas) - 1)
        low, high, w = t.floor().long(), t.ceil().long(), t.frac()
        return ((1 - w) * self.log_sigmas[low] + w * self.log_sigmas[high]).exp().to(timestep.device)

    def percent_to_sigma(self, percent: float) -> float:
        """σ at a fraction of the sampling (0 = start, 1 = end); the ends are open (∞ and 0)."""
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        return float(self.sigma(torch.tensor((1.0 - percent) * 999.0)).item())


class ModelSamplingDiscreteDistilled(ModelSamplingDiscrete):
    """The 50 timesteps a latent-consistency model was distilled on (every 20th of SD's 1,000)."""

    original_timesteps = 50

    def __init__(self, zsnr: bool = False) -> None:
        super().__init__(zsnr=zsnr)
        self.skip_steps = self.num_timesteps // self.original_timesteps
        valid = torch.zeros(self.original_timesteps, dtype=torch.float32)
        for x in range(self.original_timesteps):
            valid[self.original_timesteps - 1 - x] = self.sigmas[self.num_timesteps - 1 - x * self.skip_steps]
        self.set_sigmas(valid)

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        dists = sigma.log().to(self.log_sigmas.device) - self.log_sigmas[:, None]
        index = dists.abs().argmin(dim=0).view(sigma.shape)
        return (index * self.skip_steps + (self.skip_steps - 1)).to(sigma.device)

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        t = ((timestep.float().to(self.log_sigmas.device) - (self.skip_steps - 1)) / self.skip_steps).float()
        t = torch.clamp(t, min=0, max=len(self.sigmas) - 1)
        low, high, w = t.floor().long(), t.ceil().long(), t.frac()
        return ((1 - w) * self.log_sigmas[low] + w * self.log_sigmas[high]).exp().to(timestep.device)


class ModelSamplingContinuousEDM:
    """A continuous log-uniform σ range; timestep = ¼·ln σ (EDM's c_noise)."""

    def __init__(self, sigma_min: float = 0.002, sigma_max: float = 120.0, sigma_data: float = 1.0) -> None:
        self.set_parameters(sigma_min, sigma_max, sigma_data)

    def set_parameters(self, sigma_min: float, sigma_max: float, sigma_data: float) -> None:
        self.sigma_data = sigma_data
        sigmas = torch.linspace(math.log(sigma_min), math.log(sigma_max), 1000).exp()
        self.sigmas = sigmas  # a table for the schedulers that read one
        self.log_sigmas = sigmas.log()

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        return 0.25 * sigma.log()

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        return (timestep / 0.25).exp()

    def percent_to_sigma(self, percent: float) -> float:
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        log_min = math.log(self.sigma_min)
        return math.exp((math.log(self.sigma_max) - log_min) * (1.0 - percent) + log_min)


class ModelSamplingContinuousV(ModelSamplingContinuousEDM):
    """Continuous v-prediction time: t = atan(σ)·2/π."""

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        return sigma.atan() / math.pi * 2

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        return (timestep * math.pi / 2).tan()


class ModelSamplingCosmosRFlow(ModelSamplingContinuousEDM):
    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        return sigma / (sigma + 1)

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        if timestep >= (self.sigma_max / (self.sigma_max + 1)):
            return self.sigma_max
        return timestep / (1 - timestep)


def time_snr_shift(alpha: float, t: Any) -> Any:
    """SD3's resolution shift of flow time: α·t / (1 + (α−1)·t) (the identity at α = 1)."""
    if alpha == 1.0:
        return t
    return alpha * t / (1 + (alpha - 1) * t)


class ModelSamplingDiscreteFlow:
    """Flow matching over discrete training times t = 1/1000 … 1, σ = time_snr_shift(shift, t).

    The network is fed t·multiplier: 1000 for SD3, 1 for AuraFlow.
    """

    noise_scale = 1.0

    def __init__(self, shift: float = 1.0, multiplier: float = 1000, noise_scale: float = 1.0) -> None:
        self.set_noise_scale(noise_scale)
        self.set_parameters(shift=shift, multiplier=multiplier)

    def set_parameters(self, shift: float = 1.0, timesteps: int = 1000, multiplier: float = 1000) -> None:
        self.shift = shift
        self.multiplier = multiplier
        self.sigmas = self.sigma((torch.arange(1, timesteps + 1, 1) / timesteps) * multiplier)

    def set_noise_scale(self, noise_scale: float) -> None:
        self.noise_scale = float(noise_scale)

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        return sigma * self.multiplier

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        return time_snr_shift(self.shift, timestep / self.multiplier)  # type: ignore[no-any-return]

    def percent_to_sigma(self, percent: float) -> float:
        if percent <= 0.0:
            return 1.0
        if percent >= 1.0:
            return 0.0
        return float(time_snr_shift(self.shift, 1.0 - percent))


def flux_time_shift(mu: float, sigma: float, t: Any) -> Any:
    """Flux's exponential shift: e^μ / (e^μ + (1/t − 1)^σ)."""
    return math.exp(mu) / (math.exp(mu) + (1 / t - 1) ** sigma)


class ModelSamplingFlux:
    """Flux's flow schedule over 10,000 times with shift μ; the network is fed σ itself."""

    def __init__(self, shift: float = 1.15) -> None:
        self.set_parameters(shift=shift)

    def set_parameters(self, shift: float = 1.15, timesteps: int = 10000) -> None:
        self.shift = shift
        self.sigmas = self.sigma(torch.arange(1, timesteps + 1, 1) / timesteps)

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        return sigma

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        return flux_time_shift(self.shift, 1.0, timestep)  # type: ignore[no-any-return]

    def percent_to_sigma(self, percent: float) -> float:
        if percent <= 0.0:
            return 1.0
        if percent >= 1.0:
            return 0.0
        return float(flux_time_shift(self.shift, 1.0, 1.0 - percent))


def flux_shift(width: int, height: int, max_shift: float = 1.15, base_shift: float = 0.5) -> float:
    """ModelSamplingFlux's shift for an image size: linear in the number of 2×2 latent patches
    (w·h/256), from base_shift at 256 patches (256²) to max_shift at 4096 (1024²)."""
    slope = (max_shift - base_shift) / (4096 - 256)
    return (width * height / (8 * 8 * 2 * 2)) * slope + (base_shift - slope * 256)


# -- combining a schedule with a prediction type --------------------------------------------------------

ModelSampling = Any  # a schedule class combined with a prediction class (see ``combine``)


@cache
def _combined(schedule: type, prediction: type) -> type:
    return type(f"{schedule.__name__}_{prediction.__name__}", (schedule, prediction), {})


def combine(schedule: type, prediction: type, *args: Any, **kwargs: Any) -> ModelSampling:
    """A model sampling object: ``schedule(*args, **kwargs)`` that also is a ``prediction`` (ComfyUI builds
    ``class ModelSamplingAdvanced(schedule, prediction)`` the same way). One class per pair, so
    ``isinstance`` and ``type(ms)`` behave as in ComfyUI."""
    return _combined(schedule, prediction)(*args, **kwargs)


PREDICTIONS: dict[str, type] = {"epsilon": EPS, "eps": EPS, "v_prediction": V_PREDICTION, "v": V_PREDICTION,
                                "edm": EDM, "x0": X0, "flow": CONST, "const": CONST}


@cache
def discrete(prediction: str = "epsilon", zsnr: bool = False) -> ModelSampling:
    """Stable Diffusion's model sampling for a prediction type (shared: these objects are never mutated)."""
    try:
        kind = PREDICTIONS[prediction]
    except KeyError:
        raise ValueError(f"unsupported prediction type {prediction!r}") from None
    return combine(ModelSamplingDiscrete, kind, zsnr=zsnr)


def is_flow(model_sampling: Any) -> bool:
    """Rectified-flow sampling (some samplers take other branches for it, as in ComfyUI)."""
    return isinstance(model_sampling, CONST)
