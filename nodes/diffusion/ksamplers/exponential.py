"""Stochastic exponential-integrator samplers in data prediction: ER-SDE, SEEDS-2/3 (and exponential
Heun), and the stochastic Adams solver SA-Solver. All step in half-log-SNR time, so they work for flow
models too (their schedules start a hair below σ = 1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .common import (
    Denoiser,
    NoiseSampler,
    StepCallback,
    StepNoise,
    ei_h_phi_1,
    ei_h_phi_2,
    half_log_snr,
    noise_scale_of,
    noop,
    offset_first_sigma,
    sampling_of,
    sigma_from_half_log_snr,
)


def er_sde_noise_scaler(x: torch.Tensor) -> torch.Tensor:
    """ER-SDE's default noise scaler φ(x) = x·(e^{x^0.3} + 10)."""
    return x * ((x ** 0.3).exp() + 10.0)


def er_sde(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
           s_noise: float = 1.0, noise_scaler: Callable[[torch.Tensor], torch.Tensor] | None = None,
           max_stage: int = 3, noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """Extended reverse-time SDE solver, VP ER-SDE-Solver-3 (Cui et al., arXiv 2309.06169)."""
    noise = noise_sampler or StepNoise(x, seed)
    s_noise *= noise_scale_of(model)
    scaler = noise_scaler or er_sde_noise_scaler
    points = 200.0
    point_index = torch.arange(0, points, dtype=torch.float32, device=x.device)
    model_sampling = sampling_of(model)
    sigmas = offset_first_sigma(sigmas, model_sampling)
    er_lambdas = half_log_snr(sigmas, model_sampling).neg().exp()  # σ_t / α_t
    old_denoised: torch.Tensor | None = None
    old_denoised_d: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        stage = min(max_stage, i + 1)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            lam_s, lam_t = er_lambdas[i], er_lambdas[i + 1]
            alpha_s, alpha_t = sigmas[i] / lam_s, sigmas[i + 1] / lam_t
            r = scaler(lam_t) / scaler(lam_s)
            x = alpha_t / alpha_s * r * x + alpha_t * (1 - r) * denoised
            if stage >= 2:
                assert old_denoised is not None
                dt = lam_t - lam_s
                step = -dt / points
                positions = lam_t + point_index * step
                scaled = scaler(positions)
                s = torch.sum(1 / scaled) * step
                denoised_d = (denoised - old_denoised) / (lam_s - er_lambdas[i - 1])
                x = x + alpha_t * (dt + s * scaler(lam_t)) * denoised_d
                if stage >= 3:
                    assert old_denoised_d is not None
                    s_u = torch.sum((positions - lam_s) / scaled) * step
                    denoised_u = (denoised_d - old_denoised_d) / ((lam_s - er_lambdas[i - 2]) / 2)
                    x = x + alpha_t * ((dt ** 2) / 2 + s_u * scaler(lam_t)) * denoised_u
                old_denoised_d = denoised_d
            if s_noise > 0:
                x = x + alpha_t * noise(sigmas[i], sigmas[i + 1]) * s_noise * (
                    lam_t ** 2 - lam_s ** 2 * r ** 2).sqrt().nan_to_num(nan=0.0)
        old_denoised = denoised
        cb(i, x, denoised)
    return x


def seeds_2(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
            eta: float = 1.0, s_noise: float = 1.0, r: float = 0.5, solver_type: str = "phi_1",
            noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """SEEDS-2 (Gonzalez et al., NeurIPS 2023): two stages, noise shared between them."""
    if solver_type not in {"phi_1", "phi_2"}:
        raise ValueError("solver_type must be 'phi_1' or 'phi_2'")
    noise = noise_sampler or StepNoise(x, seed)
    model_sampling = sampling_of(model)
    s_noise *= noise_scale_of(model)
    inject = eta > 0 and s_noise > 0
    sigmas = offset_first_sigma(sigmas, model_sampling)
    fac = 1 / (2 * r)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
            cb(i, x, denoised)
            continue
        lambda_s, lambda_t = half_log_snr(sigmas[i], model_sampling), half_log_snr(sigmas[i + 1], model_sampling)
        h = lambda_t - lambda_s
        h_eta = h * (eta + 1)
        lambda_s_1 = torch.lerp(lambda_s, lambda_t, r)
        sigma_s_1 = sigma_from_half_log_snr(lambda_s_1, model_sampling)
        alpha_s_1 = sigma_s_1 * lambda_s_1.exp()
        alpha_t = sigmas[i + 1] * lambda_t.exp()
        x_2 = sigma_s_1 / sigmas[i] * (-r * h * eta).exp() * x - alpha_s_1 * ei_h_phi_1(-r * h_eta) * denoised
        if inject:
            sde_noise = (-2 * r * h * eta).expm1().neg().sqrt() * noise(sigmas[i], sigma_s_1)
            x_2 = x_2 + sde_noise * sigma_s_1 * s_noise
        denoised_2 = model(x_2, sigma_s_1)
        if solver_type == "phi_1":
            denoised_d = torch.lerp(denoised, denoised_2, fac)
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x - alpha_t * ei_h_phi_1(-h_eta) * denoised_d
        else:
            b2 = ei_h_phi_2(-h_eta) / r
            b1 = ei_h_phi_1(-h_eta) - b2
            x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x - alpha_t * (b1 * denoised + b2 * denoised_2)
        if inject:
            segment = (r - 1) * h * eta
            sde_noise = sde_noise * segment.exp()
            sde_noise = sde_noise + segment.mul(2).expm1().neg().sqrt() * noise(sigma_s_1, sigmas[i + 1])
            x = x + sde_noise * sigmas[i + 1] * s_noise
        cb(i, x, denoised)
    return x


def exp_heun_2_x0(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
                  solver_type: str = "phi_2") -> torch.Tensor:
    """Deterministic exponential Heun (second order, x0 prediction, log-SNR time)."""
    return seeds_2(model, x, sigmas, seed, cb, eta=0.0, s_noise=0.0, r=1.0, solver_type=solver_type)


def exp_heun_2_x0_sde(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop,
                      *, eta: float = 1.0, s_noise: float = 1.0, solver_type: str = "phi_2",
                      noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """Stochastic exponential Heun."""
    return seeds_2(model, x, sigmas, seed, cb, eta=eta, s_noise=s_noise, r=1.0, solver_type=solver_type,
                   noise_sampler=noise_sampler)


def seeds_3(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
            eta: float = 1.0, s_noise: float = 1.0, r_1: float = 1. / 3, r_2: float = 2. / 3,
            noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """SEEDS-3: three stages at r₁ and r₂ of each step."""
    noise = noise_sampler or StepNoise(x, seed)
    model_sampling = sampling_of(model)
    s_noise *= noise_scale_of(model)
    inject = eta > 0 and s_noise > 0
    sigmas = offset_first_sigma(sigmas, model_sampling)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
            cb(i, x, denoised)
            continue
        lambda_s, lambda_t = half_log_snr(sigmas[i], model_sampling), half_log_snr(sigmas[i + 1], model_sampling)
        h = lambda_t - lambda_s
        h_eta = h * (eta + 1)
        lambda_s_1, lambda_s_2 = torch.lerp(lambda_s, lambda_t, r_1), torch.lerp(lambda_s, lambda_t, r_2)
        sigma_s_1 = sigma_from_half_log_snr(lambda_s_1, model_sampling)
        sigma_s_2 = sigma_from_half_log_snr(lambda_s_2, model_sampling)
        alpha_s_1, alpha_s_2 = sigma_s_1 * lambda_s_1.exp(), sigma_s_2 * lambda_s_2.exp()
        alpha_t = sigmas[i + 1] * lambda_t.exp()
        x_2 = sigma_s_1 / sigmas[i] * (-r_1 * h * eta).exp() * x - alpha_s_1 * ei_h_phi_1(-r_1 * h_eta) * denoised
        if inject:
            sde_noise = (-2 * r_1 * h * eta).expm1().neg().sqrt() * noise(sigmas[i], sigma_s_1)
            x_2 = x_2 + sde_noise * sigma_s_1 * s_noise
        denoised_2 = model(x_2, sigma_s_1)
        a3_2 = r_2 / r_1 * ei_h_phi_2(-r_2 * h_eta)
        a3_1 = ei_h_phi_1(-r_2 * h_eta) - a3_2
        x_3 = sigma_s_2 / sigmas[i] * (-r_2 * h * eta).exp() * x - alpha_s_2 * (a3_1 * denoised + a3_2 * denoised_2)
        if inject:
            segment = (r_1 - r_2) * h * eta
            sde_noise = sde_noise * segment.exp()
            sde_noise = sde_noise + segment.mul(2).expm1().neg().sqrt() * noise(sigma_s_1, sigma_s_2)
            x_3 = x_3 + sde_noise * sigma_s_2 * s_noise
        denoised_3 = model(x_3, sigma_s_2)
        b3 = ei_h_phi_2(-h_eta) / r_2
        b1 = ei_h_phi_1(-h_eta) - b3
        x = sigmas[i + 1] / sigmas[i] * (-h * eta).exp() * x - alpha_t * (b1 * denoised + b3 * denoised_3)
        if inject:
            segment = (r_2 - 1) * h * eta
            sde_noise = sde_noise * segment.exp()
            sde_noise = sde_noise + segment.mul(2).expm1().neg().sqrt() * noise(sigma_s_2, sigmas[i + 1])
            x = x + sde_noise * sigmas[i + 1] * s_noise
        cb(i, x, denoised)
    return x


# -- SA-Solver ------------------------------------------------------------------------------------------

def _exponential_coeffs(s: torch.Tensor, t: torch.Tensor, order: int, tau: float) -> torch.Tensor:
    """(1+τ²)·∫ₛᵗ e^{(1+τ²)x}·x^p dx for p < order, with e^{(1+τ²)t} factored out (integration by parts)."""
    tau_mul = 1 + tau ** 2
    h = t - s
    p = torch.arange(order, dtype=s.dtype, device=s.device)
    product_terms = t ** p - s ** p * (-tau_mul * h).exp()
    depth = p.unsqueeze(1) - p.unsqueeze(0)
    log_factorial = (p + 1).lgamma()
    coeff = log_factorial.unsqueeze(1) - log_factorial.unsqueeze(0)
    if tau > 0:
        coeff = coeff - (depth * math.log(tau_mul))
    signs = torch.where(depth % 2 == 0, 1.0, -1.0)
    return (coeff.exp() * signs).tril() @ product_terms


def _adams_b_coeffs(sigma_next: torch.Tensor, lambdas: torch.Tensor, lambda_s: torch.Tensor,
                    lambda_t: torch.Tensor, tau: float, simple_order_2: bool, corrector: bool) -> torch.Tensor:
    """The stochastic Adams weights b_i (SA-Solver eqs. 15 and 18) for the predictions at ``lambdas``."""
    n = lambdas.shape[0]
    alpha_t = sigma_next * lambda_t.exp()
    if simple_order_2 and n == 2:
        tau_mul = 1 + tau ** 2
        h = lambda_t - lambda_s
        if corrector:
            b_1 = alpha_t * (0.5 * tau_mul * h)
            b_2 = alpha_t * (-h * tau_mul).expm1().neg() - b_1
        else:
            b_2 = alpha_t * (0.5 * tau_mul * h ** 2) / (lambdas[-2] - lambda_s)
            b_1 = alpha_t * (-h * tau_mul).expm1().neg() - b_2
        return torch.stack([b_2, b_1])
    integrals = _exponential_coeffs(lambda_s, lambda_t, n, tau)
    lagrange = torch.linalg.solve(torch.vander(lambdas, n, increasing=True).T, integrals)
    weights: torch.Tensor = alpha_t * lagrange
    return weights


def tau_interval(start_sigma: float, end_sigma: float, eta: float = 1.0) -> Callable[[Any], float]:
    """SA-Solver's stochasticity τ: eta inside (end_sigma, start_sigma], 0 (an ODE step) elsewhere."""
    def tau(sigma: Any) -> float:
        if eta <= 0:
            return 0.0
        value = sigma.item() if isinstance(sigma, torch.Tensor) else sigma
        return eta if start_sigma >= value > end_sigma else 0.0

    return tau


def sa_solver(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
              tau_func: Callable[[Any], float] | None = None, s_noise: float = 1.0, predictor_order: int = 3,
              corrector_order: int = 4, use_pece: bool = False, simple_order_2: bool = False,
              noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """Stochastic Adams solver with predictor-corrector (Xue et al., NeurIPS 2023)."""
    if len(sigmas) <= 1:
        return x
    noise = noise_sampler or StepNoise(x, seed)
    model_sampling = sampling_of(model)
    s_noise *= noise_scale_of(model)
    sigmas = offset_first_sigma(sigmas, model_sampling)
    lambdas = half_log_snr(sigmas, model_sampling)
    if tau_func is None:
        tau_func = tau_interval(model_sampling.percent_to_sigma(0.2), model_sampling.percent_to_sigma(0.8))
    max_order = max(predictor_order, corrector_order)
    x_pred = x
    h: Any = 0.0
    tau_t = 0.0
    added: Any = 0.0
    predictions: list[torch.Tensor] = []
    lower_order_to_end = sigmas[-1].item() == 0
    for i in range(len(sigmas) - 1):
        denoised = model(x_pred, sigmas[i])
        predictions = (predictions + [denoised])[-max_order:]
        predictor_used = min(predictor_order, len(predictions))
        corrector_used = 0 if i == 0 or (sigmas[i + 1] == 0 and not use_pece) else min(corrector_order,
                                                                                        len(predictions))
        if lower_order_to_end:
            predictor_used = min(predictor_used, len(sigmas) - 2 - i)
            corrector_used = min(corrector_used, len(sigmas) - 1 - i)
        if corrector_used == 0:
            x = x_pred
        else:
            b = _adams_b_coeffs(sigmas[i], lambdas[i - corrector_used + 1:i + 1], lambdas[i - 1], lambdas[i],
                                tau_t, simple_order_2, corrector=True)
            stacked = torch.stack(predictions[-corrector_used:], dim=1)
            x = sigmas[i] / sigmas[i - 1] * (-(tau_t ** 2) * h).exp() * x + torch.tensordot(stacked, b, dims=([1], [0]))
            if tau_t > 0 and s_noise > 0:
                x = x + added
            if use_pece:
                denoised = model(x, sigmas[i])
                predictions[-1] = denoised
        if sigmas[i + 1] == 0:
            x_pred = denoised
        else:
            tau_t = tau_func(sigmas[i + 1])
            b = _adams_b_coeffs(sigmas[i + 1], lambdas[i - predictor_used + 1:i + 1], lambdas[i], lambdas[i + 1],
                                tau_t, simple_order_2, corrector=False)
            stacked = torch.stack(predictions[-predictor_used:], dim=1)
            h = lambdas[i + 1] - lambdas[i]
            x_pred = sigmas[i + 1] / sigmas[i] * (-(tau_t ** 2) * h).exp() * x + torch.tensordot(
                stacked, b, dims=([1], [0]))
            if tau_t > 0 and s_noise > 0:
                spread = (-2 * tau_t ** 2 * h).expm1().neg().sqrt()
                added = noise(sigmas[i], sigmas[i + 1]) * sigmas[i + 1] * spread * s_noise
                x_pred = x_pred + added
        cb(i, x_pred, denoised)
    return x_pred


def sa_solver_pece(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
                   tau_func: Callable[[Any], float] | None = None, s_noise: float = 1.0, predictor_order: int = 3,
                   corrector_order: int = 4, simple_order_2: bool = False,
                   noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """SA-Solver in predict–evaluate–correct–evaluate mode (one more evaluation per step)."""
    return sa_solver(model, x, sigmas, seed, cb, tau_func=tau_func, s_noise=s_noise, predictor_order=predictor_order,
                     corrector_order=corrector_order, use_pece=True, simple_order_2=simple_order_2,
                     noise_sampler=noise_sampler)
