"""ComfyUI's ``comfy_api.v0_0_2``: the V3 API pinned at version 0.0.2 (the same classes as ``latest``)."""

from __future__ import annotations

from typing import Any

from ...stubs import comfy_attribute
from ..latest import ComfyExtension, io, ui
from ..latest import Input as _Input
from ..latest import InputImpl as _InputImpl
from ..latest import Types as _Types
from ..latest._progress import ComfyAPI_latest, make_sync_class


class ComfyAPIAdapter_v0_0_2(ComfyAPI_latest):  # noqa: N801 - ComfyUI's name
    VERSION = "0.0.2"
    STABLE = False


class Input(_Input):
    pass


class InputImpl(_InputImpl):
    pass


class Types(_Types):
    pass


ComfyAPI = ComfyAPIAdapter_v0_0_2
ComfyAPISync = make_sync_class(ComfyAPIAdapter_v0_0_2)

__all__ = ["ComfyAPI", "ComfyAPISync", "ComfyExtension", "Input", "InputImpl", "Types", "io", "ui"]


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_api.v0_0_2", name)
