"""ComfyUI's ``comfy`` package: ``comfy.utils``, ``comfy.model_management``, ``comfy.comfy_types`` and
``comfy.cli_args`` are Inkgraph's; ComfyUI's other modules import as stubs (:mod:`..stubs`). In ComfyUI every
``comfy.*`` module is loaded at start, so packs write ``import comfy`` and then use ``comfy.samplers``: an
attribute that names a module imports it."""

from typing import Any

from ..stubs import comfy_attribute


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy", name)
