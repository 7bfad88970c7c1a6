"""Skip Layer Guidance for DiT models (ComfyUI's ``comfy_extras/nodes_slg.py``): predictions made with some
transformer blocks skipped (a ``patches_replace["dit"]`` entry that returns its inputs, see ``dit_blocks``).

- :class:`SkipLayerGuidance` (SkipLayerGuidanceDiT), a post-CFG hook: within its σ range, the positive is run
  again with the blocks skipped and the CFG result moves away from that by ``scale`` (optionally rescaled
  towards the positive's standard deviation);
- :class:`SkipLayerUncond` (SkipLayerGuidanceDiTSimple), a calc_cond_batch function: within its σ range, the
  negative is predicted with the blocks skipped (the positive as usual), at no extra cost.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from .dit_blocks import DIT
from .options import set_model_options_patch_replace

Args = dict[str, Any]


def skip(args: Args, extra: Args) -> Args:
    """A block that does nothing: its inputs are its outputs."""
    return args


def layer_numbers(text: str) -> list[int]:
    """Every run of digits in ``text`` (ComfyUI reads "7, 8, 9" — or anything else — this way)."""
    return [int(n) for n in re.findall(r"\d+", text)]


def skipping_options(model_options: Args, double: list[int], single: list[int]) -> Args:
    """``model_options`` with the named double and single blocks skipped."""
    options = dict(model_options)
    for layer in double:
        options = set_model_options_patch_replace(options, skip, DIT, "double_block", layer)
    for layer in single:
        options = set_model_options_patch_replace(options, skip, DIT, "single_block", layer)
    return options


class SkipLayerGuidance:
    """sampler_post_cfg_function of SkipLayerGuidanceDiT."""

    node_name = "SkipLayerGuidanceDiT"
    requires_patches = frozenset({DIT})

    def __init__(self, double: list[int], single: list[int], scale: float, sigma_start: float, sigma_end: float,
                 rescaling_scale: float) -> None:
        self.double, self.single, self.scale = double, single, scale
        self.sigma_start, self.sigma_end, self.rescaling_scale = sigma_start, sigma_end, rescaling_scale

    def __call__(self, args: Args) -> torch.Tensor:
        from ..guidance import calc_cond_batch

        result: torch.Tensor = args["denoised"]
        sigma = float(args["sigma"][0])
        if self.scale > 0 and self.sigma_end < sigma <= self.sigma_start:
            options = skipping_options(args["model_options"], self.double, self.single)
            (skipped,) = calc_cond_batch(args["model"], [args["cond"]], args["input"], args["sigma"], options)
            cond_pred: torch.Tensor = args["cond_denoised"]
            result = result + (cond_pred - skipped) * self.scale
            if self.rescaling_scale != 0:
                factor = cond_pred.std() / result.std()
                result = result * (self.rescaling_scale * factor + (1 - self.rescaling_scale))
        return result


class SkipLayerUncond:
    """sampler_calc_cond_batch_function of SkipLayerGuidanceDiTSimple."""

    node_name = "SkipLayerGuidanceDiTSimple"
    requires_patches = frozenset({DIT})

    def __init__(self, double: list[int], single: list[int], sigma_start: float, sigma_end: float) -> None:
        self.double, self.single = double, single
        self.sigma_start, self.sigma_end = sigma_start, sigma_end

    def __call__(self, args: Args) -> list[torch.Tensor]:
        from ..guidance import calc_cond_batch

        x, model, conds = args["input"], args["model"], args["conds"]
        sigma, options = args["sigma"], args["model_options"]
        cond, uncond = conds
        if self.sigma_end < float(sigma[0]) <= self.sigma_start and uncond is not None:
            cond_out, _ = calc_cond_batch(model, [cond, None], x, sigma, options)
            _, uncond_out = calc_cond_batch(model, [None, uncond], x, sigma,
                                            skipping_options(options, self.double, self.single))
            return [cond_out, uncond_out]
        out: list[torch.Tensor] = calc_cond_batch(model, conds, x, sigma, options)
        return out
