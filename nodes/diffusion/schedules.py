"""ComfyUI's sigma schedules (the ``scheduler`` names and the scheduler nodes' formulas).

Every schedule reads the model's :mod:`model_sampling` (its σ table, σ_min/σ_max, σ ↔ timestep), so the
same scheduler name gives ComfyUI's sigmas for SD's discrete schedule and for shifted flow schedules alike.
A schedule is a float32 tensor of decreasing σ, usually ending in 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .model_sampling import ModelSampling, discrete

SCHEDULER_NAMES = ("simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
                   "linear_quadratic", "kl_optimal")
# Samplers whose last-but-one sigma ComfyUI drops (it asks for one step more, then removes it).
DISCARD_PENULTIMATE_SIGMA_SAMPLERS = frozenset({"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"})


def DiscreteSchedule(prediction: str = "epsilon") -> ModelSampling:  # noqa: N802 - the former class's name
    """Stable Diffusion's discrete model sampling (kept under its old name for existing callers)."""
    return discrete(prediction)


# -- schedules on the model's own σ table ---------------------------------------------------------------

def simple_schedule(s: ModelSampling, steps: int) -> torch.Tensor:
    stride = len(s.sigmas) / steps
    return torch.tensor([float(s.sigmas[-(1 + int(x * stride))]) for x in range(steps)] + [0.0])


def ddim_uniform_schedule(s: ModelSampling, steps: int) -> torch.Tensor:
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


def normal_schedule(s: ModelSampling, steps: int, sgm: bool = False) -> torch.Tensor:
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


def beta_schedule(s: ModelSampling, steps: int, alpha: float = 0.6, beta: float = 0.6) -> torch.Tensor:
    """Timesteps at the Beta(α, β) quantiles (Lee et al. 2024): dense at both ends of the schedule."""
    total = len(s.sigmas) - 1
    sigmas: list[float] = []
    last = -1
    for q in (1 - i / steps for i in range(steps)):
        t = round(beta_ppf(q, alpha, beta) * total)
        if t != last:
            sigmas.append(float(s.sigmas[t]))
        last = t
    return torch.tensor(sigmas + [0.0])


def linear_quadratic_schedule(s: ModelSampling, steps: int, threshold_noise: float = 0.025,
                              linear_steps: int | None = None) -> torch.Tensor:
    """Mochi's schedule: linear over the first half, quadratic after, as a fraction of σ_max."""
    if steps == 1:
        schedule = [1.0, 0.0]
    else:
        if linear_steps is None:
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


# -- schedules from σ_min and σ_max (k-diffusion's) ------------------------------------------------------

def append_zero(x: torch.Tensor) -> torch.Tensor:
    return torch.cat([x, x.new_zeros([1])])


