"""DPM-Solver++ (2S ancestral, SDE, 2M, 2M SDE, 3M SDE).

The ++ solvers step in half-log-SNR time λ = log(α/σ), which for flow models is log((1−σ)/σ); flow
schedules starting at σ = 1 begin a hair below it (``offset_first_sigma``), as in ComfyUI.
"""

from __future__ import annotations

from typing import Any

import torch

from ..model_sampling import CONST
from .common import (
    Denoiser,
    NoiseSampler,
    StepCallback,
    StepNoise,
    ancestral_step,
    brownian,
    half_log_snr,
    noise_scale_of,
    noop,
    offset_first_sigma,
    sampling_of,
    sigma_from_half_log_snr,
    to_d,
)


def dpmpp_2s_ancestral(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int,
                       cb: StepCallback = noop, *, eta: float = 1.0, s_noise: float = 1.0,
                       noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """DPM-Solver++(2S) steps to σ_down, then fresh noise."""
    noise = noise_sampler or StepNoise(x, seed)
    if isinstance(sampling_of(model), CONST):
        return _dpmpp_2s_ancestral_flow(model, x, sigmas, cb, eta, s_noise * noise_scale_of(model), noise)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        if sigma_down == 0:
            x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        else:
            t, t_next = sigmas[i].log().neg(), sigma_down.log().neg()
            r = 1 / 2
            h = t_next - t
            s = t + r * h
            x_2 = (s.neg().exp() / t.neg().exp()) * x - (-h * r).expm1() * denoised
            denoised_2 = model(x_2, s.neg().exp())
            x = (t_next.neg().exp() / t.neg().exp()) * x - (-h).expm1() * denoised_2
        if sigmas[i + 1] > 0:
            x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
        cb(i, x, denoised)
    return x


def flow_midpoint(sigma: torch.Tensor, sigma_down: torch.Tensor) -> Any:
    """The 2S midpoint of a flow step, halfway in λ = log((1−σ)/σ) (0.9999 when starting at σ = 1)."""
    if sigma == 1.0:
        return 0.9999
    t_i, t_down = ((1 - sigma) / sigma).log(), ((1 - sigma_down) / sigma_down).log()
    return ((t_i + (t_down - t_i) / 2).exp() + 1) ** -1


def _dpmpp_2s_ancestral_flow(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, cb: StepCallback,
                             eta: float, s_noise: float, noise: NoiseSampler) -> torch.Tensor:
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        sigma_down = sigmas[i + 1] * (1 + (sigmas[i + 1] / sigmas[i] - 1) * eta)
        alpha_next, alpha_down = 1 - sigmas[i + 1], 1 - sigma_down
        renoise = (sigmas[i + 1] ** 2 - sigma_down ** 2 * alpha_next ** 2 / alpha_down ** 2) ** 0.5
        if sigmas[i + 1] == 0:
            x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        else:
            sigma_s = flow_midpoint(sigmas[i], sigma_down)
            ratio = sigma_s / sigmas[i]
            u = ratio * x + (1 - ratio) * denoised
            denoised_2 = model(u, torch.as_tensor(sigma_s, dtype=sigmas.dtype, device=sigmas.device))
            ratio = sigma_down / sigmas[i]
            x = ratio * x + (1 - ratio) * denoised_2
        if sigmas[i + 1] > 0 and eta > 0:
            x = (alpha_next / alpha_down) * x + noise(sigmas[i], sigmas[i + 1]) * s_noise * renoise
        cb(i, x, denoised)
    return x


def dpmpp_sde(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
              eta: float = 1.0, s_noise: float = 1.0, r: float = 1 / 2, noise_sampler: NoiseSampler | None = None,
              cpu_noise: bool = True) -> torch.Tensor:
    """DPM-Solver++ (stochastic), two evaluations per step with Brownian-tree noise."""
    if len(sigmas) <= 1:
        return x
    noise = noise_sampler or brownian(x, sigmas, seed, cpu=cpu_noise)
    model_sampling = sampling_of(model)
    sigmas = offset_first_sigma(sigmas, model_sampling)
    s_noise *= noise_scale_of(model)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            lambda_s, lambda_t = half_log_snr(sigmas[i], model_sampling), half_log_snr(sigmas[i + 1], model_sampling)
            h = lambda_t - lambda_s
            lambda_s_1 = lambda_s + r * h
            fac = 1 / (2 * r)
            sigma_s_1 = sigma_from_half_log_snr(lambda_s_1, model_sampling)
            alpha_s = sigmas[i] * lambda_s.exp()
            alpha_s_1 = sigma_s_1 * lambda_s_1.exp()
            alpha_t = sigmas[i + 1] * lambda_t.exp()
            sd, su = ancestral_step(lambda_s.neg().exp(), lambda_s_1.neg().exp(), eta)
            h_ = sd.log().neg() - lambda_s
            x_2 = (alpha_s_1 / alpha_s) * (-h_).exp() * x - alpha_s_1 * (-h_).expm1() * denoised
            if eta > 0 and s_noise > 0:
                x_2 = x_2 + alpha_s_1 * noise(sigmas[i], sigma_s_1) * s_noise * su
            denoised_2 = model(x_2, sigma_s_1)
            sd, su = ancestral_step(lambda_s.neg().exp(), lambda_t.neg().exp(), eta)
            h_ = sd.log().neg() - lambda_s
            denoised_d = (1 - fac) * denoised + fac * denoised_2
            x = (alpha_t / alpha_s) * (-h_).exp() * x - alpha_t * (-h_).expm1() * denoised_d
            if eta > 0 and s_noise > 0:
                x = x + alpha_t * noise(sigmas[i], sigmas[i + 1]) * s_noise * su
        cb(i, x, denoised)
    return x


def dpmpp_2m(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop
             ) -> torch.Tensor:
    """DPM-Solver++(2M): second order from the previous step's estimate."""
    old_denoised = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        t, t_next = sigmas[i].log().neg(), sigmas[i + 1].log().neg()
        h = t_next - t
        ratio = t_next.neg().exp() / t.neg().exp()
        if old_denoised is None or sigmas[i + 1] == 0:
            x = ratio * x - (-h).expm1() * denoised
        else:
            r = (t - sigmas[i - 1].log().neg()) / h
            denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
            x = ratio * x - (-h).expm1() * denoised_d
        old_denoised = denoised
        cb(i, x, denoised)
    return x


def dpmpp_2m_sde(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
                 eta: float = 1.0, s_noise: float = 1.0, solver_type: str = "midpoint",
                 noise_sampler: NoiseSampler | None = None, cpu_noise: bool = True) -> torch.Tensor:
    """DPM-Solver++(2M) SDE, midpoint or Heun correction."""
    if len(sigmas) <= 1:
        return x
    if solver_type not in {"heun", "midpoint"}:
        raise ValueError("solver_type must be 'heun' or 'midpoint'")
    noise = noise_sampler or brownian(x, sigmas, seed, cpu=cpu_noise)
    model_sampling = sampling_of(model)
    sigmas = offset_first_sigma(sigmas, model_sampling)
    s_noise *= noise_scale_of(model)
    old_denoised: torch.Tensor | None = None
    h: Any = None
    h_last: Any = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            lambda_s, lambda_t = half_log_snr(sigmas[i], model_sampling), half_log_snr(sigmas[i + 1], model_sampling)
            h = lambda_t - lambda_s
            h_eta = h * (eta + 1)
            alpha_t = sigmas[i + 1] * lambda_t.exp()
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x + alpha_t * (-h_eta).expm1().neg() * denoised
            if old_denoised is not None:
                r = h_last / h
                if solver_type == "heun":
                    x = x + alpha_t * ((-h_eta).expm1().neg() / (-h_eta) + 1) * (1 / r) * (denoised - old_denoised)
                else:
                    x = x + 0.5 * alpha_t * (-h_eta).expm1().neg() * (1 / r) * (denoised - old_denoised)
            if eta > 0 and s_noise > 0:
                x = x + noise(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        old_denoised, h_last = denoised, h
        cb(i, x, denoised)
    return x


def dpmpp_3m_sde(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
                 eta: float = 1.0, s_noise: float = 1.0, noise_sampler: NoiseSampler | None = None,
                 cpu_noise: bool = True) -> torch.Tensor:
    """DPM-Solver++(3M) SDE."""
    if len(sigmas) <= 1:
        return x
    noise = noise_sampler or brownian(x, sigmas, seed, cpu=cpu_noise)
    model_sampling = sampling_of(model)
    sigmas = offset_first_sigma(sigmas, model_sampling)
    s_noise *= noise_scale_of(model)
    denoised_1: Any = None
    denoised_2: Any = None
    h: Any = None
    h_1: Any = None
    h_2: Any = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            lambda_s, lambda_t = half_log_snr(sigmas[i], model_sampling), half_log_snr(sigmas[i + 1], model_sampling)
            h = lambda_t - lambda_s
            h_eta = h * (eta + 1)
            alpha_t = sigmas[i + 1] * lambda_t.exp()
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x + alpha_t * (-h_eta).expm1().neg() * denoised
            if h_2 is not None:
                r0, r1 = h_1 / h, h_2 / h
                d1_0 = (denoised - denoised_1) / r0
                d1_1 = (denoised_1 - denoised_2) / r1
                d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                phi_2 = h_eta.neg().expm1() / h_eta + 1
                phi_3 = phi_2 / h_eta - 0.5
                x = x + (alpha_t * phi_2) * d1 - (alpha_t * phi_3) * d2
            elif h_1 is not None:
                phi_2 = h_eta.neg().expm1() / h_eta + 1
                x = x + (alpha_t * phi_2) * ((denoised - denoised_1) / (h_1 / h))
            if eta > 0 and s_noise > 0:
                x = x + noise(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        denoised_1, denoised_2 = denoised, denoised_1
        h_1, h_2 = h, h_1
        cb(i, x, denoised)
    return x
