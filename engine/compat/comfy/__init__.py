"""ComfyUI's ``comfy`` package: ``comfy.utils``, ``comfy.model_management``, ``comfy.comfy_types``,
``comfy.cli_args`` and the model facades (``comfy.sd``, ``comfy.samplers``, ``comfy.sample``,
``comfy.model_patcher`` …) are Inkgraph's; ComfyUI's other modules import as stubs (:mod:`..stubs`). In ComfyUI every
``comfy.*`` module is loaded at start, so packs write ``import comfy`` and then use ``comfy.samplers``: an
attribute that names a module imports it."""

from typing import Any

from ..stubs import comfy_attribute


def __getattr__(name: str) -> Any:
    if name.startswith("_"):  # Inkgraph's own helper modules here (``_sampling`` …): imported, never stand-ins
        raise AttributeError(name)
    return comfy_attribute("comfy", name)
