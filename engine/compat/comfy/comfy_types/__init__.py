"""ComfyUI's ``comfy.comfy_types``: the typing helpers V1 packs import (``IO``, ``InputTypeDict``,
``ComfyNodeABC``, ``CheckLazyMixin``, ``FileLocator``) and the UNet wrapper protocols."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypedDict

from .node_typing import IO, CheckLazyMixin, ComfyNodeABC, FileLocator, InputTypeDict


class UnetApplyFunction(Protocol):
    """The signature of a model's ``apply_model``."""

    def __call__(self, x: Any, t: Any, **kwargs: Any) -> Any: ...


class UnetApplyConds(TypedDict):
    c_concat: Any
    c_crossattn: Any
    control: Any
    transformer_options: dict[str, Any] | None


class UnetParams(TypedDict):
    input: Any
    timestep: Any
    c: UnetApplyConds
    cond_or_uncond: list[int]


UnetWrapperFunction = Callable[[UnetApplyFunction, UnetParams], Any]

__all__ = ["IO", "CheckLazyMixin", "ComfyNodeABC", "FileLocator", "InputTypeDict", "UnetApplyConds",
           "UnetApplyFunction", "UnetParams", "UnetWrapperFunction"]
