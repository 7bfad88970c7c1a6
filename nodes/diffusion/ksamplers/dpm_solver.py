"""DPM-Solver (fast and adaptive) and DPM-Solver++ (2S ancestral, SDE, 2M, 2M SDE, 3M SDE).

The ++ solvers step in half-log-SNR time λ = log(α/σ), which for flow models is log((1−σ)/σ); flow
schedules starting at σ = 1 begin a hair below it (``offset_first_sigma``), as in ComfyUI.
"""

from __future__ import annotations

import math
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

EpsCache = dict[str, torch.Tensor]


class _PIDStepSize:
    """A PID controller for the adaptive solver's step size (in λ)."""

    def __init__(self, h: float, pcoeff: float, icoeff: float, dcoeff: float, order: float = 1,
                 accept_safety: float = 0.81, eps: float = 1e-8) -> None:
        self.h = h
        self.b1 = (pcoeff + icoeff + dcoeff) / order
        self.b2 = -(pcoeff + 2 * dcoeff) / order
        self.b3 = dcoeff / order
        self.accept_safety, self.eps = accept_safety, eps
        self.errs: list[float] = []

    def propose_step(self, error: Any) -> bool:
        inv_error = 1 / (float(error) + self.eps)
        if not self.errs:
            self.errs = [inv_error, inv_error, inv_error]
        self.errs[0] = inv_error
        factor = self.errs[0] ** self.b1 * self.errs[1] ** self.b2 * self.errs[2] ** self.b3
        factor = 1 + math.atan(factor - 1)
        accept = factor >= self.accept_safety
        if accept:
            self.errs[2], self.errs[1] = self.errs[1], self.errs[0]
        self.h *= factor
        return accept


class _DPMSolver:
    """Lu et al. (2022) DPM-Solver-1/2/3 steps in t = −log σ, on ε predictions."""

    def __init__(self, model: Denoiser, cb: StepCallback) -> None:
        self.model, self.cb = model, cb

    @staticmethod
    def t(sigma: torch.Tensor) -> torch.Tensor:
        return sigma.log().neg()

    @staticmethod
    def sigma(t: torch.Tensor) -> torch.Tensor:
        return t.neg().exp()

    def eps(self, cache: EpsCache, key: str, x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, EpsCache]:
        if key in cache:
            return cache[key], cache
        eps = (x - self.model(x, self.sigma(t))) / self.sigma(t)
        return eps, {key: eps, **cache}

    def step_1(self, x: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor, cache: EpsCache
               ) -> tuple[torch.Tensor, EpsCache]:
        h = t_next - t
        eps, cache = self.eps(cache, "eps", x, t)
        return x - self.sigma(t_next) * h.expm1() * eps, cache

    def step_2(self, x: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor, cache: EpsCache,
               r1: float = 1 / 2) -> tuple[torch.Tensor, EpsCache]:
        h = t_next - t
        eps, cache = self.eps(cache, "eps", x, t)
        s1 = t + r1 * h
        u1 = x - self.sigma(s1) * (r1 * h).expm1() * eps
        eps_r1, cache = self.eps(cache, "eps_r1", u1, s1)
        x_2 = (x - self.sigma(t_next) * h.expm1() * eps
               - self.sigma(t_next) / (2 * r1) * h.expm1() * (eps_r1 - eps))
        return x_2, cache

    def step_3(self, x: torch.Tensor, t: torch.Tensor, t_next: torch.Tensor, cache: EpsCache,
               r1: float = 1 / 3, r2: float = 2 / 3) -> tuple[torch.Tensor, EpsCache]:
        h = t_next - t
        eps, cache = self.eps(cache, "eps", x, t)
        s1, s2 = t + r1 * h, t + r2 * h
        u1 = x - self.sigma(s1) * (r1 * h).expm1() * eps
        eps_r1, cache = self.eps(cache, "eps_r1", u1, s1)
        u2 = (x - self.sigma(s2) * (r2 * h).expm1() * eps
              - self.sigma(s2) * (r2 / r1) * ((r2 * h).expm1() / (r2 * h) - 1) * (eps_r1 - eps))
        eps_r2, cache = self.eps(cache, "eps_r2", u2, s2)
        x_3 = (x - self.sigma(t_next) * h.expm1() * eps
               - self.sigma(t_next) / r2 * (h.expm1() / h - 1) * (eps_r2 - eps))
        return x_3, cache

    def fast(self, x: torch.Tensor, t_start: torch.Tensor, t_end: torch.Tensor, nfe: int, eta: float,
             s_noise: float, noise: NoiseSampler) -> torch.Tensor:
        if not t_end > t_start and eta:
            raise ValueError("eta must be 0 for reverse sampling")
        m = math.floor(nfe / 3) + 1
        ts = torch.linspace(float(t_start), float(t_end), m + 1, device=x.device)
        orders = [3] * (m - 2) + [2, 1] if nfe % 3 == 0 else [3] * (m - 1) + [nfe % 3]
        for i, order in enumerate(orders):
            cache: EpsCache = {}
            t, t_next = ts[i], ts[i + 1]
            if eta:
                sd, su = ancestral_step(self.sigma(t), self.sigma(t_next), eta)
                t_next_ = torch.minimum(t_end, self.t(sd))
                su = (self.sigma(t_next) ** 2 - self.sigma(t_next_) ** 2) ** 0.5
            else:
                t_next_, su = t_next, 0.0
            eps, cache = self.eps(cache, "eps", x, t)
            denoised = x - self.sigma(t) * eps
            step = self.step_1 if order == 1 else self.step_2 if order == 2 else self.step_3
            x, cache = step(x, t, t_next_, cache)
            if eta:
                x = x + su * s_noise * noise(self.sigma(t), self.sigma(t_next))
            self.cb(i, x, denoised)
        return x

    def adaptive(self, x: torch.Tensor, t_start: torch.Tensor, t_end: torch.Tensor, order: int, rtol: float,
                 atol: float, h_init: float, pcoeff: float, icoeff: float, dcoeff: float,
                 accept_safety: float, eta: float, s_noise: float, noise: NoiseSampler) -> torch.Tensor:
        if order not in {2, 3}:
            raise ValueError("order should be 2 or 3")
        forward = bool(t_end > t_start)
        if not forward and eta:
            raise ValueError("eta must be 0 for reverse sampling")
        h_init = abs(h_init) * (1 if forward else -1)
        atol_t, rtol_t = torch.tensor(atol), torch.tensor(rtol)
        s, x_prev = t_start, x
        pid = _PIDStepSize(h_init, pcoeff, icoeff, dcoeff, 1.5 if eta else order, accept_safety)
        steps = 0
        while s < t_end - 1e-5 if forward else s > t_end + 1e-5:
            cache: EpsCache = {}
            t = torch.minimum(t_end, s + pid.h) if forward else torch.maximum(t_end, s + pid.h)
            if eta:
                sd, su = ancestral_step(self.sigma(s), self.sigma(t), eta)
                t_ = torch.minimum(t_end, self.t(sd))
                su = (self.sigma(t) ** 2 - self.sigma(t_) ** 2) ** 0.5
            else:
                t_, su = t, 0.0
            eps, cache = self.eps(cache, "eps", x, s)
            denoised = x - self.sigma(s) * eps
            if order == 2:
                x_low, cache = self.step_1(x, s, t_, cache)
                x_high, cache = self.step_2(x, s, t_, cache)
            else:
                x_low, cache = self.step_2(x, s, t_, cache, r1=1 / 3)
                x_high, cache = self.step_3(x, s, t_, cache)
            delta = torch.maximum(atol_t, rtol_t * torch.maximum(x_low.abs(), x_prev.abs()))
            error = torch.linalg.norm((x_low - x_high) / delta) / x.numel() ** 0.5
            if pid.propose_step(error):
                x_prev = x_low
                x = x_high + su * s_noise * noise(self.sigma(s), self.sigma(t)) if eta else x_high
                s = t
            steps += 1
            self.cb(steps - 1, x, denoised)
        return x


