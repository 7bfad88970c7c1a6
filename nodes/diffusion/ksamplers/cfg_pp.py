"""CFG++ samplers (Chung et al., 2024): the step follows the *unconditional* prediction back up to the
next noise level while the guided prediction sets the target, which tolerates low guidance scales.

They read the negative prediction of every call through ``watch_uncond`` (ComfyUI's post-CFG hook with its
cfg-1 shortcut disabled), so they need a guider; with a BasicGuider the negative prediction is zero, as in
ComfyUI.
"""

from __future__ import annotations

import torch

from ..model_sampling import CONST
from .common import (
    Denoiser,
    NoiseSampler,
    StepCallback,
    StepNoise,
    ancestral_step,
    half_log_snr,
    noise_scale_of,
    noop,
    sampling_of,
    to_d,
    watch_uncond,
)
from .dpm_solver import flow_midpoint


def euler_ancestral_cfg_pp(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int,
                           cb: StepCallback = noop, *, eta: float = 1.0, s_noise: float = 1.0,
                           noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """Euler ancestral (DDIM-like, in α-scaled space) with CFG++."""
    noise = noise_sampler or StepNoise(x, seed)
    model_sampling = sampling_of(model)
    s_noise *= noise_scale_of(model)
    uncond = watch_uncond(model)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            alpha_s = sigmas[i] * half_log_snr(sigmas[i], model_sampling).exp()
            alpha_t = sigmas[i + 1] * half_log_snr(sigmas[i + 1], model_sampling).exp()
            d = to_d(x, sigmas[i], alpha_s * uncond())
            sigma_down, sigma_up = ancestral_step(sigmas[i] / alpha_s, sigmas[i + 1] / alpha_t, eta)
            x = alpha_t * denoised + alpha_t * sigma_down * d
            if eta > 0 and s_noise > 0:
                x = x + alpha_t * noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
        cb(i, x, denoised)
    return x


def euler_cfg_pp(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop
                 ) -> torch.Tensor:
    """Euler with CFG++ (the ancestral form without noise)."""
    return euler_ancestral_cfg_pp(model, x, sigmas, seed, cb, eta=0.0, s_noise=0.0)


def dpmpp_2s_ancestral_cfg_pp(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int,
                              cb: StepCallback = noop, *, eta: float = 1.0, s_noise: float = 1.0,
                              noise_sampler: NoiseSampler | None = None) -> torch.Tensor:
    """DPM-Solver++(2S) ancestral with CFG++: the solver runs on the unconditional predictions and the
    guidance (guided − unconditional at the step's start) is added after the step."""
    noise = noise_sampler or StepNoise(x, seed)
    flow = isinstance(sampling_of(model), CONST)
    s_noise *= noise_scale_of(model)
    uncond = watch_uncond(model)
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        guidance = denoised - uncond()
        if flow:
            sigma_down = sigmas[i + 1] * (1 + (sigmas[i + 1] / sigmas[i] - 1) * eta)
            alpha_next, alpha_down = 1 - sigmas[i + 1], 1 - sigma_down
            sigma_up = (sigmas[i + 1] ** 2 - sigma_down ** 2 * alpha_next ** 2 / alpha_down ** 2) ** 0.5
            last = bool(sigmas[i + 1] == 0)
        else:
            sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
            last = bool(sigma_down == 0)
        if last:
            x = x + to_d(x, sigmas[i], uncond()) * (sigma_down - sigmas[i])
        elif flow:
            sigma_s = flow_midpoint(sigmas[i], sigma_down)
            ratio = sigma_s / sigmas[i]
            u = ratio * x + (1 - ratio) * uncond()
            model(u, torch.as_tensor(sigma_s, dtype=sigmas.dtype, device=sigmas.device))
            ratio = sigma_down / sigmas[i]
            x = ratio * x + (1 - ratio) * uncond()
        else:
            t, t_next = sigmas[i].log().neg(), sigma_down.log().neg()
            r = 1 / 2
            h = t_next - t
            s = t + r * h
            x_2 = (s.neg().exp() / t.neg().exp()) * x - (-h * r).expm1() * uncond()
            model(x_2, s.neg().exp())  # only its unconditional prediction is used
            x = (t_next.neg().exp() / t.neg().exp()) * x - (-h).expm1() * uncond()
        if flow:
            if sigmas[i + 1] > 0 and eta > 0:
                x = (alpha_next / alpha_down) * x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
            x = x + (1 - sigmas[i + 1]) * guidance
        else:
            if sigmas[i + 1] > 0:
                x = x + noise(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
            x = x + guidance
        cb(i, x, denoised)
    return x


def dpmpp_2m_cfg_pp(model: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, seed: int, cb: StepCallback = noop
                    ) -> torch.Tensor:
    """DPM-Solver++(2M) with CFG++."""
    uncond = watch_uncond(model)
    old_uncond: torch.Tensor | None = None
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i])
        t, t_next = sigmas[i].log().neg(), sigmas[i + 1].log().neg()
        h = t_next - t
        if old_uncond is None or sigmas[i + 1] == 0:
            mix = -torch.exp(-h) * uncond()
        else:
            r = (t - sigmas[i - 1].log().neg()) / h
            mix = -torch.exp(-h) * uncond() - torch.expm1(-h) * (1 / (2 * r)) * (denoised - old_uncond)
        x = denoised + mix + torch.exp(-h) * x
        old_uncond = uncond()
        cb(i, x, denoised)
    return x
