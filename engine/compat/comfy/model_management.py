"""``comfy.model_management`` for ComfyUI packs: the compute device, interruption, and memory housekeeping,
answered from the running node's context and Inkgraph's model manager. Its model-loading functions are
stand-ins until the model facades exist (:mod:`..stubs`)."""

from __future__ import annotations

import sys
from typing import Any

from ...core.context import Interrupted, current_context
from ..stubs import comfy_attribute

InterruptProcessingException = Interrupted


def _oom_exception() -> type[BaseException]:
    torch = sys.modules.get("torch")
    return torch.cuda.OutOfMemoryError if torch is not None else MemoryError


def __getattr__(name: str) -> Any:
    if name == "OOM_EXCEPTION":
        return _oom_exception()
    return comfy_attribute("comfy.model_management", name)


def _device_name() -> str:
    ctx = current_context()
    if ctx is not None:
        return ctx.device
    from ...core.devices import pick_device

    return pick_device()


def get_torch_device() -> Any:
    import torch

    return torch.device(_device_name())


def intermediate_device() -> Any:
    """Where nodes leave their outputs: the CPU, as in ComfyUI."""
    import torch

    return torch.device("cpu")


def unet_offload_device() -> Any:
    import torch

    return torch.device("cpu")


def text_encoder_device() -> Any:
    return get_torch_device()


def vae_device() -> Any:
    return get_torch_device()


def is_device_mps(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "mps"


def is_device_cpu(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "cpu"


def cpu_mode() -> bool:
    return _device_name() == "cpu"


def processing_interrupted() -> bool:
    ctx = current_context()
    if ctx is None:
        return False
    try:
        ctx.check_interrupted()
    except Interrupted:
        return True
    return False


def throw_exception_if_processing_interrupted() -> None:
    ctx = current_context()
    if ctx is not None:
        ctx.check_interrupted()


def interrupt_current_processing(value: bool = True) -> None:
    """Packs may ask to stop the running prompt, as the /interrupt route does."""
    ctx = current_context()
    if value and ctx is not None:
        ctx.interrupt()


def soft_empty_cache(force: bool = False) -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def unload_all_models() -> None:
    ctx = current_context()
    if ctx is not None:
        ctx.models.unload_all()


def get_free_memory(device: Any = None, torch_free_too: bool = False) -> Any:
    """Free bytes on ``device`` (RAM for the CPU); with ``torch_free_too`` a pair, as ComfyUI returns."""
    from ...core.devices import ram_bytes

    device = device if device is not None else get_torch_device()
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        free = int(torch.cuda.mem_get_info(device)[0])
    else:
        free = ram_bytes()[1]
    return (free, free) if torch_free_too else free