def _ends(sigmas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(σ_min, σ_max) for the DPM-Solver samplers: the last non-zero σ and the first."""
    sigma_min = sigmas[-1] if sigmas[-1] != 0 else sigmas[-2]
    if sigma_min <= 0 or sigmas[0] <= 0:
        raise ValueError("sigma_min and sigma_max must not be 0")
    return sigma_min, sigmas[0]


def dpm_fast(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
             eta: float = 0.0, s_noise: float = 1.0, noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """DPM-Solver-Fast: fixed steps of order 3 (then 2, 1) spending len(sigmas) − 1 evaluations between the
    last non-zero σ and the first; it never takes the last step to σ = 0 (as ComfyUI)."""
    if len(sigmas) <= 1:
        return x
    sigma_min, sigma_max = _ends(sigmas)
    solver = _DPMSolver(model, cb)
    return solver.fast(x, solver.t(sigma_max), solver.t(sigma_min), len(sigmas) - 1, eta, s_noise,
                       noise_sampler or StepNoise(x, seed))


def dpm_adaptive(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
                 order: int = 3, rtol: float = 0.05, atol: float = 0.0078, h_init: float = 0.05,
                 pcoeff: float = 0.0, icoeff: float = 1.0, dcoeff: float = 0.0, accept_safety: float = 0.81,
                 eta: float = 0.0, s_noise: float = 1.0, noise_sampler: NoiseSampler | None = None
                 ) -> torch.Tensor:
    """DPM-Solver-12/23 with adaptive step size; only the first and last non-zero σ are used."""
    if len(sigmas) <= 1:
        return x
    sigma_min, sigma_max = _ends(sigmas)
    solver = _DPMSolver(model, cb)
    return solver.adaptive(x, solver.t(sigma_max), solver.t(sigma_min), order, rtol, atol, h_init, pcoeff,
                           icoeff, dcoeff, accept_safety, eta, s_noise, noise_sampler or StepNoise(x, seed))


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
