"""``comfy_extras.nodes_custom_sampler`` for node packs: ComfyUI's NOISE and GUIDER helper classes, and the
custom-sampling nodes (SamplerCustom, KSamplerSelect, BasicScheduler …) as Inkgraph's built-in nodes.

``Noise_RandomNoise(seed)`` / ``Noise_EmptyNoise()`` are the NOISE values RandomNoise / DisableNoise give;
``Guider_Basic`` and ``Guider_DualCFG`` are ``comfy.samplers.CFGGuider`` subclasses that become the built-in
BasicGuider and DualCFGGuider when sampled.
"""

from __future__ import annotations

from typing import Any

from inkgraph.nodes.diffusion.ksampler import EmptyNoise, SeededNoise

from ..comfy.samplers import CFGGuider
from ..node_helpers import conditioning_set_values
from ..stubs import _builtin_node, comfy_attribute


class Noise_RandomNoise(SeededNoise):  # type: ignore[misc]  # noqa: N801 - ComfyUI's name
    """Noise drawn on the CPU from ``seed`` (ComfyUI's ``comfy.sample.prepare_noise``)."""


class Noise_EmptyNoise(EmptyNoise):  # type: ignore[misc]  # noqa: N801 - ComfyUI's name
    """No noise."""

    def __init__(self) -> None:
        self.seed = 0


class Guider_Basic(CFGGuider):  # noqa: N801 - ComfyUI's name
    def set_conds(self, positive: Any) -> None:  # type: ignore[override]
        self.inner_set_conds({"positive": positive})


class Guider_DualCFG(CFGGuider):  # noqa: N801 - ComfyUI's name
    def set_cfg(self, cfg1: float, cfg2: float, nested: bool = False) -> None:  # type: ignore[override]
        self.cfg1, self.cfg2, self.nested = cfg1, cfg2, nested

    def set_conds(self, positive: Any, middle: Any, negative: Any) -> None:  # type: ignore[override]
        middle = conditioning_set_values(middle, {"prompt_type": "negative"})
        self.inner_set_conds({"positive": positive, "middle": middle, "negative": negative})

    def __inkgraph_value__(self) -> Any:
        from inkgraph.nodes.diffusion.guidance import DualCFGGuider

        from ..values import to_inkgraph

        conds = {k: to_inkgraph(v) for k, v in self.original_conds.items()}
        return DualCFGGuider(to_inkgraph(self.model_patcher), conds.get("positive", []), conds.get("middle", []),
                             conds.get("negative", []), self.cfg1, self.cfg2, self.nested)


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_extras.nodes_custom_sampler", name, _builtin_node)