def karras_schedule(steps: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """Karras et al. (2022): σ evenly spaced in σ^(1/ρ)."""
    ramp = torch.linspace(0, 1, steps)
    min_inv, max_inv = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return append_zero((max_inv + ramp * (min_inv - max_inv)) ** rho)


def exponential_schedule(steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    return append_zero(torch.linspace(math.log(sigma_max), math.log(sigma_min), steps).exp())


def polyexponential_schedule(steps: int, sigma_min: float, sigma_max: float, rho: float = 1.0) -> torch.Tensor:
    """A polynomial (degree ρ) in log σ; ρ = 1 is the exponential schedule."""
    ramp = torch.linspace(1, 0, steps) ** rho
    return append_zero(torch.exp(ramp * (math.log(sigma_max) - math.log(sigma_min)) + math.log(sigma_min)))


def vp_schedule(steps: int, beta_d: float = 19.9, beta_min: float = 0.1, eps_s: float = 1e-3) -> torch.Tensor:
    """The continuous VP schedule of Song et al."""
    t = torch.linspace(1, eps_s, steps)
    return append_zero(torch.sqrt(torch.special.expm1(beta_d * t ** 2 / 2 + beta_min * t)))


def laplace_schedule(steps: int, sigma_min: float, sigma_max: float, mu: float = 0.0,
                     beta: float = 0.5) -> torch.Tensor:
    """Tiankai et al. (2024): log σ Laplace-distributed around μ; clamped to [σ_min, σ_max], no final 0."""
    x = torch.linspace(0, 1, steps)
    lmb = mu - beta * torch.sign(0.5 - x) * torch.log(1 - 2 * torch.abs(0.5 - x) + 1e-5)
    return torch.clamp(torch.exp(lmb), min=sigma_min, max=sigma_max)


def kl_optimal_schedule(steps: int, sigma_min: float, sigma_max: float) -> torch.Tensor:
    """The KL-optimal schedule (AUTOMATIC1111 #15608): evenly spaced in atan σ."""
    idx = torch.arange(steps, dtype=torch.float).div_(max(steps - 1, 1))
    sigmas = idx.new_zeros(steps + 1)
    sigmas[:-1] = (idx * math.atan(sigma_min) + (1 - idx) * math.atan(sigma_max)).tan_()
    return sigmas


def sd_turbo_schedule(s: ModelSampling, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """SDTurboScheduler: timesteps 999, 899, … from where ``denoise`` starts, then 0."""
    start = 10 - int(10 * denoise)
    timesteps = torch.flip(torch.arange(1, 11) * 100 - 1, (0,))[start:start + steps]
    return append_zero(s.sigma(timesteps))


def _range(make: Callable[..., torch.Tensor]) -> Callable[[ModelSampling, int], torch.Tensor]:
    return lambda s, n: make(n, float(s.sigma_min), float(s.sigma_max))


_BY_NAME: dict[str, Callable[[ModelSampling, int], torch.Tensor]] = {
    "simple": simple_schedule,
    "sgm_uniform": lambda s, n: normal_schedule(s, n, sgm=True),
    "karras": _range(karras_schedule),
    "exponential": _range(exponential_schedule),
    "ddim_uniform": ddim_uniform_schedule,
    "beta": beta_schedule,
    "normal": normal_schedule,
    "linear_quadratic": linear_quadratic_schedule,
    "kl_optimal": _range(kl_optimal_schedule),
}


def schedule_sigmas(s: ModelSampling, scheduler: str, steps: int) -> torch.Tensor:
    """``calculate_sigmas``: the named schedule of ``steps`` steps for a model sampling."""
    try:
        make = _BY_NAME[scheduler]
    except KeyError:
        raise ValueError(f"unknown scheduler {scheduler!r}; choose one of {', '.join(SCHEDULER_NAMES)}") from None
    return make(s, steps).float()


def _sampler_sigmas(s: ModelSampling, scheduler: str, sampler: str, steps: int) -> torch.Tensor:
    if sampler in DISCARD_PENULTIMATE_SIGMA_SAMPLERS:
        sigmas = schedule_sigmas(s, scheduler, steps + 1)
        return torch.cat([sigmas[:-2], sigmas[-1:]])
    return schedule_sigmas(s, scheduler, steps)


def sampling_sigmas(s: ModelSampling, scheduler: str, sampler: str, steps: int, denoise: float = 1.0
                    ) -> torch.Tensor:
    """The sigmas KSampler walks, as ComfyUI computes them: denoise < 1 schedules steps/denoise steps
    and keeps the last steps + 1 sigmas (img2img starts part-way down the same schedule)."""
    if denoise > 0.9999:
        return _sampler_sigmas(s, scheduler, sampler, steps)
    if denoise <= 0.0:
        return torch.zeros(0)
    return _sampler_sigmas(s, scheduler, sampler, int(steps / denoise))[-(steps + 1):]


def basic_scheduler(s: ModelSampling, scheduler: str, steps: int, denoise: float = 1.0) -> torch.Tensor:
    """BasicScheduler's sigmas: like KSampler's but never dropping a penultimate sigma."""
    total = steps
    if denoise < 1.0:
        if denoise <= 0.0:
            return torch.zeros(0)
        total = int(steps / denoise)
    return schedule_sigmas(s, scheduler, total)[-(steps + 1):]


def cut_steps(sigmas: torch.Tensor, start_step: int | None, last_step: int | None,
              force_full_denoise: bool) -> torch.Tensor | None:
    """KSamplerAdvanced's step range; None when nothing is left to sample (the latent passes unchanged)."""
    if last_step is not None and last_step < len(sigmas) - 1:
        sigmas = sigmas[: last_step + 1].clone()
        if force_full_denoise:
            sigmas[-1] = 0
    if start_step is not None:
        if start_step >= len(sigmas) - 1:
            return None
        sigmas = sigmas[start_step:]
    return sigmas
