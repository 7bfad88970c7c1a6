"""Every sampler name ComfyUI lists, and the SAMPLER value (a sampler with its options).

The implementations live in ``ksamplers/`` by family of methods, written from their published update rules
(k-diffusion, DPM-Solver, UniPC, SEEDS, SA-Solver …). Given the same sigmas, seed and denoiser they
reproduce ComfyUI's results: most bit for bit, the rest within float rounding (see the tests).

Why not diffusers' schedulers: fed ComfyUI's sigmas, only some of them agree (euler, heun, dpm_2,
dpmpp_2m …), most only by overriding private attributes, and lms, dpmpp_sde, dpmpp_3m_sde,
dpmpp_2s_ancestral, deis and ipndm do not agree at all (measured; see the issue notes).

A sampler function is ``fn(model, x, sigmas, seed, cb=..., **options) -> x``: ``model`` is the denoiser
D(x, σ) (with ``model_sampling``, and ``watch_uncond`` for CFG++), ``cb(i, x, denoised)`` is called once per
step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch

from .ksamplers.cfg_pp import dpmpp_2m_cfg_pp, dpmpp_2s_ancestral_cfg_pp, euler_ancestral_cfg_pp, euler_cfg_pp
from .ksamplers.common import StepCallback, noop
from .ksamplers.dpm_fast import dpm_adaptive, dpm_fast
from .ksamplers.dpm_solver import (
    dpmpp_2m,
    dpmpp_2m_sde,
    dpmpp_2s_ancestral,
    dpmpp_3m_sde,
    dpmpp_sde,
)
from .ksamplers.euler import ddpm, dpm_2, dpm_2_ancestral, euler, euler_ancestral, heun, heunpp2, lcm, lms
from .ksamplers.exponential import (
    er_sde,
    exp_heun_2_x0,
    exp_heun_2_x0_sde,
    sa_solver,
    sa_solver_pece,
    seeds_2,
    seeds_3,
)
from .ksamplers.multistep import deis, gradient_estimation, ipndm, ipndm_v, res_multistep
from .ksamplers.unipc import FINAL_SIGMA, uni_pc, uni_pc_bh2
from .names import SAMPLER_NAMES

SamplerFunction = Callable[..., torch.Tensor]

# ComfyUI's names, in its order (KSAMPLER_NAMES, then ddim and the UniPC pair).
SAMPLERS: dict[str, SamplerFunction] = {
    "euler": euler,
    "euler_cfg_pp": euler_cfg_pp,
    "euler_ancestral": euler_ancestral,
    "euler_ancestral_cfg_pp": euler_ancestral_cfg_pp,
    "heun": heun,
    "heunpp2": heunpp2,
    "exp_heun_2_x0": exp_heun_2_x0,
    "exp_heun_2_x0_sde": exp_heun_2_x0_sde,
    "dpm_2": dpm_2,
    "dpm_2_ancestral": dpm_2_ancestral,
    "lms": lms,
    "dpm_fast": dpm_fast,
    "dpm_adaptive": dpm_adaptive,
    "dpmpp_2s_ancestral": dpmpp_2s_ancestral,
    "dpmpp_2s_ancestral_cfg_pp": dpmpp_2s_ancestral_cfg_pp,
    "dpmpp_sde": dpmpp_sde,
    "dpmpp_sde_gpu": partial(dpmpp_sde, cpu_noise=False),
    "dpmpp_2m": dpmpp_2m,
    "dpmpp_2m_cfg_pp": dpmpp_2m_cfg_pp,
    "dpmpp_2m_sde": dpmpp_2m_sde,
    "dpmpp_2m_sde_gpu": partial(dpmpp_2m_sde, cpu_noise=False),
    "dpmpp_2m_sde_heun": partial(dpmpp_2m_sde, solver_type="heun"),
    "dpmpp_2m_sde_heun_gpu": partial(dpmpp_2m_sde, solver_type="heun", cpu_noise=False),
    "dpmpp_3m_sde": dpmpp_3m_sde,
    "dpmpp_3m_sde_gpu": partial(dpmpp_3m_sde, cpu_noise=False),
    "ddpm": ddpm,
    "lcm": lcm,
    "ipndm": ipndm,
    "ipndm_v": ipndm_v,
    "deis": deis,
    "res_multistep": res_multistep,
    "res_multistep_cfg_pp": partial(res_multistep, cfg_pp=True),
    "res_multistep_ancestral": partial(res_multistep, eta=1.0),
    "res_multistep_ancestral_cfg_pp": partial(res_multistep, eta=1.0, cfg_pp=True),
    "gradient_estimation": gradient_estimation,
    "gradient_estimation_cfg_pp": partial(gradient_estimation, cfg_pp=True),
    "er_sde": er_sde,
    "seeds_2": seeds_2,
    "seeds_3": seeds_3,
    "sa_solver": sa_solver,
    "sa_solver_pece": sa_solver_pece,
    "ddim": euler,  # euler, with fresh inpainting noise (Sampler.inpaint_random)
    "uni_pc": uni_pc,
    "uni_pc_bh2": uni_pc_bh2,
}
assert tuple(SAMPLERS) == SAMPLER_NAMES, "names.py and the registry list the same samplers in the same order"


@dataclass(frozen=True)
class Sampler:
    """A SAMPLER value: a sampler function and the options a sampler node chose for it.

    ``inpaint_random``: the inpainting noise is a fresh CPU draw from seed + 1 instead of the sampling noise
    (ComfyUI's ``ddim``). ``final_sigma``: the last σ the inverse noise scaling reads when the schedule ends
    at 0 (UniPC writes 0.001 there in ComfyUI).
    """

    name: str
    function: SamplerFunction = field(compare=False)
    options: tuple[tuple[str, Any], ...] = ()
    inpaint_random: bool = False
    final_sigma: float | None = None

    def __call__(self, model: Any, x: torch.Tensor, sigmas: torch.Tensor, seed: int,
                 cb: StepCallback = noop) -> torch.Tensor:
        return self.function(model, x, sigmas, seed, cb, **dict(self.options))

    def last_sigma(self, sigmas: torch.Tensor) -> torch.Tensor:
        if self.final_sigma is not None and sigmas[-1] == 0:
            return sigmas.new_tensor(self.final_sigma)
        return sigmas[-1]

    def cache_nbytes(self) -> int:
        return 64


def sampler_object(name: str, **options: Any) -> Sampler:
    """The SAMPLER for a name (KSamplerSelect), with options as the per-sampler nodes set them."""
    try:
        function = SAMPLERS[name]
    except KeyError:
        raise ValueError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}") from None
    return Sampler(name, function, tuple(sorted(options.items())), inpaint_random=name == "ddim",
                   final_sigma=FINAL_SIGMA if name in ("uni_pc", "uni_pc_bh2") else None)
