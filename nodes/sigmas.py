"""SIGMAS: noise schedules as values (ComfyUI's scheduler and sigma nodes of custom sampling).

A SIGMAS value is a 1-D float32 tensor of decreasing noise levels, normally ending at 0; a sampler takes
len − 1 steps along it. Schedules that depend on the model read its model sampling, so they follow
ModelSampling* nodes (flow shift and all).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Combo, Float, Int, Model, Output, Socket, String, node

from .diffusion.names import SCHEDULER_NAMES

Sigmas = Annotated[Any, Socket(type="SIGMAS")]
Steps = Annotated[int, Int(min=1, max=10000)]
SigmaMax = Annotated[float, Float(min=0.0, max=5000.0, step=0.01, round=False)]
Knob = Annotated[float, Float(min=0.0, max=100.0, step=0.01, round=False)]
SCHEDULERS = "sampling/custom_sampling/schedulers"
SIGMA_TOOLS = "sampling/custom_sampling/sigmas"
DEFAULT_MAX, DEFAULT_MIN = 14.614642, 0.0291675  # SD1.5's σ range


def _model_sampling(model: Any) -> Any:
    from .diffusion.model_api import model_sampling_of

    return model_sampling_of(model)


@node(category=SCHEDULERS)
def BasicScheduler(model: Model, scheduler: Annotated[str, Combo(options=SCHEDULER_NAMES)], steps: Steps = 20,
                   denoise: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0) -> Sigmas:
    """The named schedule for the model; denoise < 1 keeps the low end of a longer schedule (img2img)."""
    from .diffusion.schedules import basic_scheduler

    return basic_scheduler(_model_sampling(model), scheduler, steps, denoise).cpu()


@node(category=SCHEDULERS)
def KarrasScheduler(steps: Steps = 20, sigma_max: SigmaMax = DEFAULT_MAX, sigma_min: SigmaMax = DEFAULT_MIN,
                    rho: Knob = 7.0) -> Sigmas:
    """Karras et al.'s schedule: σ evenly spaced in σ^(1/ρ)."""
    from .diffusion.schedules import karras_schedule

    return karras_schedule(steps, sigma_min, sigma_max, rho)


@node(category=SCHEDULERS)
def ExponentialScheduler(steps: Steps = 20, sigma_max: SigmaMax = DEFAULT_MAX,
                         sigma_min: SigmaMax = DEFAULT_MIN) -> Sigmas:
    """σ evenly spaced in log σ."""
    from .diffusion.schedules import exponential_schedule

    return exponential_schedule(steps, sigma_min, sigma_max)


@node(category=SCHEDULERS)
def PolyexponentialScheduler(steps: Steps = 20, sigma_max: SigmaMax = DEFAULT_MAX, sigma_min: SigmaMax = DEFAULT_MIN,
                             rho: Knob = 1.0) -> Sigmas:
    """log σ along a polynomial of degree ρ (ρ = 1: exponential)."""
    from .diffusion.schedules import polyexponential_schedule

    return polyexponential_schedule(steps, sigma_min, sigma_max, rho)


@node(category=SCHEDULERS)
def LaplaceScheduler(steps: Steps = 20, sigma_max: SigmaMax = DEFAULT_MAX, sigma_min: SigmaMax = DEFAULT_MIN,
                     mu: Annotated[float, Float(min=-10.0, max=10.0, step=0.1, round=False)] = 0.0,
                     beta: Annotated[float, Float(min=0.0, max=10.0, step=0.1, round=False)] = 0.5) -> Sigmas:
    """log σ Laplace-distributed around μ (dense in the middle of the range)."""
    from .diffusion.schedules import laplace_schedule

    return laplace_schedule(steps, sigma_min, sigma_max, mu, beta)


@node(category=SCHEDULERS)
def VPScheduler(steps: Steps = 20, beta_d: SigmaMax = 19.9,
                beta_min: SigmaMax = 0.1,
                eps_s: Annotated[float, Float(min=0.0, max=1.0, step=0.0001, round=False)] = 0.001) -> Sigmas:
    """The continuous variance-preserving schedule."""
    from .diffusion.schedules import vp_schedule

    return vp_schedule(steps, beta_d, beta_min, eps_s)


@node(category=SCHEDULERS)
def BetaSamplingScheduler(model: Model, steps: Steps = 20,
                          alpha: Annotated[float, Float(min=0.0, max=50.0, step=0.01, round=False)] = 0.6,
                          beta: Annotated[float, Float(min=0.0, max=50.0, step=0.01, round=False)] = 0.6) -> Sigmas:
    """Timesteps at the quantiles of Beta(α, β) over the model's training steps."""
    from .diffusion.schedules import beta_schedule

    return beta_schedule(_model_sampling(model), steps, alpha, beta)


@node(category=SCHEDULERS)
def SDTurboScheduler(model: Model, steps: Annotated[int, Int(min=1, max=10)] = 1,
                     denoise: Annotated[float, Float(min=0, max=1.0, step=0.01)] = 1.0) -> Sigmas:
    """SD/SDXL Turbo's timesteps 999, 899 … (denoise starts further down)."""
    from .diffusion.schedules import sd_turbo_schedule

    return sd_turbo_schedule(_model_sampling(model), steps, denoise)


HighLow = tuple[Annotated[Any, Socket(type="SIGMAS"), Output("high_sigmas")],
                Annotated[Any, Socket(type="SIGMAS"), Output("low_sigmas")]]


@node(category=SIGMA_TOOLS)
def SplitSigmas(sigmas: Sigmas, step: Annotated[int, Int(min=0, max=10000)] = 0) -> HighLow:
    """The schedule up to ``step`` and from it (both share that σ), to sample in two stages."""
    return sigmas[:step + 1], sigmas[step:]


