"""Multistep samplers: iPNDM (and its variable-step form), DEIS, RES multistep, gradient estimation.

iPNDM/iPNDM-v and DEIS follow zju-pi's diff-solvers (as ComfyUI does); RES multistep is the second-order
exponential multistep of Zhang et al. (arXiv 2308.02157); gradient estimation is Permenter & Yuan's.
The ``cfg_pp`` forms step along the unconditional prediction and add the guidance separately (CFG++).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .common import (
    Denoiser,
    NoiseSampler,
    StepCallback,
    StepNoise,
    ancestral_step,
    noise_scale_of,
    noop,
    to_d,
    watch_uncond,
)


def _push(buffer: list[torch.Tensor], d: torch.Tensor, max_order: int) -> list[torch.Tensor]:
    """The history of derivatives, at most max_order − 1 long."""
    return (buffer + [d])[-(max_order - 1):] if max_order > 1 else []


def ipndm(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
          max_order: int = 4) -> torch.Tensor:
    """Improved PNDM: Adams–Bashforth on the derivative, fixed coefficients."""
    buffer: list[torch.Tensor] = []
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, sigma)
        d = (x - denoised) / sigma
        order = min(max_order, i + 1)
        if sigma_next == 0:
            x_next = denoised
        elif order == 1:
            x_next = x + (sigma_next - sigma) * d
        elif order == 2:
            x_next = x + (sigma_next - sigma) * (3 * d - buffer[-1]) / 2
        elif order == 3:
            x_next = x + (sigma_next - sigma) * (23 * d - 16 * buffer[-1] + 5 * buffer[-2]) / 12
        else:
            x_next = x + (sigma_next - sigma) * (55 * d - 59 * buffer[-1] + 37 * buffer[-2] - 9 * buffer[-3]) / 24
        buffer = _push(buffer, d, max_order)
        x = x_next
        cb(i, x, denoised)
    return x


def _ipndm_v_coeffs(order: int, h: list[Any]) -> list[Any]:
    """Variable-step Adams–Bashforth weights for iPNDM-v; h[k] is the k-th most recent step (h[0] current)."""
    h_n = h[0]
    if order == 2:
        h_n_1 = h[1]
        return [(2 + (h_n / h_n_1)) / 2, -(h_n / h_n_1) / 2]
    h_n_1, h_n_2 = h[1], h[2]
    temp1 = (1 - h_n / (3 * (h_n + h_n_1)) * (h_n * (h_n + h_n_1)) / (h_n_1 * (h_n_1 + h_n_2))) / 2
    if order == 3:
        return [(2 + (h_n / h_n_1)) / 2 + temp1, -(h_n / h_n_1) / 2 - (1 + h_n_1 / h_n_2) * temp1,
                temp1 * h_n_1 / h_n_2]
    h_n_3 = h[3]
    temp2 = (((1 - h_n / (3 * (h_n + h_n_1))) / 2 + (1 - h_n / (2 * (h_n + h_n_1))) * h_n / (6 * (h_n + h_n_1 + h_n_2)))
             * (h_n * (h_n + h_n_1) * (h_n + h_n_1 + h_n_2))
             / (h_n_1 * (h_n_1 + h_n_2) * (h_n_1 + h_n_2 + h_n_3)))
    ratio = h_n_1 * (h_n_1 + h_n_2) / (h_n_2 * (h_n_2 + h_n_3))
    return [(2 + (h_n / h_n_1)) / 2 + temp1 + temp2,
            -(h_n / h_n_1) / 2 - (1 + h_n_1 / h_n_2) * temp1 - (1 + (h_n_1 / h_n_2) + ratio) * temp2,
            temp1 * h_n_1 / h_n_2 + ((h_n_1 / h_n_2) + ratio * (1 + h_n_2 / h_n_3)) * temp2,
            -temp2 * ratio * h_n_1 / h_n_2]


def ipndm_v(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
            max_order: int = 4) -> torch.Tensor:
    """iPNDM with coefficients for the actual (uneven) step sizes."""
    buffer: list[torch.Tensor] = []
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, sigma)
        d = (x - denoised) / sigma
        order = min(max_order, i + 1)
        if sigma_next == 0:
            x_next = denoised
        elif order == 1:
            x_next = x + (sigma_next - sigma) * d
        else:
            steps = [sigma_next - sigma] + [sigmas[i - k] - sigmas[i - k - 1] for k in range(order - 1)]
            coeffs = _ipndm_v_coeffs(order, steps)
            history = [d] + [buffer[-k] for k in range(1, order)]
            x_next = x + (sigma_next - sigma) * sum(c * v for c, v in zip(coeffs, history, strict=True))
        buffer = _push(buffer, d, max_order)
        x = x_next
        cb(i, x, denoised)
    return x


def _deis_coeffs(sigmas: torch.Tensor, max_order: int = 3, n: int = 10000, eps_s: float = 1e-3,
                 sigma_min: float = 0.002, sigma_max: float = 80.0) -> list[list[torch.Tensor]]:
    """DEIS 'tab' coefficients: the exponential integrator's Lagrange weights, integrated numerically in the
    VP time that matches each σ (EDM's VP parameters, as diff-solvers)."""
    def f32(v: float) -> torch.Tensor:
        return torch.tensor(v, dtype=torch.float32)

    beta_d = 2 * (torch.log(f32(sigma_min) ** 2 + 1) / eps_s - torch.log(f32(sigma_max) ** 2 + 1)) / (eps_s - 1)
    beta_min = torch.log(f32(sigma_max) ** 2 + 1) - 0.5 * beta_d
    t = ((beta_min ** 2 + 2 * beta_d * (sigmas.cpu() ** 2 + 1).log()).sqrt() - beta_min) / beta_d
    b0, b1 = beta_min, beta_d + beta_min
    table: list[list[torch.Tensor]] = []
    for i in range(len(t) - 1):
        order = min(i + 1, max_order)
        if order == 1:
            table.append([])
            continue
        taus = torch.linspace(t[i], t[i + 1], n)
        dtau = (t[i + 1] - t[i]) / n
        alpha = torch.exp(-0.5 * taus ** 2 * (b1 - b0) - taus * b0)
        integrand = -0.5 * (-(taus * (b1 - b0) + b0)) / torch.sqrt(alpha * (1 - alpha))
        previous = t[[i - k for k in range(order)]]
        row = []
        for j in range(order):
            poly: Any = 1
            for k in range(order):
                if k != j:
                    poly = poly * (taus - previous[k]) / (previous[j] - previous[k])
            row.append(torch.sum(integrand * poly) * dtau)
        table.append(row)
    return table


def deis(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
         max_order: int = 3) -> torch.Tensor:
    """Diffusion exponential integrator sampler (Zhang & Chen), tabulated coefficients."""
    table = _deis_coeffs(sigmas, max_order)
    buffer: list[torch.Tensor] = []
    for i in range(len(sigmas) - 1):
        sigma, sigma_next = sigmas[i], sigmas[i + 1]
        denoised = model(x, sigma)
        d = (x - denoised) / sigma
        order = 1 if sigma_next <= 0 else min(max_order, i + 1)
        if order == 1:
            x_next = x + (sigma_next - sigma) * d
        else:
            c = table[i]
            x_next = x + c[0] * d + sum(c[k] * buffer[-k] for k in range(1, order))
        buffer = _push(buffer, d, max_order)
        x = x_next
        cb(i, x, denoised)
    return x


def res_multistep(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
                  eta: float = 0.0, s_noise: float = 1.0, cfg_pp: bool = False,
                  noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """RES second-order multistep (Euler on the first step), optionally ancestral (eta) and CFG++."""
    noise = noise_sampler or StepNoise(x, seed)
    s_noise *= noise_scale_of(model)
    uncond: Callable[[], torch.Tensor] | None = watch_uncond(model) if cfg_pp else None
    old_denoised: torch.Tensor | None = None
    old_sigma_down: Any = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        if sigma_down == 0 or old_denoised is None:
            if uncond is not None:
                x = denoised + to_d(x, sigmas[i], uncond()) * sigma_down
            else:
                x = x + to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        else:
            t, t_old = sigmas[i].log().neg(), old_sigma_down.log().neg()
            t_next, t_prev = sigma_down.log().neg(), sigmas[i - 1].log().neg()
            h = t_next - t
            c2 = (t_prev - t_old) / h
            phi1 = torch.expm1(-h) / (-h)
            phi2 = (phi1 - 1.0) / (-h)
            b1 = torch.nan_to_num(phi1 - phi2 / c2, nan=0.0)
            b2 = torch.nan_to_num(phi2 / c2, nan=0.0)
            if uncond is not None:
                x = x + (denoised - uncond())
                x = h.neg().exp() * x + h * (b1 * uncond() + b2 * old_denoised)
            else:
                x = h.neg().exp() * x + h * (b1 * denoised + b2 * old_denoised)
        if sigmas[i + 1] > 0 and eta:
            x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
        old_denoised = uncond() if uncond is not None else denoised
        old_sigma_down = sigma_down
        cb(i, x, denoised)
    return x


def gradient_estimation(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int,
                        cb: StepCallback = noop, *, ge_gamma: float = 2.0, cfg_pp: bool = False) -> torch.Tensor:
    """Euler with the change of derivative extrapolated by (γ − 1) (Permenter & Yuan)."""
    uncond = watch_uncond(model) if cfg_pp else None
    old_d: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        d = to_d(x, sigmas[i], uncond() if uncond is not None else denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            x = denoised + d * sigmas[i + 1] if uncond is not None else x + d * dt
            if i >= 1:
                assert old_d is not None
                x = x + (ge_gamma - 1) * (d - old_d) * dt
        old_d = d
        cb(i, x, denoised)
    return x
