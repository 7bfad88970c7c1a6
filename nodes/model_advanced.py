"""ModelSampling* nodes: how a MODEL reads noise levels (prediction type and schedule), as ComfyUI's
nodes_model_advanced. Each returns the same weights with a different model sampling (see
``nodes.diffusion.model_sampling``); the samplers, schedulers and conditioning time ranges all use it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Float, Int, Model, node

from . import MAX_RESOLUTION

Shift = Annotated[float, Float(min=0.0, max=100.0, step=0.01)]
SigmaRange = Annotated[float, Float(min=0.0, max=1000.0, step=0.001, round=False)]


def _with(model: Any, model_sampling: Any) -> Any:
    return replace(model, sampling_override=model_sampling)


def _flow(model: Any, shift: float, multiplier: float) -> Any:
    """SD3-style flow sampling, keeping the noise scale the model had (as ComfyUI)."""
    from .diffusion import model_sampling as ms
    from .diffusion.model_api import model_sampling_of

    noise_scale = getattr(model_sampling_of(model), "noise_scale", 1.0)
    return _with(model, ms.combine(ms.ModelSamplingDiscreteFlow, ms.CONST, shift=shift, multiplier=multiplier,
                                   noise_scale=noise_scale))


@node(display_name="ModelSamplingDiscrete", category="advanced/model")
def ModelSamplingDiscrete(model: Model, *, sampling: Literal["eps", "v_prediction", "lcm", "x0", "img_to_img"],
                          zsnr: Annotated[bool, Boolean()] = False) -> Model:
    """Stable Diffusion's 1,000-step schedule with a chosen prediction type (zsnr: zero terminal SNR)."""
    from .diffusion import model_sampling as ms

    if sampling == "lcm":
        return _with(model, ms.combine(ms.ModelSamplingDiscreteDistilled, ms.LCM, zsnr=zsnr))
    kinds = {"eps": ms.EPS, "v_prediction": ms.V_PREDICTION, "x0": ms.X0, "img_to_img": ms.IMG_TO_IMG}
    return _with(model, ms.combine(ms.ModelSamplingDiscrete, kinds[sampling], zsnr=zsnr))


@node(display_name="ModelSamplingSD3", category="advanced/model")
def ModelSamplingSD3(model: Model, shift: Shift = 3.0) -> Model:
    """Rectified flow with SD3's time shift: σ = shift·t / (1 + (shift − 1)·t), network time 1000·t."""
    return _flow(model, shift, 1000)


@node(display_name="ModelSamplingAuraFlow", category="advanced/model")
def ModelSamplingAuraFlow(model: Model, shift: Shift = 1.73) -> Model:
    """Rectified flow with the SD3 time shift and network time t (AuraFlow, Lumina 2, Z-Image …)."""
    return _flow(model, shift, 1.0)


@node(display_name="ModelSamplingFlux", category="advanced/model")
def ModelSamplingFlux(
    model: Model,
    max_shift: Shift = 1.15,
    base_shift: Shift = 0.5,
    width: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=8)] = 1024,
    height: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=8)] = 1024,
) -> Model:
    """Flux's schedule with the shift for an image size: base_shift at 256², max_shift at 1024², linear in
    the pixel count between."""
    from .diffusion import model_sampling as ms

    shift = ms.flux_shift(width, height, max_shift, base_shift)
    return _with(model, ms.combine(ms.ModelSamplingFlux, ms.CONST, shift=shift))


@node(display_name="ModelSamplingContinuousEDM", category="advanced/model")
def ModelSamplingContinuousEDM(model: Model, *,
                               sampling: Literal["v_prediction", "edm", "edm_playground_v2.5", "eps", "cosmos_rflow"],
                               sigma_max: SigmaRange = 120.0, sigma_min: SigmaRange = 0.002) -> Model:
    """A continuous σ range (log-uniform, EDM time) with a chosen prediction type."""
    from .diffusion import model_sampling as ms

    if sampling == "edm_playground_v2.5":
        raise ValueError("ModelSamplingContinuousEDM: sampling 'edm_playground_v2.5' also changes the latent format "
                         "to Playground v2.5's, which Inkgraph's model layer does not provide yet; use 'edm'")
    if sampling == "cosmos_rflow":
        return _with(model, ms.combine(ms.ModelSamplingCosmosRFlow, ms.COSMOS_RFLOW, sigma_min, sigma_max, 1.0))
    kinds = {"eps": (ms.EPS, 1.0), "v_prediction": (ms.V_PREDICTION, 1.0), "edm": (ms.EDM, 0.5)}
    kind, sigma_data = kinds[sampling]
    return _with(model, ms.combine(ms.ModelSamplingContinuousEDM, kind, sigma_min, sigma_max, sigma_data))


@node(display_name="ModelSamplingContinuousV", category="advanced/model")
def ModelSamplingContinuousV(model: Model, *, sampling: Literal["v_prediction"],
                             sigma_max: SigmaRange = 500.0, sigma_min: SigmaRange = 0.03) -> Model:
    """Continuous v-prediction time (atan σ) over a σ range."""
    from .diffusion import model_sampling as ms

    return _with(model, ms.combine(ms.ModelSamplingContinuousV, ms.V_PREDICTION, sigma_min, sigma_max, 1.0))


NODES = [ModelSamplingDiscrete, ModelSamplingSD3, ModelSamplingAuraFlow, ModelSamplingFlux,
         ModelSamplingContinuousEDM, ModelSamplingContinuousV]
