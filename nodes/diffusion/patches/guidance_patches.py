"""Patches on classifier-free guidance: RescaleCFG, CFG-Zero*, Adaptive Projected Guidance, Perturbed- and
Self-Attention Guidance, and latent operations before CFG — ComfyUI's ``nodes_model_advanced``,
``nodes_cfg``, ``nodes_apg``, ``nodes_pag``, ``nodes_sag`` and ``nodes_latent`` hooks, with the argument
dicts of ``guidance.sampling_function`` / ``cfg_function``.

Each hook is a small object whose ``node_name`` names its node; PAG and SAG run the network again through
``guidance.calc_cond_batch`` and say which attention patch that needs (``requires_patches``).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .attention import attention, attention_with_scores
from .options import set_model_options_patch_replace

Args = dict[str, Any]


class RescaleCFG:
    """sampler_cfg_function: CFG done on v-prediction outputs, its result rescaled to the positive's
    standard deviation and mixed back by ``multiplier`` (Lin et al., "Common diffusion noise schedules and
    sample steps are flawed"). As in ComfyUI, the ε ↔ v conversion assumes σ² + 1 scaling."""

    node_name = "RescaleCFG"

    def __init__(self, multiplier: float) -> None:
        self.multiplier = multiplier

    def __call__(self, args: Args) -> torch.Tensor:
        cond, uncond, scale = args["cond"], args["uncond"], args["cond_scale"]
        sigma = args["sigma"]
        sigma = sigma.view(sigma.shape[:1] + (1,) * (cond.ndim - 1))
        x_orig = args["input"]
        x = x_orig / (sigma * sigma + 1.0)
        cond = ((x - (x_orig - cond)) * (sigma ** 2 + 1.0) ** 0.5) / sigma
        uncond = ((x - (x_orig - uncond)) * (sigma ** 2 + 1.0) ** 0.5) / sigma
        x_cfg = uncond + scale * (cond - uncond)
        std_pos = torch.std(cond, dim=(1, 2, 3), keepdim=True)
        std_cfg = torch.std(x_cfg, dim=(1, 2, 3), keepdim=True)
        x_final = self.multiplier * (x_cfg * (std_pos / std_cfg)) + (1.0 - self.multiplier) * x_cfg
        return x_orig - (x - x_final * sigma / (sigma * sigma + 1.0) ** 0.5)  # type: ignore[no-any-return]


def optimized_scale(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """CFG-Zero*'s s* = ⟨positive, negative⟩ / ‖negative‖² per batch item, shaped to broadcast."""
    p = positive.reshape(positive.shape[0], -1)
    n = negative.reshape(negative.shape[0], -1)
    st = (p * n).sum(dim=1, keepdim=True) / ((n ** 2).sum(dim=1, keepdim=True) + 1e-8)
    return st.reshape([positive.shape[0]] + [1] * (positive.ndim - 1))


class CFGZeroStar:
    """sampler_post_cfg_function: the negative prediction scaled by s*, the projection of the positive
    noise (x − cond) on the negative noise (x − uncond) — CFG-Zero*'s optimised scale."""

    node_name = "CFGZeroStar"

    def __call__(self, args: Args) -> torch.Tensor:
        x, cond_p, uncond_p = args["input"], args["cond_denoised"], args["uncond_denoised"]
        alpha = optimized_scale(x - cond_p, x - uncond_p)
        return args["denoised"] + uncond_p * (alpha - 1.0) + args["cond_scale"] * uncond_p * (1.0 - alpha)  # type: ignore[no-any-return]


class CFGNorm:
    """sampler_post_cfg_function of CFGNorm: the guided prediction scaled down to the positive prediction's
    norm over the channels (never up), times ``strength``."""

    node_name = "CFGNorm"

    def __init__(self, strength: float) -> None:
        self.strength = strength

    def __call__(self, args: Args) -> torch.Tensor:
        cond, guided = args["cond_denoised"], args["denoised"]
        ratio = torch.norm(cond, dim=1, keepdim=True) / (torch.norm(guided, dim=1, keepdim=True) + 1e-8)
        scale = ratio.clamp(0.0, 1.0)
        out = guided * scale * self.strength
        if self.strength > 1.0 and not torch.isfinite(out).all():
            raise RuntimeError(f"CFGNorm: strength={self.strength} made the denoised prediction non-finite; values "
                               "above 1.0 amplify the prediction at every step")
        return out  # type: ignore[no-any-return]


class CFGNormPre:
    """sampler_cfg_function of CFGNorm with ``pre_cfg``: the combined noise uncond + s·(cond − uncond) rescaled
    to the positive noise's norm over the channels (no clamp), blended with plain CFG by ``strength``."""

    node_name = "CFGNorm"

    def __init__(self, strength: float) -> None:
        self.strength = strength

    def __call__(self, args: Args) -> torch.Tensor:
        cond, uncond = args["cond"], args["uncond"]
        combined = uncond + args["cond_scale"] * (cond - uncond)
        cond_norm = torch.linalg.vector_norm(cond, dim=1, keepdim=True)
        combined_norm = torch.linalg.vector_norm(combined, dim=1, keepdim=True)
        rescale = torch.where(combined_norm > 0, cond_norm / combined_norm.clamp_min(1e-12),
                              torch.ones_like(combined_norm))
        rescaled = combined * rescale
        if self.strength != 1.0:
            rescaled = self.strength * rescaled + (1.0 - self.strength) * combined
        return rescaled  # type: ignore[no-any-return]


def project(v0: torch.Tensor, v1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """v0's components parallel and orthogonal to v1 (over the last three dims, per batch item)."""
    v1 = F.normalize(v1, dim=[-1, -2, -3])  # type: ignore[arg-type]  # several dims, as ComfyUI
    parallel = (v0 * v1).sum(dim=[-1, -2, -3], keepdim=True) * v1
    return parallel, v0 - parallel


class APG:
    """sampler_pre_cfg_function of Adaptive Projected Guidance (Sadat et al.): the guidance cond − uncond
    (optionally a running average with ``momentum``, its norm capped at ``norm_threshold``) is split into
    its parts parallel and orthogonal to the positive prediction, the parallel part scaled by ``eta``; the
    positive is replaced so that the CFG that follows gives ComfyUI's APG result."""

    node_name = "APG"

    def __init__(self, eta: float, norm_threshold: float, momentum: float) -> None:
        self.eta, self.norm_threshold, self.momentum = eta, norm_threshold, momentum
        self.running: torch.Tensor | None = None
        self.prev_sigma: float | None = None

    def __call__(self, args: Args) -> list[torch.Tensor]:
        out: list[torch.Tensor] = args["conds_out"]
        if len(out) == 1:
            return out
        cond, uncond = out[0], out[1]
        sigma = float(args["sigma"][0])
        scale = args["cond_scale"]
        if self.prev_sigma is not None and sigma > self.prev_sigma:  # a new run: forget the average
            self.running = None
        self.prev_sigma = sigma
        guidance = cond - uncond
        if self.momentum != 0:
            self.running = guidance if self.running is None else self.momentum * self.running + guidance
            guidance = self.running
        if self.norm_threshold > 0:
            norm = guidance.norm(p=2, dim=[-1, -2, -3], keepdim=True)
            guidance = guidance * torch.minimum(torch.ones_like(norm), self.norm_threshold / norm)
        parallel, orthogonal = project(guidance, cond)
        modified = orthogonal + self.eta * parallel
        return [(uncond + modified) + (cond - uncond) / scale, uncond, *out[2:]]


class LatentOperationCFG:
    """sampler_pre_cfg_function of LatentApplyOperationCFG: a LATENT_OPERATION on the guidance
    (cond − uncond) before CFG, or on the positive alone when there is no negative."""

    node_name = "LatentApplyOperationCFG"

    def __init__(self, operation: Any) -> None:
        self.operation = operation

    def __call__(self, args: Args) -> list[torch.Tensor]:
        out: list[torch.Tensor] = args["conds_out"]
        if len(out) == 2:
            out[0] = self.operation(latent=(out[0] - out[1])) + out[1]
        else:
            out[0] = self.operation(latent=out[0])
        return out


# -- attention guidance -----------------------------------------------------------------------------

def perturbed_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: Args,
                        mask: torch.Tensor | None = None) -> torch.Tensor:
    """PAG's attention replacement: an identity attention map (each token gets its own value)."""
    return v


class PerturbedAttentionGuidance:
    """sampler_post_cfg_function of PAG (Ahn et al.): the positive prediction is run again with the middle
    block's self-attention replaced by identity; the result moves away from that by ``scale``."""

    node_name = "PerturbedAttentionGuidance"

    def __init__(self, scale: float) -> None:
        self.scale = scale
        self.requires_patches = frozenset({"attn1"}) if scale != 0 else frozenset()

    def __call__(self, args: Args) -> torch.Tensor:
        from ..guidance import calc_cond_batch

        result: torch.Tensor = args["denoised"]
        if self.scale == 0:
            return result
        options = set_model_options_patch_replace(dict(args["model_options"]), perturbed_attention, "attn1",
                                                  "middle", 0)
        pag: torch.Tensor = calc_cond_batch(args["model"], [args["cond"]], args["input"], args["sigma"], options)[0]
        cond_denoised: torch.Tensor = args["cond_denoised"]
        return result + (cond_denoised - pag) * self.scale


def gaussian_blur_2d(img: torch.Tensor, kernel_size: int, sigma: float) -> torch.Tensor:
    half = (kernel_size - 1) * 0.5
    x = torch.linspace(-half, half, steps=kernel_size)
    pdf = torch.exp(-0.5 * (x / sigma).pow(2))
    kernel = (pdf / pdf.sum()).to(device=img.device, dtype=img.dtype)
    kernel2d = torch.mm(kernel[:, None], kernel[None, :]).expand(img.shape[-3], 1, kernel_size, kernel_size)
    pad = kernel_size // 2
    return F.conv2d(F.pad(img, [pad, pad, pad, pad], mode="reflect"), kernel2d, groups=img.shape[-3])


def create_blur_map(x0: torch.Tensor, scores: torch.Tensor, sigma: float, threshold: float = 1.0) -> torch.Tensor:
    """SAG's degraded image: ``x0`` blurred where the middle block's self-attention concentrates (keys
    whose total received attention, averaged over heads, exceeds ``threshold``)."""
    _, hw1, hw2 = scores.shape
    b, _, lh, lw = x0.shape
    attn = scores.reshape(b, -1, hw1, hw2)
    mask = attn.mean(1, keepdim=False).sum(1, keepdim=False) > threshold
    ratio = 2 ** (math.ceil(math.sqrt(lh * lw / hw1)) - 1).bit_length()
    mid = [math.ceil(lh / ratio), math.ceil(lw / ratio)]
    mask = F.interpolate(mask.reshape(b, *mid).unsqueeze(1).type(attn.dtype), (lh, lw))
    blurred = gaussian_blur_2d(x0, kernel_size=9, sigma=sigma)
    return blurred * mask + x0 * (1 - mask)


class SelfAttentionGuidance:
    """SAG (Hong et al.): the middle block's first self-attention records its map on the negative pass
    (an ``attn1`` replacement); after CFG, the negative prediction is blurred where that map looks, the
    network is run on it again, and the result moves away from that by ``scale``."""

    node_name = "SelfAttentionGuidance"
    requires_patches = frozenset({"attn1"})

    def __init__(self, scale: float, blur_sigma: float) -> None:
        self.scale, self.blur_sigma = scale, blur_sigma
        self.scores: torch.Tensor | None = None

    def attn1_replace(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, extra_options: Args) -> torch.Tensor:
        heads = extra_options["n_heads"]
        cond_or_uncond = extra_options["cond_or_uncond"]
        if 1 not in cond_or_uncond:
            return attention(q, k, v, heads)
        b = q.shape[0] // len(cond_or_uncond)
        out, scores = attention_with_scores(q, k, v, heads)
        slices = heads * b
        index = cond_or_uncond.index(1)
        self.scores = scores[slices * index:slices * (index + 1)]
        return out

    def __call__(self, args: Args) -> torch.Tensor:
        from ..guidance import calc_cond_batch

        result: torch.Tensor = args["denoised"]
        scores, uncond = self.scores, args["uncond"]
        if min(result.shape[2:]) <= 4 or scores is None or uncond is None:  # too small to pad for the blur
            return result
        uncond_pred: torch.Tensor = args["uncond_denoised"]
        x: torch.Tensor = args["input"]
        degraded = create_blur_map(uncond_pred, scores, self.blur_sigma)
        sag: torch.Tensor = calc_cond_batch(args["model"], [uncond], degraded + x - uncond_pred, args["sigma"],
                                            args["model_options"])[0]
        return result + (degraded - sag) * self.scale
