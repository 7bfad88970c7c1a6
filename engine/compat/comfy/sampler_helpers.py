"""``comfy.sampler_helpers`` for node packs: ComfyUI's conditioning and mask helpers.

Inkgraph's sampler prepares conditioning itself (``conds.prepare``), so the model-loading helpers here have
nothing to load: ``get_additional_models`` lists none and ``prepare_sampling`` hands the model back.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..stubs import comfy_attribute


def convert_cond(cond: list[Any]) -> list[dict[str, Any]]:
    """CONDITIONING entries as ComfyUI's sampler dicts (``cross_attn``, ``model_conds``, ``uuid`` and the options)."""
    out = []
    for tensor, options in cond:
        entry = dict(options)
        entry.setdefault("model_conds", {})
        if tensor is not None:
            entry["cross_attn"] = tensor
        entry["uuid"] = uuid.uuid4()
        out.append(entry)
    return out


def prepare_mask(noise_mask: Any, shape: Any, device: Any) -> Any:
    from .utils import reshape_mask

    return reshape_mask(noise_mask, shape).to(device)


def get_models_from_cond(cond: list[Any], model_type: str) -> list[Any]:
    models: list[Any] = []
    for entry in cond:
        found = entry.get(model_type) if isinstance(entry, dict) else None
        if found is not None:
            models += found if isinstance(found, list) else [found]
    return models


def get_additional_models(conds: dict[str, Any], dtype: Any) -> tuple[list[Any], int]:
    return [], 0


def cleanup_additional_models(models: Any) -> None:
    return None


def prepare_sampling(model: Any, noise_shape: Any, conds: Any, model_options: Any = None) -> tuple[Any, Any, list[Any]]:
    return model, conds, []


def cleanup_models(conds: Any, models: Any) -> None:
    return None


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.sampler_helpers", name)
