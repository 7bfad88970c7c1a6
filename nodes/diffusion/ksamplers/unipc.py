"""UniPC (Zhao et al., 2023) as ComfyUI runs it: data prediction, multistep, lower order at the end,
B(h) = h (``bh1``) or eᵸ − 1 (``bh2``), evaluated in the VP space of an ε-model whatever the model
(ComfyUI does the same), with a final σ of 0 replaced by 0.001.
"""

from __future__ import annotations

from typing import Any

import torch

from .common import Denoiser, StepCallback, noop

FINAL_SIGMA = 0.001  # what ComfyUI writes over a final σ of 0 (its inverse noise scaling then reads it)


def _log_alpha(s: torch.Tensor) -> torch.Tensor:  # log α of the VP schedule at σ
    return 0.5 * torch.log(1 / (s * s + 1))


def _alpha(s: torch.Tensor) -> torch.Tensor:
    return torch.exp(_log_alpha(s))


def _std(s: torch.Tensor) -> torch.Tensor:
    return torch.sqrt(1. - torch.exp(2. * _log_alpha(s)))


def _lambda(s: torch.Tensor) -> torch.Tensor:
    return _log_alpha(s) - 0.5 * torch.log(1. - torch.exp(2. * _log_alpha(s)))


def uni_pc(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop, *,
           variant: str = "bh1") -> torch.Tensor:
    ts = sigmas.clone()
    if ts[-1] == 0:
        ts[-1] = FINAL_SIGMA

    def x0(x_vp: torch.Tensor, s: torch.Tensor) -> torch.Tensor:  # data prediction via an ε round trip
        x_ve = x_vp * ((s ** 2 + 1.0) ** 0.5)
        eps = (x_ve - model(x_ve, s)) / s
        return (x_vp - _std(s) * eps) / _alpha(s)

    def update(x_vp: torch.Tensor, ms: list[torch.Tensor], prev_ts: list[torch.Tensor], t: torch.Tensor, order: int,
               corrector: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        s0, m0 = prev_ts[-1], ms[-1]
        h = _lambda(t) - _lambda(s0)
        rks: list[Any] = []
        d1s = []
        for k in range(1, order):
            rk = (_lambda(prev_ts[-(k + 1)]) - _lambda(s0)) / h
            rks.append(rk)
            d1s.append((ms[-(k + 1)] - m0) / rk)
        rks.append(torch.tensor(1.0))
        rks_t = torch.stack([torch.as_tensor(r, dtype=torch.float32) for r in rks])
        hh = -h
        hphi_1 = torch.expm1(hh)
        hphi_k = hphi_1 / hh - 1
        factorial = 1
        b_h = hh if variant == "bh1" else torch.expm1(hh)
        rows, rhs = [], []
        for k in range(1, order + 1):
            rows.append(rks_t ** (k - 1))
            rhs.append(hphi_k * factorial / b_h)
            factorial *= (k + 1)
            hphi_k = hphi_k / hh - 1 / factorial
        r_mat, b_vec = torch.stack(rows), torch.stack(rhs)
        x_t_ = (_std(t) / _std(s0)) * x_vp - (_alpha(t) * hphi_1) * m0
        if d1s:
            rhos_p = torch.tensor([0.5]) if order == 2 else torch.linalg.solve(r_mat[:-1, :-1], b_vec[:-1])
            pred: Any = sum(rhos_p[k] * d1s[k] for k in range(len(d1s)))
        else:
            pred = 0
        x_t = x_t_ - _alpha(t) * b_h * pred
        model_t = None
        if corrector:
            rhos_c = torch.tensor([0.5]) if order == 1 else torch.linalg.solve(r_mat, b_vec)
            model_t = x0(x_t, t)
            corr: Any = sum(rhos_c[k] * d1s[k] for k in range(len(d1s))) if d1s else 0
            x_t = x_t_ - _alpha(t) * b_h * (corr + rhos_c[-1] * (model_t - m0))
        return x_t, model_t

    steps = len(ts) - 1
    order = min(3, len(ts) - 2)
    x_vp = x / torch.sqrt(1.0 + ts[0] ** 2.0)
    ms, prev_ts = [x0(x_vp, ts[0])], [ts[0]]
    if order == 0:  # one step: ComfyUI evaluates the model once and never updates x
        return x_vp / _alpha(ts[-1])
    for k in range(1, steps + 1):
        step_order = min(order, steps + 1 - k) if k >= order else k
        x_vp, model_t = update(x_vp, ms, prev_ts, ts[k], step_order, corrector=k < steps)
        if k < steps:
            ms.append(model_t if model_t is not None else x0(x_vp, ts[k]))
            prev_ts.append(ts[k])
            ms, prev_ts = ms[-order:], prev_ts[-order:]
        cb(k - 1, x_vp / _alpha(ts[k]), ms[-1])
    return x_vp / _alpha(ts[-1])


def uni_pc_bh2(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop
               ) -> torch.Tensor:
    return uni_pc(model, x, sigmas, seed, cb, variant="bh2")
