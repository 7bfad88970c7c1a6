"""DPM-Solver (Lu et al., 2022): fixed-step ("dpm_fast") and adaptive-step ("dpm_adaptive") solvers on ε
predictions in t = −log σ. Like ComfyUI they only use the first and the last non-zero σ of a schedule, and
take no flow-specific branch.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from .common import Denoiser, NoiseSampler, StepCallback, StepNoise, ancestral_step, noop

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
