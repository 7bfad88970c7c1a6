"""Karras-style ODE/SDE samplers: Euler, Heun, DPM-2, their ancestral forms, LMS, DDPM and LCM.

The ancestral samplers take ComfyUI's rectified-flow branch for flow models (``is CONST``): the step goes
down to σ_down = σ_next·(1 + (σ_next/σ − 1)·η) and the latent is re-noised with the flow's own α = 1 − σ.
"""

from __future__ import annotations

import numpy as np
import torch

from ..model_sampling import CONST
from .common import (
    Denoiser,
    NoiseSampler,
    StepCallback,
    StepNoise,
    ancestral_step,
    noise_scale_of,
    noop,
    sampling_of,
    to_d,
)


def _churn(sigmas: torch.Tensor, i: int, s_churn: float, s_tmin: float, s_tmax: float) -> float:
    """Karras' γ: how far a step first raises σ (0 unless s_churn is set)."""
    if s_churn <= 0:
        return 0.0
    return min(s_churn / (len(sigmas) - 1), 2 ** 0.5 - 1) if s_tmin <= sigmas[i] <= s_tmax else 0.0


def euler(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
          s_churn: float = 0.0, s_tmin: float = 0.0, s_tmax: float = float("inf"), s_noise: float = 1.0
          ) -> torch.Tensor:
    """Karras et al. (2022), algorithm 2 with Euler steps."""
    for i in range(len(sigmas) - 1):
        gamma = _churn(sigmas, i, s_churn, s_tmin, s_tmax)
        sigma_hat = sigmas[i] * (gamma + 1) if gamma > 0 else sigmas[i]
        if gamma > 0:
            x = x + torch.randn_like(x) * s_noise * (sigma_hat ** 2 - sigmas[i] ** 2) ** 0.5
        denoised = model(x, sigma_hat)
        d = to_d(x, sigma_hat, denoised)
        x = x + d * (sigmas[i + 1] - sigma_hat)
        cb(i, x, denoised)
    return x


