"""``comfy.model_sampling`` for ComfyUI packs: Inkgraph's model sampling classes under ComfyUI's constructors.

Inkgraph's samplers already use ComfyUI's names and methods (``nodes/diffusion/model_sampling.py``); the
prediction classes (``EPS``, ``V_PREDICTION``, ``CONST`` …) are the very same classes here, so a pack's
``class ModelSamplingAdvanced(ModelSamplingDiscreteFlow, CONST)`` is recognised as a flow model by every
sampler. The schedule classes take ComfyUI's constructor, ``(model_config=None, zsnr=None)``, reading
``model_config.sampling_settings`` (``model.model.model_config`` of a MODEL gives the model's own), and keep
``set_parameters`` as in ComfyUI.
"""

from __future__ import annotations

from typing import Any

from inkgraph.nodes.diffusion import model_sampling as _ms
from inkgraph.nodes.diffusion.model_sampling import (
    CONST,
    COSMOS_RFLOW,
    EDM,
    EPS,
    IMG_TO_IMG,
    V_PREDICTION,
    X0,
    flux_time_shift,
    make_beta_schedule,
    rescale_zero_terminal_snr_sigmas,
    reshape_sigma,
    time_snr_shift,
)

from ..stubs import comfy_attribute

__all__ = ["CONST", "COSMOS_RFLOW", "EDM", "EPS", "IMG_TO_IMG", "V_PREDICTION", "X0",
           "ModelSamplingContinuousEDM", "ModelSamplingContinuousV", "ModelSamplingDiscrete",
           "ModelSamplingDiscreteFlow", "ModelSamplingFlux", "flux_time_shift", "make_beta_schedule",
           "rescale_zero_terminal_snr_sigmas", "reshape_sigma", "time_snr_shift"]


def _settings(model_config: Any) -> dict[str, Any]:
    return dict(getattr(model_config, "sampling_settings", None) or {}) if model_config is not None else {}


class ModelSamplingDiscrete(_ms.ModelSamplingDiscrete):  # type: ignore[misc]
    """SD's discrete schedule from ``sampling_settings`` (beta_schedule, linear_start/end, timesteps, zsnr)."""

    def __init__(self, model_config: Any = None, zsnr: bool | None = None) -> None:
        s = _settings(model_config)
        super().__init__(s.get("beta_schedule", "linear"), s.get("linear_start", 0.00085), s.get("linear_end", 0.012),
                         s.get("timesteps", 1000), bool(s.get("zsnr", False) if zsnr is None else zsnr))


class ModelSamplingContinuousEDM(_ms.ModelSamplingContinuousEDM):  # type: ignore[misc]
    def __init__(self, model_config: Any = None) -> None:
        s = _settings(model_config)
        super().__init__(s.get("sigma_min", 0.002), s.get("sigma_max", 120.0), s.get("sigma_data", 1.0))


class ModelSamplingContinuousV(_ms.ModelSamplingContinuousV):  # type: ignore[misc]
    def __init__(self, model_config: Any = None) -> None:
        s = _settings(model_config)
        super().__init__(s.get("sigma_min", 0.002), s.get("sigma_max", 120.0), s.get("sigma_data", 1.0))


class ModelSamplingDiscreteFlow(_ms.ModelSamplingDiscreteFlow):  # type: ignore[misc]
    def __init__(self, model_config: Any = None) -> None:
        s = _settings(model_config)
        super().__init__(s.get("shift", 1.0), s.get("multiplier", 1000))


class ModelSamplingFlux(_ms.ModelSamplingFlux):  # type: ignore[misc]
    def __init__(self, model_config: Any = None) -> None:
        super().__init__(_settings(model_config).get("shift", 1.15))


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.model_sampling", name)
