"""``comfy.model_base`` for ComfyUI packs: ``ModelType``, and the object a ``ModelPatcher``'s ``.model`` is.

In ComfyUI, ``patcher.model`` is a ``BaseModel`` (a torch module holding the network, its latent format, its
model sampling and its config). Packs read it for those: ``model.model.latent_format``,
``model.model.model_sampling``, ``model.model.model_type``, ``model.model.process_latent_out(x)``,
``model.model.model_config.unet_config`` / ``sampling_settings``, ``model.model.diffusion_model``.
:class:`ModelFacade` answers them from the MODEL handle's family; what it cannot give (running the network
outside a sampler, ComfyUI's conditioning hooks) raises an error naming the ComfyUI attribute.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from ..stubs import UnavailableAttribute, comfy_attribute


class ModelType(Enum):
    """ComfyUI's prediction/schedule kinds (``comfy.model_base.ModelType``)."""

    EPS = 1
    V_PREDICTION = 2
    V_PREDICTION_EDM = 3
    STABLE_CASCADE = 4
    EDM = 5
    FLOW = 6
    V_PREDICTION_CONTINUOUS = 7
    FLUX = 8
    IMG_TO_IMG = 9
    FLOW_COSMOS = 10


def model_type_of(model_sampling: Any) -> ModelType:
    """The ModelType a model sampling object corresponds to (schedule × prediction, as ComfyUI pairs them)."""
    from inkgraph.nodes.diffusion import model_sampling as ms

    if isinstance(model_sampling, ms.CONST):
        return ModelType.FLUX if isinstance(model_sampling, ms.ModelSamplingFlux) else ModelType.FLOW
    if isinstance(model_sampling, ms.EDM):
        return ModelType.EDM
    if isinstance(model_sampling, ms.V_PREDICTION):
        if isinstance(model_sampling, ms.ModelSamplingContinuousEDM):
            return ModelType.V_PREDICTION_EDM
        if isinstance(model_sampling, ms.ModelSamplingContinuousV):
            return ModelType.V_PREDICTION_CONTINUOUS
        return ModelType.V_PREDICTION
    return ModelType.EPS


def sampling_settings(model_sampling: Any) -> dict[str, Any]:
    """ComfyUI's ``model_config.sampling_settings`` read back from a model sampling object, so a pack that
    builds its own (``ModelSamplingDiscreteFlow(model.model.model_config)``) starts from the model's."""
    from inkgraph.nodes.diffusion import model_sampling as ms

    if isinstance(model_sampling, ms.ModelSamplingDiscrete):
        return {"beta_schedule": "linear", "linear_start": model_sampling.linear_start,
                "linear_end": model_sampling.linear_end, "timesteps": model_sampling.num_timesteps,
                "zsnr": model_sampling.zsnr}
    if isinstance(model_sampling, ms.ModelSamplingDiscreteFlow):
        return {"shift": model_sampling.shift, "multiplier": model_sampling.multiplier}
    if isinstance(model_sampling, ms.ModelSamplingFlux):
        return {"shift": model_sampling.shift}
    if isinstance(model_sampling, ms.ModelSamplingContinuousEDM):
        return {"sigma_min": float(model_sampling.sigma_min), "sigma_max": float(model_sampling.sigma_max),
                "sigma_data": model_sampling.sigma_data}
    return {}


class ModelConfig:
    """ComfyUI's ``supported_models_base.BASE`` as far as packs read it from ``model.model.model_config``."""

    def __init__(self, family: Any, model_sampling: Any, latent_format: Any) -> None:
        detected = getattr(family, "detected", None)
        configs = getattr(family, "configs", None) or {}
        self.unet_config: dict[str, Any] = dict(detected.config if detected is not None else configs.get("unet", {}))
        self.unet_extra_config: dict[str, Any] = {}
        self.sampling_settings = sampling_settings(model_sampling)
        self.latent_format = latent_format
        self.manual_cast_dtype = None
        self.custom_operations = None
        self.scaled_fp8 = None
        self.optimizations: dict[str, Any] = {}
        self.memory_usage_factor = 2.0
        self.name = str(getattr(family, "kind", ""))

    def __repr__(self) -> str:
        return f"<ModelConfig of a {self.name} model>"


class ModelFacade:
    """``ModelPatcher.model``: ComfyUI's BaseModel as packs read it, answered from the patcher's handle."""

    def __init__(self, patcher: Any) -> None:
        self._patcher = patcher

    @property
    def model_sampling(self) -> Any:
        return self._patcher.get_model_object("model_sampling")

    @property
    def latent_format(self) -> Any:
        return self._patcher.get_model_object("latent_format")

    @property
    def model_type(self) -> ModelType:
        return model_type_of(self.model_sampling)

    @property
    def model_config(self) -> ModelConfig:
        return ModelConfig(self._patcher.handle().family, self.model_sampling, self.latent_format)

    @property
    def diffusion_model(self) -> Any:
        """The network itself (loaded by the model manager; read it, never patch it in place)."""
        with self._patcher.handle().use() as module:
            return module

    @property
    def device(self) -> Any:
        return self._patcher.load_device

    @property
    def manual_cast_dtype(self) -> Any:
        return None

    def get_dtype(self) -> Any:
        return self._patcher.model_dtype()

    def process_latent_in(self, latent: Any) -> Any:
        return self.latent_format.process_in(latent)

    def process_latent_out(self, latent: Any) -> Any:
        return self.latent_format.process_out(latent)

    def memory_required(self, input_shape: Any, cond_shapes: Any = None) -> int:
        return 0

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise UnavailableAttribute(f"ComfyUI's comfy.model_base.BaseModel.{name} is not available in Inkgraph "
                                   "yet (a node read it from a MODEL); Inkgraph's models are diffusers modules driven "
                                   "by its own sampler")


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.model_base", name)