def _flow_downstep(sigma: torch.Tensor, sigma_next: torch.Tensor, eta: float
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The rectified-flow ancestral step: (σ_down, α_next, α_down, renoise coefficient)."""
    sigma_down = sigma_next * (1 + (sigma_next / sigma - 1) * eta)
    alpha_next, alpha_down = 1 - sigma_next, 1 - sigma_down
    renoise = (sigma_next ** 2 - sigma_down ** 2 * alpha_next ** 2 / alpha_down ** 2) ** 0.5
    return sigma_down, alpha_next, alpha_down, renoise


def euler_ancestral(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop,
                    *, eta: float = 1.0, s_noise: float = 1.0, noise_sampler: NoiseSampler | None = None
                    ) -> torch.Tensor:
    """Euler steps to σ_down, then fresh noise up to the next σ."""
    noise = noise_sampler or StepNoise(x, seed)
    if isinstance(sampling_of(model), CONST):
        s_noise *= noise_scale_of(model)
        for i in range(len(sigmas) - 1):
            denoised = model(x, sigmas[i])
            if sigmas[i + 1] == 0:
                x = denoised
            else:
                sigma_down, alpha_next, alpha_down, renoise = _flow_downstep(sigmas[i], sigmas[i + 1], eta)
                ratio = sigma_down / sigmas[i]
                x = ratio * x + (1 - ratio) * denoised
                if eta > 0:
                    x = (alpha_next / alpha_down) * x + noise(sigmas[i], sigmas[i + 1]) * s_noise * renoise
            cb(i, x, denoised)
        return x
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        if sigma_down == 0:
            x = denoised
        else:
            d = to_d(x, sigmas[i], denoised)
            x = x + d * (sigma_down - sigmas[i]) + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
        cb(i, x, denoised)
    return x


def heun(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
         s_churn: float = 0.0, s_tmin: float = 0.0, s_tmax: float = float("inf"), s_noise: float = 1.0
         ) -> torch.Tensor:
    """Karras et al. (2022), algorithm 2: Heun steps (Euler on the last one)."""
    for i in range(len(sigmas) - 1):
        gamma = _churn(sigmas, i, s_churn, s_tmin, s_tmax)
        sigma_hat = sigmas[i] * (gamma + 1)
        if gamma > 0:
            x = x + torch.randn_like(x) * s_noise * (sigma_hat ** 2 - sigmas[i] ** 2) ** 0.5
        denoised = model(x, sigma_hat)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            d_2 = to_d(x_2, sigmas[i + 1], model(x_2, sigmas[i + 1]))
            x = x + (d + d_2) / 2 * dt
        cb(i, x, denoised)
    return x


def heunpp2(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
            s_churn: float = 0.0, s_tmin: float = 0.0, s_tmax: float = float("inf"), s_noise: float = 1.0
            ) -> torch.Tensor:
    """Heun++ (sd-webui-samplers-scheduler): a third evaluation two sigmas ahead, weighted by σ/σ_0."""
    s_end = sigmas[-1]
    for i in range(len(sigmas) - 1):
        gamma = min(s_churn / (len(sigmas) - 1), 2 ** 0.5 - 1) if s_tmin <= sigmas[i] <= s_tmax else 0.0
        sigma_hat = sigmas[i] * (gamma + 1)
        if gamma > 0:
            x = x + torch.randn_like(x) * s_noise * (sigma_hat ** 2 - sigmas[i] ** 2) ** 0.5
        denoised = model(x, sigma_hat)
        d = to_d(x, sigma_hat, denoised)
        dt = sigmas[i + 1] - sigma_hat
        if sigmas[i + 1] == s_end:
            x = x + d * dt
        elif sigmas[i + 2] == s_end:
            x_2 = x + d * dt
            d_2 = to_d(x_2, sigmas[i + 1], model(x_2, sigmas[i + 1]))
            w2 = sigmas[i + 1] / (2 * sigmas[0])
            x = x + (d * (1 - w2) + d_2 * w2) * dt
        else:
            x_2 = x + d * dt
            d_2 = to_d(x_2, sigmas[i + 1], model(x_2, sigmas[i + 1]))
            x_3 = x_2 + d_2 * (sigmas[i + 2] - sigmas[i + 1])
            d_3 = to_d(x_3, sigmas[i + 2], model(x_3, sigmas[i + 2]))
            w = 3 * sigmas[0]
            w2, w3 = sigmas[i + 1] / w, sigmas[i + 2] / w
            x = x + ((1 - w2 - w3) * d + w2 * d_2 + w3 * d_3) * dt
        cb(i, x, denoised)
    return x


def dpm_2(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
          s_churn: float = 0.0, s_tmin: float = 0.0, s_tmax: float = float("inf"), s_noise: float = 1.0
          ) -> torch.Tensor:
    """DPM-Solver-2 style: a midpoint (in log σ) evaluation per step."""
    for i in range(len(sigmas) - 1):
        gamma = _churn(sigmas, i, s_churn, s_tmin, s_tmax)
        sigma_hat = sigmas[i] * (gamma + 1) if gamma > 0 else sigmas[i]
        if gamma > 0:
            x = x + torch.randn_like(x) * s_noise * (sigma_hat ** 2 - sigmas[i] ** 2) ** 0.5
        denoised = model(x, sigma_hat)
        d = to_d(x, sigma_hat, denoised)
        if sigmas[i + 1] == 0:
            x = x + d * (sigmas[i + 1] - sigma_hat)
        else:
            sigma_mid = sigma_hat.log().lerp(sigmas[i + 1].log(), 0.5).exp()
            x_2 = x + d * (sigma_mid - sigma_hat)
            d_2 = to_d(x_2, sigma_mid, model(x_2, sigma_mid))
            x = x + d_2 * (sigmas[i + 1] - sigma_hat)
        cb(i, x, denoised)
    return x


def dpm_2_ancestral(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop,
                    *, eta: float = 1.0, s_noise: float = 1.0, noise_sampler: NoiseSampler | None = None
                    ) -> torch.Tensor:
    """DPM-2 steps to σ_down, then fresh noise."""
    noise = noise_sampler or StepNoise(x, seed)
    flow = isinstance(sampling_of(model), CONST)
    if flow:
        s_noise *= noise_scale_of(model)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if flow:
            sigma_down, alpha_next, alpha_down, sigma_up = _flow_downstep(sigmas[i], sigmas[i + 1], eta)
        else:
            sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        d = to_d(x, sigmas[i], denoised)
        if sigma_down == 0:
            x = x + d * (sigma_down - sigmas[i])
        else:
            sigma_mid = sigmas[i].log().lerp(sigma_down.log(), 0.5).exp()
            x_2 = x + d * (sigma_mid - sigmas[i])
            d_2 = to_d(x_2, sigma_mid, model(x_2, sigma_mid))
            x = x + d_2 * (sigma_down - sigmas[i])
            if flow:
                x = (alpha_next / alpha_down) * x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
            else:
                x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
        cb(i, x, denoised)
    return x


def _lms_coeff(order: int, t: np.ndarray, i: int, j: int) -> float:
    """The exact integral of the Lagrange basis polynomial l_j over [t_i, t_{i+1}] (ComfyUI integrates
    the same polynomial numerically with scipy's quad, exact for these degrees)."""
    nodes = [float(t[i - k]) for k in range(order)]
    poly = np.poly1d([1.0])
    for k in range(order):
        if k != j:
            poly = poly * np.poly1d([1.0, -nodes[k]]) / (nodes[j] - nodes[k])
    integral = poly.integ()
    return float(integral(float(t[i + 1])) - integral(float(t[i])))


def lms(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
        order: int = 4) -> torch.Tensor:
    """Linear multistep on the last ``order`` derivatives."""
    t = sigmas.detach().cpu().numpy()
    ds: list[torch.Tensor] = []
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        ds.append(to_d(x, sigmas[i], denoised))
        if len(ds) > order:
            ds.pop(0)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            current = min(i + 1, order)
            coeffs = [_lms_coeff(current, t, i, j) for j in range(current)]
            x = x + sum(c * d for c, d in zip(coeffs, reversed(ds), strict=False))
        cb(i, x, denoised)
    return x


def ddpm(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
         noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """The DDPM ancestral update, computed in VP space (x / √(1+σ²))."""
    noise = noise_sampler or StepNoise(x, seed)
    for i in range(len(sigmas) - 1):
        sigma, sigma_prev = sigmas[i], sigmas[i + 1]
        denoised = model(x, sigma)
        eps = (x - denoised) / sigma
        x_vp = x / torch.sqrt(1.0 + sigma ** 2.0)
        alpha_cumprod, alpha_cumprod_prev = 1 / ((sigma * sigma) + 1), 1 / ((sigma_prev * sigma_prev) + 1)
        alpha = alpha_cumprod / alpha_cumprod_prev
        mu = (1.0 / alpha).sqrt() * (x_vp - (1 - alpha) * eps / (1 - alpha_cumprod).sqrt())
        if sigma_prev > 0:
            mu = mu + ((1 - alpha) * (1. - alpha_cumprod_prev) / (1. - alpha_cumprod)).sqrt() * noise(
                sigma, sigma_prev)
            x = mu * torch.sqrt(1.0 + sigma_prev ** 2.0)
        else:
            x = mu
        cb(i, x, denoised)
    return x


def lcm(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
        s_noise: float = 1.0, noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """Latent consistency: jump to the denoised estimate, re-noise it to the next σ with fresh noise."""
    noise = noise_sampler or StepNoise(x, seed)
    model_sampling = sampling_of(model)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        x = denoised
        if sigmas[i + 1] > 0:
            fresh = noise(sigmas[i], sigmas[i + 1])
            if s_noise != 1.0:
                fresh = fresh * s_noise
            x = model_sampling.noise_scaling(sigmas[i + 1], fresh, x)
        cb(i, x, denoised)
    return x
