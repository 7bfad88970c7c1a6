"""Noise schedules: the discrete DDPM schedule of Stable Diffusion, and ComfyUI's sigma schedules.

Sampling runs in "sigma" space (k-diffusion): x = latent + sigma · noise. The model was trained on 1,000
discrete timesteps; ``DiscreteSchedule`` converts between sigmas and timesteps exactly as ComfyUI's
``ModelSamplingDiscrete`` (nearest timestep for sigma → t, log-linear interpolation for t → sigma), so
the same scheduler name and step count give the same sigmas as ComfyUI.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

SCHEDULER_NAMES = ("simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
                   "linear_quadratic", "kl_optimal")
# Samplers whose last-but-one sigma ComfyUI drops (it asks for one step more, then removes it).
DISCARD_PENULTIMATE_SIGMA_SAMPLERS = frozenset({"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"})


class DiscreteSchedule:
    """Stable Diffusion's 1,000-step scaled-linear beta schedule, and how the model reads sigmas."""

    def __init__(self, prediction: str = "epsilon", linear_start: float = 0.00085, linear_end: float = 0.012,
                 timesteps: int = 1000) -> None:
        if prediction not in ("epsilon", "v_prediction"):
            raise ValueError(f"unsupported prediction type {prediction!r}")
        self.prediction = prediction
        betas = torch.linspace(linear_start ** 0.5, linear_end ** 0.5, timesteps, dtype=torch.float64) ** 2
        alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)
        sigmas = ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5
        self.alphas_cumprod = alphas_cumprod.float()
        self.sigmas = sigmas.float()
        self.log_sigmas = sigmas.log().float()

    @property
    def sigma_min(self) -> torch.Tensor:
        return self.sigmas[0]

    @property
    def sigma_max(self) -> torch.Tensor:
        return self.sigmas[-1]

    def timestep(self, sigma: torch.Tensor) -> torch.Tensor:
        """The nearest training timestep (as ComfyUI: no interpolation)."""
        dists = sigma.log().to(self.log_sigmas.device) - self.log_sigmas[:, None]
        return dists.abs().argmin(dim=0).view(sigma.shape).to(sigma.device)

    def sigma(self, timestep: torch.Tensor) -> torch.Tensor:
        t = timestep.float().clamp(0, len(self.sigmas) - 1)
        low, high, w = t.floor().long(), t.ceil().long(), t.frac()
        return ((1 - w) * self.log_sigmas[low] + w * self.log_sigmas[high]).exp()

    @staticmethod
    def model_input(sigma: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return x / (sigma.view(-1, *([1] * (x.ndim - 1))) ** 2 + 1.0) ** 0.5

    def denoised(self, sigma: torch.Tensor, model_output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The model's estimate of the clean latent, from its epsilon or v output."""
        s = sigma.view(-1, *([1] * (x.ndim - 1)))
        if self.prediction == "v_prediction":
            return x / (s ** 2 + 1) - model_output * s / (s ** 2 + 1) ** 0.5
        return x - model_output * s

    @staticmethod
    def noise_scaling(sigma: torch.Tensor, noise: torch.Tensor, latent: torch.Tensor,
                      max_denoise: bool) -> torch.Tensor:
        """The starting point: the latent plus noise at ``sigma`` (ComfyUI scales pure noise by
        sqrt(1 + sigma²) when the schedule starts at sigma_max)."""
        s = sigma.view(-1, *([1] * (noise.ndim - 1))) if sigma.ndim else sigma
        scale = torch.sqrt(1.0 + s ** 2.0) if max_denoise else s
        return noise * scale + latent


# -- ComfyUI's schedules ------------------------------------------------------------------------------

def simple_schedule(s: DiscreteSchedule, steps: int) -> torch.Tensor:
    stride = len(s.sigmas) / steps
    return torch.tensor([float(s.sigmas[-(1 + int(x * stride))]) for x in range(steps)] + [0.0])


def ddim_uniform_schedule(s: DiscreteSchedule, steps: int) -> torch.Tensor:
    x = 1
    if math.isclose(float(s.sigmas[x]), 0, abs_tol=1e-5):
        steps += 1
        sigmas: list[float] = []
    else:
        sigmas = [0.0]
    stride = max(len(s.sigmas) // steps, 1)
    while x < len(s.sigmas):
        sigmas.append(float(s.sigmas[x]))
        x += stride
    return torch.tensor(sigmas[::-1])


def normal_schedule(s: DiscreteSchedule, steps: int, sgm: bool = False) -> torch.Tensor:
    start, end = s.timestep(s.sigma_max), s.timestep(s.sigma_min)
    append_zero = True
    if sgm:
        timesteps = torch.linspace(float(start), float(end), steps + 1)[:-1]
    else:
        if math.isclose(float(s.sigma(end)), 0, abs_tol=1e-5):
            steps += 1
            append_zero = False
        timesteps = torch.linspace(float(start), float(end), steps)
    sigmas = [float(s.sigma(t)) for t in timesteps]
    return torch.tensor(sigmas + ([0.0] if append_zero else []))


def karras_schedule(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    ramp = torch.linspace(0, 1, steps)
    min_inv, max_inv = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    sigmas = (max_inv + ramp * (min_inv - max_inv)) ** rho
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def exponential_schedule(steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    sigmas = torch.linspace(math.log(sigma_max), math.log(sigma_min), steps).exp()
    return torch.cat([sigmas, sigmas.new_zeros([1])])


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b) by Lentz's continued fraction (no scipy needed)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _betainc(b, a, 1.0 - x)
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    tiny = 1e-300
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return math.exp(log_front) * h / a


def beta_ppf(q: float, a: float, b: float) -> float:
    """Inverse CDF of the Beta(a, b) distribution by bisection (to 1e-12)."""
    low, high = 0.0, 1.0
    for _ in range(100):
        mid = (low + high) / 2
        if _betainc(a, b, mid) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def beta_schedule(s: DiscreteSchedule, steps: int, alpha: float = 0.6, beta: float = 0.6) -> torch.Tensor:
    total = len(s.sigmas) - 1
    sigmas: list[float] = []
    last = -1
    for q in (1 - i / steps for i in range(steps)):
        t = round(beta_ppf(q, alpha, beta) * total)
        if t != last:
            sigmas.append(float(s.sigmas[t]))
        last = t
    return torch.tensor(sigmas + [0.0])


def linear_quadratic_schedule(s: DiscreteSchedule, steps: int, threshold_noise: float = 0.025) -> torch.Tensor:
    if steps == 1:
        schedule = [1.0, 0.0]
    else:
        linear_steps = steps // 2
        linear = [i * threshold_noise / linear_steps for i in range(linear_steps)]
        step_diff = linear_steps - threshold_noise * steps
        quadratic_steps = steps - linear_steps
        quadratic_coef = step_diff / (linear_steps * quadratic_steps ** 2)
        linear_coef = threshold_noise / linear_steps - 2 * step_diff / (quadratic_steps ** 2)
        const = quadratic_coef * (linear_steps ** 2)
        quadratic = [quadratic_coef * i ** 2 + linear_coef * i + const for i in range(linear_steps, steps)]
        schedule = [1.0 - x for x in linear + quadratic + [1.0]]
    return torch.tensor(schedule) * float(s.sigma_max)


def kl_optimal_schedule(steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    idx = torch.arange(steps, dtype=torch.float).div_(max(steps - 1, 1))
    sigmas = idx.new_zeros(steps + 1)
    sigmas[:-1] = (idx * math.atan(sigma_min) + (1 - idx) * math.atan(sigma_max)).tan_()
    return sigmas


_BY_NAME: dict[str, Callable[[DiscreteSchedule, int], torch.Tensor]] = {
    "simple": simple_schedule,
    "sgm_uniform": lambda s, n: normal_schedule(s, n, sgm=True),
    "karras": lambda s, n: karras_schedule(n, float(s.sigma_min), float(s.sigma_max)),
    "exponential": lambda s, n: exponential_schedule(n, float(s.sigma_min), float(s.sigma_max)),
    "ddim_uniform": ddim_uniform_schedule,
    "beta": beta_schedule,
    "normal": normal_schedule,
    "linear_quadratic": linear_quadratic_schedule,
    "kl_optimal": lambda s, n: kl_optimal_schedule(n, float(s.sigma_min), float(s.sigma_max)),
}


def schedule_sigmas(s: DiscreteSchedule, scheduler: str, steps: int) -> torch.Tensor:
    try:
        make = _BY_NAME[scheduler]
    except KeyError:
        raise ValueError(f"unknown scheduler {scheduler!r}; choose one of {', '.join(SCHEDULER_NAMES)}") from None
    return make(s, steps).float()


def _sampler_sigmas(s: DiscreteSchedule, scheduler: str, sampler: str, steps: int) -> torch.Tensor:
    if sampler in DISCARD_PENULTIMATE_SIGMA_SAMPLERS:
        sigmas = schedule_sigmas(s, scheduler, steps + 1)
        return torch.cat([sigmas[:-2], sigmas[-1:]])
    return schedule_sigmas(s, scheduler, steps)


def sampling_sigmas(s: DiscreteSchedule, scheduler: str, sampler: str, steps: int, denoise: float = 1.0
                    ) -> torch.Tensor:
    """The sigmas KSampler walks, as ComfyUI computes them: denoise < 1 schedules steps/denoise steps
    and keeps the last steps + 1 sigmas (img2img starts part-way down the same schedule)."""
    if denoise > 0.9999:
        return _sampler_sigmas(s, scheduler, sampler, steps)
    if denoise <= 0.0:
        return torch.zeros(0)
    return _sampler_sigmas(s, scheduler, sampler, int(steps / denoise))[-(steps + 1):]
