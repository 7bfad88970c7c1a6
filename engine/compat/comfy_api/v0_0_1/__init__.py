"""ComfyUI's ``comfy_api.v0_0_1``: the oldest pinned version of the V3 API (the same classes as ``latest``)."""

from __future__ import annotations

from typing import Any

from ...stubs import comfy_attribute
from ..latest import ComfyExtension, io, ui
from ..latest._progress import ComfyAPI_latest, make_sync_class
from ..v0_0_2 import Input, InputImpl, Types


class ComfyAPIAdapter_v0_0_1(ComfyAPI_latest):  # noqa: N801 - ComfyUI's name
    VERSION = "0.0.1"
    STABLE = True


ComfyAPI = ComfyAPIAdapter_v0_0_1
ComfyAPISync = make_sync_class(ComfyAPIAdapter_v0_0_1)

__all__ = ["ComfyAPI", "ComfyAPISync", "ComfyExtension", "Input", "InputImpl", "Types", "io", "ui"]


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_api.v0_0_1", name)
