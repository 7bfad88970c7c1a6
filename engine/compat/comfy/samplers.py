"""``comfy.samplers``, as far as packs need it while they load: the sampler and scheduler name lists
(``KSampler.SAMPLERS`` / ``SCHEDULERS``, which packs put in their combos and extend at import time), from
Inkgraph's own list of ComfyUI's samplers. The sampler objects, guiders and sampling functions belong to
the model facades; until they exist they are stand-ins, and so is ``KSampler(...)`` itself."""

from __future__ import annotations

from typing import Any

from ..stubs import comfy_attribute, stand_in


def _names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from inkgraph.nodes.diffusion.names import SAMPLER_NAMES as SAMPLERS
    from inkgraph.nodes.diffusion.names import SCHEDULER_NAMES as SCHEDULERS

    return SAMPLERS, SCHEDULERS


_SAMPLERS, _SCHEDULERS = _names()
SAMPLER_NAMES: list[str] = list(_SAMPLERS)
KSAMPLER_NAMES: list[str] = [name for name in _SAMPLERS if name not in ("ddim", "uni_pc", "uni_pc_bh2")]
SCHEDULER_NAMES: list[str] = list(_SCHEDULERS)


class KSampler(stand_in("comfy.samplers.KSampler")):  # type: ignore[misc]
    """ComfyUI's KSampler: its name lists are real; making one samples, which needs the model facades."""

    SAMPLERS = SAMPLER_NAMES
    SCHEDULERS = SCHEDULER_NAMES
    DISCARD_PENULTIMATE_SIGMA_SAMPLERS = {"dpm_2", "dpm_2_ancestral", "uni_pc", "uni_pc_bh2"}


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.samplers", name)
