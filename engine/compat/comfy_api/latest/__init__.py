"""ComfyUI's ``comfy_api.latest``: the V3 API a pack imports (``from comfy_api.latest import io, ui,
ComfyExtension``): ``io`` declares nodes, ``ui`` shows results on them, a ``ComfyExtension`` returned by
the pack's ``comfy_entrypoint()`` lists them, and ``ComfyAPI`` / ``ComfyAPISync`` report progress."""

from __future__ import annotations

from typing import Any

from ...stubs import comfy_attribute
from .. import internal
from . import _io as io
from . import _types
from . import _ui as ui
from ._progress import ComfyAPI_latest, make_sync_class


class ComfyExtension:
    """What ``comfy_entrypoint()`` returns: ``get_node_list()`` gives the pack's V3 node classes, after
    ``on_load()`` prepared anything they need."""

    async def on_load(self) -> None:
        return None

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        raise NotImplementedError


class Input:
    Image = _types.ImageInput
    Audio = _types.AudioInput
    Mask = _types.MaskInput
    Latent = _types.LatentInput
    Video = _types.VideoInput


class InputImpl:
    VideoFromFile = _types.VideoFromFile
    VideoFromComponents = _types.VideoFromComponents


class Types:
    VideoCodec = _types.VideoCodec
    VideoContainer = _types.VideoContainer
    VideoComponents = _types.VideoComponents


ComfyAPI = ComfyAPI_latest
ComfyAPISync = make_sync_class(ComfyAPI_latest)
comfy_io = io

__all__ = ["ComfyAPI", "ComfyAPISync", "ComfyExtension", "Input", "InputImpl", "Types", "comfy_io", "internal", "io",
           "ui"]


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy_api.latest", name)