@node(category=SIGMA_TOOLS)
def SplitSigmasDenoise(sigmas: Sigmas, denoise: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0
                       ) -> HighLow:
    """Splits so that the low part has round(steps·denoise) steps (as ComfyUI, denoise 0 leaves the high
    part empty)."""
    steps = max(sigmas.shape[-1] - 1, 0)
    total = round(steps * denoise)
    return sigmas[:-total], sigmas[-(total + 1):]


@node(category=SIGMA_TOOLS)
def FlipSigmas(sigmas: Sigmas) -> Sigmas:
    """Reverses the schedule (noising instead of denoising); a leading 0 becomes 0.0001."""
    if len(sigmas) == 0:
        return sigmas
    flipped = sigmas.flip(0)
    if flipped[0] == 0:
        flipped[0] = 0.0001
    return flipped


@node(category=SIGMA_TOOLS)
def SetFirstSigma(sigmas: Sigmas,
                  sigma: Annotated[float, Float(min=0.0, max=20000.0, step=0.001, round=False)] = 136.0) -> Sigmas:
    """Replaces the first σ."""
    out = sigmas.clone()
    out[0] = sigma
    return out


@node(category=SIGMA_TOOLS)
def ExtendIntermediateSigmas(
    sigmas: Sigmas,
    steps: Annotated[int, Int(min=1, max=100)] = 2,
    start_at_sigma: Annotated[float, Float(min=-1.0, max=20000.0, step=0.01, round=False)] = -1.0,
    end_at_sigma: Annotated[float, Float(min=0.0, max=20000.0, step=0.01, round=False)] = 12.0,
    *,
    spacing: Literal["linear", "cosine", "sine"],
) -> Sigmas:
    """Inserts steps − 1 sigmas between neighbours whose σ lies in [end_at_sigma, start_at_sigma]
    (start −1: no upper bound)."""
    import torch

    upper = float("inf") if start_at_sigma < 0 else start_at_sigma
    ramp = torch.linspace(0, 1, steps + 1, device=sigmas.device)[1:-1]
    shaped = {"linear": ramp, "cosine": torch.sin(ramp * math.pi / 2), "sine": 1 - torch.cos(ramp * math.pi / 2)}
    spacing_values = shaped[spacing]
    extended: list[float] = []
    for i in range(len(sigmas) - 1):
        current, following = sigmas[i], sigmas[i + 1]
        extended.append(float(current))
        if end_at_sigma <= current <= upper:
            extended.extend((spacing_values * (following - current) + current).tolist())
    if len(sigmas) > 0:
        extended.append(float(sigmas[-1]))
    return torch.tensor(extended, dtype=torch.float32)


@node(category=SIGMA_TOOLS)
def SamplingPercentToSigma(
    model: Model,
    sampling_percent: Annotated[float, Float(min=0.0, max=1.0, step=0.0001)] = 0.0,
    return_actual_sigma: Annotated[bool, Boolean(tooltip=(
        "Return the actual sigma value instead of the value used for interval checks.\n"
        "This only affects results at 0.0 and 1.0."))] = False,
) -> Annotated[float, Output("sigma_value")]:
    """The σ at a fraction of sampling for the model (what timestep ranges compare with)."""
    model_sampling = _model_sampling(model)
    value = float(model_sampling.percent_to_sigma(sampling_percent))
    if return_actual_sigma:
        if sampling_percent == 0.0:
            value = float(model_sampling.sigma_max)
        elif sampling_percent == 1.0:
            value = float(model_sampling.sigma_min)
    return value


@node(category=SIGMA_TOOLS, experimental=True)
def ManualSigmas(sigmas: Annotated[str, String(multiline=False)] = "1, 0.5") -> Sigmas:
    """Sigmas typed as numbers (any separator)."""
    import torch

    return torch.tensor([float(v) for v in re.findall(r"[-+]?(?:\d*\.*\d+)", sigmas)], dtype=torch.float32)


@node(category=SCHEDULERS)
def AlignYourStepsScheduler(model_type: Literal["SD1", "SDXL", "SVD"],
                            steps: Annotated[int, Int(min=1, max=10000)] = 10,
                            denoise: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0) -> Sigmas:
    """NVIDIA's Align Your Steps schedule for the model type (its 10-step table, log-linearly stretched to
    other step counts)."""
    from .diffusion.step_tables import ALIGN_YOUR_STEPS, table_schedule

    return table_schedule(ALIGN_YOUR_STEPS[model_type], steps, denoise)


@node(category=SCHEDULERS)
def OptimalStepsScheduler(model_type: Literal["FLUX", "Wan", "Chroma"],
                          steps: Annotated[int, Int(min=3, max=1000)] = 20,
                          denoise: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0) -> Sigmas:
    """The OptimalSteps schedule searched for the model type (a table, log-linearly stretched to other step
    counts)."""
    from .diffusion.step_tables import OPTIMAL_STEPS, table_schedule

    return table_schedule(OPTIMAL_STEPS[model_type], steps, denoise)


NODES = [BasicScheduler, KarrasScheduler, ExponentialScheduler, PolyexponentialScheduler, LaplaceScheduler,
         VPScheduler, BetaSamplingScheduler, SDTurboScheduler, SplitSigmas, SplitSigmasDenoise, FlipSigmas,
         SetFirstSigma, ExtendIntermediateSigmas, SamplingPercentToSigma, ManualSigmas, AlignYourStepsScheduler,
         OptimalStepsScheduler]
