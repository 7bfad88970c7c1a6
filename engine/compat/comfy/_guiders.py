"""ComfyUI's ``CFGGuider`` over Inkgraph's guiders (``guidance.Guider``), both ways.

A GUIDER made by a built-in node reaches a pack as a :class:`CFGGuider` that runs it unchanged. A guider a pack
makes — ``CFGGuider(model)`` with ``set_conds``/``set_cfg``, or its own subclass overriding ``predict_noise``
— becomes an Inkgraph guider when it is sampled or returned: the plain class is exactly Inkgraph's CFG guider;
a subclass is :class:`PackGuider`, whose every prediction calls the pack's ``predict_noise(x, timestep,
model_options, seed)`` with ``self.inner_model`` (the running network, which ``sampling_function`` and
``calc_cond_batch`` take) and ``self.conds`` (the prepared conditioning lists by name) set as ComfyUI sets them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from inkgraph.nodes.diffusion.guidance import Guider

from . import _sampling


def _handle(model: Any) -> Any:
    from ..values import to_inkgraph

    return to_inkgraph(model)


class CFGGuider:
    """ComfyUI's CFGGuider: a model, named conditionings and a cfg scale."""

    def __init__(self, model_patcher: Any) -> None:
        self.model_patcher = model_patcher
        self.model_options = getattr(model_patcher, "model_options", {})
        self.original_conds: dict[str, Any] = {}
        self.cfg = 1.0
        self._native: Any = None
        self._native_model: Any = None
        self.inner_model: Any = None  # while sampling: the running network (``guidance.ModelRunner``)
        self.conds: dict[str, Any] = {}  # while sampling: the prepared conditioning lists by name

    def set_conds(self, positive: Any, negative: Any) -> None:
        self.inner_set_conds({"positive": positive, "negative": negative})

    def set_cfg(self, cfg: float) -> None:
        self.cfg = cfg

    def inner_set_conds(self, conds: dict[str, Any]) -> None:
        for name, value in conds.items():
            self.original_conds[name] = value

    def __call__(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.outer_predict_noise(*args, **kwargs)

    def outer_predict_noise(self, x: torch.Tensor, timestep: torch.Tensor, model_options: dict[str, Any] | None = None,
                            seed: int | None = None) -> torch.Tensor:
        return self.predict_noise(x, timestep, model_options or {}, seed)

    def predict_noise(self, x: torch.Tensor, timestep: torch.Tensor, model_options: dict[str, Any] | None = None,
                      seed: int | None = None) -> torch.Tensor:
        from .samplers import sampling_function

        return sampling_function(self.inner_model, x, timestep, self.conds.get("negative"), self.conds.get("positive"),
                                 self.cfg, model_options=model_options, seed=seed)

    def __inkgraph_value__(self) -> Guider:
        """The Inkgraph guider this stands for (the built-in one it came from while unchanged)."""
        from inkgraph.nodes.diffusion.guidance import CFGGuider as NativeCFG

        native = self._native
        if native is not None and self.model_patcher is self._native_model and self.cfg == native.cfg \
                and self.original_conds.keys() == native.conds.keys() \
                and all(self.original_conds[k] is native.conds[k] for k in native.conds):
            return native
        model = _handle(self.model_patcher)
        conds = {k: _handle(v) for k, v in self.original_conds.items()}
        if type(self).predict_noise is CFGGuider.predict_noise:
            if set(conds) <= {"positive", "negative"}:
                guider = NativeCFG(model, conds.get("positive", []), conds.get("negative", []), self.cfg)
                guider.conds = dict(conds)
                return guider
        return PackGuider(self, model, conds)

    def sample(self, noise: torch.Tensor, latent_image: torch.Tensor | None, sampler: Any, sigmas: torch.Tensor,
               denoise_mask: torch.Tensor | None = None, callback: Callable[..., Any] | None = None,
               disable_pbar: bool = False, seed: int | None = None) -> torch.Tensor:
        from .samplers import native_sampler

        if sigmas.shape[-1] == 0:
            return latent_image if latent_image is not None else torch.zeros_like(noise)
        return _sampling.run(self.__inkgraph_value__(), native_sampler(sampler), sigmas, noise, latent_image,
                             denoise_mask, callback, seed)


class PackGuider(Guider):  # type: ignore[misc]
    """An Inkgraph guider that asks a pack's CFGGuider subclass for every prediction."""

    def __init__(self, facade: CFGGuider, model: Any, conds: dict[str, Any]) -> None:
        super().__init__(model, conds, float(facade.cfg))
        self.facade = facade

    def prompt_types(self) -> dict[str, str]:
        return {name: "negative" if "negative" in name or "uncond" in name else "positive" for name in self.conds}

    def predict(self, runner: Any, conds: dict[str, Any], x: torch.Tensor, sigma: torch.Tensor, state: Any,
                model_options: dict[str, Any] | None = None) -> torch.Tensor:
        runner.__dict__["_inkgraph_cfg_state"] = state
        self.facade.inner_model = runner
        self.facade.conds = conds
        options = runner.model_options if model_options is None else model_options
        return self.facade.predict_noise(x, sigma, options, None)


def guider_facade(native: Guider) -> CFGGuider:
    """A built-in GUIDER as ComfyUI's object (a pack may sample with it, or read its model and conds)."""
    from ..values import to_comfy

    facade = CFGGuider(to_comfy(native.model))
    facade.original_conds = dict(native.conds)
    facade.cfg = native.cfg
    facade._native, facade._native_model = native, facade.model_patcher
    return facade
