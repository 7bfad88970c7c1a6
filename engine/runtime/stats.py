"""What a process running Inkgraph reports about itself (``/system_stats``, Ray workers' health).

Nothing here imports torch: the answer must come right after start, and torch takes seconds to import.
Device details appear once something has loaded torch.
"""

from __future__ import annotations

import importlib.metadata
import logging
import platform
import sys
from types import ModuleType
from typing import Any

from .. import __version__
from ..core.devices import ram_bytes

log = logging.getLogger(__name__)

COMFYUI_API_VERSION = "0.8.0"  # the ComfyUI release whose protocol this server speaks


def _version_of(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def loaded_torch() -> ModuleType | None:
    """torch, once it has finished importing; None before, and *while* another thread imports it.

    During ``import torch`` its half-made module is already in ``sys.modules`` (without ``torch.cuda``),
    and touching it from another thread either fails or waits for the import lock; readiness checks poll
    exactly then.
    """
    torch = sys.modules.get("torch")
    if torch is None or getattr(getattr(torch, "__spec__", None), "_initializing", False):
        return None
    return torch


def _cuda_devices(torch: Any) -> list[dict[str, Any]]:
    devices = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        reserved = torch.cuda.memory_reserved(index)
        allocated = torch.cuda.memory_allocated(index)
        devices.append({"name": f"cuda:{index} {torch.cuda.get_device_name(index)}", "type": "cuda",
                        "index": index, "vram_total": total, "vram_free": free,
                        "torch_vram_total": reserved, "torch_vram_free": reserved - allocated})
    return devices


def _devices() -> list[dict[str, Any]]:
    torch = loaded_torch()
    try:
        if torch is not None and torch.cuda.is_available():
            return _cuda_devices(torch)
    except Exception:  # a driver that fails to answer: report what is known (the CPU), never fail readiness
        log.warning("could not read the CUDA devices' state", exc_info=True)
    total, free = ram_bytes()
    return [{"name": "cpu", "type": "cpu", "index": None, "vram_total": total, "vram_free": free,
             "torch_vram_total": total, "torch_vram_free": free}]


def system_stats() -> dict[str, Any]:
    total, free = ram_bytes()
    return {
        "system": {
            "os": sys.platform,  # ComfyUI's: "linux", "win32", "darwin"
            "ram_total": total,
            "ram_free": free,
            "comfyui_version": COMFYUI_API_VERSION,
            "inkgraph_version": __version__,
            "required_frontend_version": "",
            "python_version": sys.version,
            "pytorch_version": _version_of("torch"),
            "embedded_python": False,
            "argv": sys.argv,
            "platform": platform.platform(),
        },
        "devices": _devices(),
    }
