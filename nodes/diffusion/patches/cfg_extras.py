"""More guidance hooks of ComfyUI's core: Perp-Neg (Armandpour et al.), Epsilon Scaling (Ning et al.,
"Elucidating the exposure bias"), Tangential Damping CFG (TCFG), Mahiro, FreSca's frequency scaling, and the
per-frame CFG ramps of the video models — ``nodes_perpneg``, ``nodes_eps``, ``nodes_tcfg``, ``nodes_mahiro``,
``nodes_fresca`` and ``nodes_video_model``.

Each is a hook on :func:`guidance.sampling_function`'s argument dicts (see ``options.py`` for which dict each
kind receives), so packs that chain their own hooks after these see ComfyUI's values.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from ..conds import Cond, EncodeContext, prepare
from ..guidance import CondLists, Guider, ModelRunner, calc_cond_batch
from .options import POST_CFG, PRE_CFG

Args = dict[str, Any]


def perp_neg(noise_pos: torch.Tensor, noise_neg: torch.Tensor, noise_empty: torch.Tensor, neg_scale: float,
             cond_scale: float) -> torch.Tensor:
    """Perp-Neg: guidance along the positive direction minus only the part of the negative direction that is
    perpendicular to it (both measured from the empty prompt's prediction)."""
    pos = noise_pos - noise_empty
    neg = noise_neg - noise_empty
    perp = neg - ((neg * pos).sum() / (torch.norm(pos) ** 2)) * pos
    return noise_empty + cond_scale * (pos - perp * neg_scale)


class PerpNegCfg:
    """sampler_cfg_function of the deprecated PerpNeg node: the empty prompt is encoded for the run's model on
    first use (per latent shape) and predicted in one more network call."""

    node_name = "PerpNeg"

    def __init__(self, empty_conditioning: list[list[Any]], neg_scale: float) -> None:
        self.empty_conditioning, self.neg_scale = empty_conditioning, neg_scale
        self._encoded: dict[tuple[Any, ...], list[Cond]] = {}

    def _empty(self, runner: ModelRunner, x: torch.Tensor) -> list[Cond]:
        key = (id(runner.module), tuple(x.shape))
        if key not in self._encoded:
            ctx = EncodeContext("negative", tuple(x.shape), runner.device, runner.dtype)
            self._encoded[key] = prepare(self.empty_conditioning, runner.adapter, runner.module,
                                         runner.model_sampling, ctx)
        return self._encoded[key]

    def __call__(self, args: Args) -> torch.Tensor:
        runner: ModelRunner = args["model"]
        x = args["input"]
        (noise_empty,) = calc_cond_batch(runner, [self._empty(runner, x)], x, args["sigma"], args["model_options"])
        return x - perp_neg(args["cond_denoised"], args["uncond_denoised"], noise_empty, self.neg_scale,
                            args["cond_scale"])


class PerpNegGuider(Guider):
    """PerpNegGuider: the positive, negative and empty prompts in one batched call, combined by Perp-Neg;
    the negative is skipped at neg_scale 0, and the empty prompt too at cfg 1 (ComfyUI's cfg1 shortcut)."""

    def __init__(self, model: Any, positive: Any, negative: Any, empty_conditioning: Any, cfg: float,
                 neg_scale: float) -> None:
        super().__init__(model, {"positive": positive, "negative": negative,
                                 "empty_negative_prompt": empty_conditioning}, cfg)
        self.neg_scale = neg_scale

    def prompt_types(self) -> dict[str, str]:
        return {"positive": "positive", "negative": "negative", "empty_negative_prompt": "negative"}

    def predict(self, runner: ModelRunner, conds: CondLists, x: torch.Tensor, sigma: torch.Tensor,
                state: Any, model_options: dict[str, Any] | None = None) -> torch.Tensor:
        options = runner.model_options if model_options is None else model_options
        positive, negative = conds.get("positive"), conds.get("negative")
        empty = conds.get("empty_negative_prompt")
        if not options.get("disable_cfg1_optimization", False) and math.isclose(self.neg_scale, 0.0):
            negative = None
            if math.isclose(self.cfg, 1.0):
                empty = None
        lists = [positive, negative, empty]
        out = calc_cond_batch(runner, lists, x, sigma, options)
        for fn in options.get(PRE_CFG, []):
            out = fn({"conds": lists, "conds_out": out, "cond_scale": self.cfg, "timestep": sigma, "input": x,
                      "sigma": sigma, "model": runner, "model_options": options})
        noise_pos, noise_neg, noise_empty = out
        result = perp_neg(noise_pos, noise_neg, noise_empty, self.neg_scale, self.cfg)
        for fn in options.get(POST_CFG, []):
            result = fn({"denoised": result, "cond": positive, "uncond": negative, "cond_scale": self.cfg,
                         "model": runner, "uncond_denoised": noise_neg, "cond_denoised": noise_pos, "sigma": sigma,
                         "model_options": options, "input": x, "empty_cond": empty,
                         "empty_cond_denoised": noise_empty})
        if state is not None:
            state.uncond_denoised = noise_neg
        return result


class EpsilonScaling:
    """sampler_post_cfg_function: the predicted noise divided by ``scaling_factor`` (the uniform schedule of
    "Elucidating the Exposure Bias in Diffusion Models")."""

    node_name = "Epsilon Scaling"

    def __init__(self, scaling_factor: float) -> None:
        self.scaling_factor = scaling_factor if scaling_factor != 0 else 1e-9

    def __call__(self, args: Args) -> torch.Tensor:
        x = args["input"]
        return x - (x - args["denoised"]) / self.scaling_factor  # type: ignore[no-any-return]


def tangential_damping(cond_score: torch.Tensor, uncond_score: torch.Tensor) -> torch.Tensor:
    """TCFG: the negative score projected on the first right-singular vector of [uncond; cond] per batch item,
    dropping its components tangential to the positive score."""
    batch = cond_score.shape[0]
    cond_flat = cond_score.reshape(batch, 1, -1).float()
    uncond_flat = uncond_score.reshape(batch, 1, -1).float()
    matrix = torch.cat((uncond_flat, cond_flat), dim=1)
    try:
        _, _, vh = torch.linalg.svd(matrix, full_matrices=False)
    except RuntimeError:  # some GPU builds lack this SVD: the CPU's, as ComfyUI falls back
        _, _, vh = torch.linalg.svd(matrix.cpu(), full_matrices=False)
    v1 = vh[:, 0:1, :].to(uncond_flat.device)
    return ((uncond_flat @ v1.transpose(-2, -1)) * v1).reshape_as(uncond_score).to(uncond_score.dtype)


class TangentialDampingCFG:
    """sampler_pre_cfg_function of TCFG: the negative prediction replaced by its tangentially damped one."""

    node_name = "TCFG"

    def __call__(self, args: Args) -> list[Any]:
        x, out = args["input"], args["conds_out"]
        if len(out) <= 1 or None in args["conds"][:2]:
            return out  # type: ignore[no-any-return]
        cond, uncond = out[0], out[1]
        return [cond, x - tangential_damping(x - cond, x - uncond), *out[2:]]


class Mahiro:
    """sampler_post_cfg_function of Mahiro: the CFG result mixed with the positive prediction scaled by cfg,
    weighted by how similar the (signed square-rooted) negative leap is to their mean."""

    node_name = "Mahiro"

    def __call__(self, args: Args) -> torch.Tensor:
        scale = args["cond_scale"]
        leap = args["cond_denoised"] * scale
        u_leap = args["uncond_denoised"] * scale
        cfg = args["denoised"]
        merge = (leap + cfg) / 2
        norm_u = torch.sqrt(u_leap.abs()) * u_leap.sign()
        norm_m = torch.sqrt(merge.abs()) * merge.sign()
        similarity = 2 * (F.cosine_similarity(norm_u, norm_m).mean() + 1)
        return (similarity * cfg + (4 - similarity) * leap) / 4  # type: ignore[no-any-return]


def fourier_filter(x: torch.Tensor, scale_low: float, scale_high: float, freq_cutoff: int) -> torch.Tensor:
    """FreSca: ``x``'s spatial frequencies scaled — ``scale_low`` inside the central ±``freq_cutoff`` band of
    each spatial axis after fftshift, ``scale_high`` outside — computed in float32."""
    dtype = x.dtype
    freq = torch.fft.fftshift(torch.fft.fftn(x.float(), dim=(-2, -1)), dim=(-2, -1))
    mask = torch.full(freq.shape, scale_high, device=x.device)
    centre = mask
    for dim in range(2, freq.ndim):
        middle = freq.shape[dim] // 2
        half = min(freq_cutoff, middle)
        centre = centre.narrow(dim, middle - half, half * 2)
    centre[:] = scale_low
    filtered = torch.fft.ifftn(torch.fft.ifftshift(freq * mask, dim=(-2, -1)), dim=(-2, -1)).real
    return filtered.to(dtype)


class FreSca:
    """sampler_pre_cfg_function of FreSca: the guidance (cond − uncond) filtered by :func:`fourier_filter`
    and added back to the negative prediction."""

    node_name = "FreSca"

    def __init__(self, scale_low: float, scale_high: float, freq_cutoff: int) -> None:
        self.scale_low, self.scale_high, self.freq_cutoff = scale_low, scale_high, freq_cutoff

    def __call__(self, args: Args) -> list[Any]:
        out = args["conds_out"]
        if len(out) <= 1 or None in args["conds"][:2]:
            return out  # type: ignore[no-any-return]
        cond, uncond = out[0], out[1]
        guidance = fourier_filter(cond - uncond, self.scale_low, self.scale_high, self.freq_cutoff)
        return [guidance + uncond, uncond, *out[2:]]


class VideoCfgRamp:
    """sampler_cfg_function of VideoLinearCFGGuidance / VideoTriangleCFGGuidance: the CFG scale varies over
    the batch (SVD's frames) from ``min_cfg`` to the sampler's cfg — linearly, or up and down again."""

    def __init__(self, min_cfg: float, triangle: bool) -> None:
        self.min_cfg, self.triangle = min_cfg, triangle
        self.node_name = "VideoTriangleCFGGuidance" if triangle else "VideoLinearCFGGuidance"

    def __call__(self, args: Args) -> torch.Tensor:
        cond, uncond, cond_scale = args["cond"], args["uncond"], args["cond_scale"]
        frames = cond.shape[0]
        shape = (frames,) + (1,) * (cond.ndim - 1)
        if self.triangle:
            values = torch.linspace(0, 1, frames, device=cond.device)
            values = 2 * (values - torch.floor(values + 0.5)).abs()
            scale = (values * (cond_scale - self.min_cfg) + self.min_cfg).reshape(shape)
        else:
            scale = torch.linspace(self.min_cfg, cond_scale, frames, device=cond.device).reshape(shape)
        return uncond + scale * (cond - uncond)  # type: ignore[no-any-return]
