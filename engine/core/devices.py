"""Device and dtype policy, and the model manager that owns every loaded model.

One place decides where weights live. A loader node returns a cheap handle; the weights behind it are
loaded once per (file, component, dtype) and kept in CPU RAM; when a node computes with a model, the
manager moves it to the compute device, first moving least-recently-used models back to the CPU if the
device's budget would be exceeded. Nothing here imports torch at import time: the policy is plain
bookkeeping over byte counts, so it is tested on the CPU with made-up budgets.

Modes follow ComfyUI's flags: ``high`` keeps models on the device, ``normal`` keeps what fits (LRU),
``low`` keeps one model on the device at a time, ``cpu`` computes on the CPU.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

log = logging.getLogger(__name__)


class VramMode(StrEnum):
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"
    CPU = "cpu"


DTYPES = ("fp32", "fp16", "bf16")


def pick_device(requested: str | None = None) -> str:
    """``requested`` if given; else cuda, then mps, then cpu (imports torch)."""
    if requested:
        return requested
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str, requested: str | None = None) -> str:
    """fp16 on CUDA cards that run it well (compute capability ≥ 7.0), bf16/fp32 by request, fp32 on CPU."""
    if requested:
        if requested not in DTYPES:
            raise ValueError(f"unknown dtype {requested!r}; choose one of {', '.join(DTYPES)}")
        return requested
    if device.startswith("cuda"):
        import torch

        major, _ = torch.cuda.get_device_capability(torch.device(device))
        return "fp16" if major >= 7 else "fp32"
    if device == "mps":
        return "fp16"
    return "fp32"


def torch_dtype(name: str) -> Any:
    import torch

    return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[name]


def module_nbytes(module: Any) -> int:
    """Bytes of a torch module's parameters and buffers (or ``nbytes`` of anything that declares it)."""
    declared = getattr(module, "nbytes", None)
    if isinstance(declared, int):
        return declared
    total = 0
    for tensor in list(module.parameters()) + list(module.buffers()):
        total += tensor.numel() * tensor.element_size()
    return total


@dataclass
class _Entry:
    key: Hashable
    model: Any
    nbytes: int
    on_device: bool = False
    in_use: int = 0


@dataclass
class DevicePolicy:
    """Where computation happens. ``budget_bytes`` None means: ask the device (total minus a reserve)."""

    device: str = "cpu"
    dtype: str = "fp32"
    mode: VramMode = VramMode.NORMAL
    budget_bytes: int | None = None
    reserve_bytes: int = 1 << 30
    offload_device: str = "cpu"

    @classmethod
    def detect(cls, device: str | None = None, dtype: str | None = None, mode: str = "normal") -> DevicePolicy:
        chosen = "cpu" if mode == VramMode.CPU else pick_device(device)
        return cls(device=chosen, dtype=pick_dtype(chosen, dtype), mode=VramMode(mode))

    @property
    def vae_dtype(self) -> str:
        """The VAE's dtype: never fp16 on CUDA, where SDXL's VAE overflows to NaN (a black image); bf16 where
        the card has it, else fp32, as ComfyUI chooses. Other dtypes and devices keep the model dtype."""
        if self.dtype != "fp16" or not self.device.startswith("cuda"):
            return self.dtype
        import torch

        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"

    @property
    def computes_on_cpu(self) -> bool:
        return self.device == "cpu"

    def device_budget(self) -> int:
        if self.budget_bytes is not None:
            return self.budget_bytes
        if self.device.startswith("cuda") and "torch" in sys.modules:
            import torch

            _, total = torch.cuda.mem_get_info(torch.device(self.device))
            return max(0, int(total) - self.reserve_bytes)
        return 1 << 62  # the CPU (or an unknown device): no separate budget


Mover = Callable[[Any, str], Any]


def _torch_move(model: Any, device: str) -> Any:
    return model.to(device)


@dataclass
class DeviceSettings:
    """What the user asked for (``--device``, ``--dtype``, ``--vram``); resolved when first needed."""

    device: str | None = None
    dtype: str | None = None
    mode: str = "normal"
    budget_bytes: int | None = None


@dataclass
class ModelManager:
    """Every loaded model, keyed by what it was loaded from; moves them within the device budget.

    The device policy is resolved on first use (that imports torch), so a server or CLI that never
    computes never pays for it.
    """

    settings: DeviceSettings = field(default_factory=DeviceSettings)
    mover: Mover = _torch_move
    _policy: DevicePolicy | None = None
    _entries: OrderedDict[Hashable, _Entry] = field(default_factory=OrderedDict)
    _lock: threading.RLock = field(default_factory=threading.RLock)
    loads: int = 0

    @classmethod
    def with_policy(cls, policy: DevicePolicy, mover: Mover = _torch_move) -> ModelManager:
        return cls(mover=mover, _policy=policy)

    @property
    def policy(self) -> DevicePolicy:
        if self._policy is None:
            s = self.settings
            self._policy = DevicePolicy.detect(s.device, s.dtype, s.mode)
            self._policy.budget_bytes = s.budget_bytes
            log.info("compute device %s, dtype %s, vram mode %s", self._policy.device, self._policy.dtype,
                     self._policy.mode)
        return self._policy

    # -- loading -------------------------------------------------------------------------------------
    def get(self, key: Hashable, load: Callable[[], Any], nbytes: int | None = None) -> Any:
        """The model for ``key``, loading it (on the offload device) the first time."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                model = load()
                self.loads += 1
                entry = _Entry(key, model, nbytes if nbytes is not None else module_nbytes(model))
                self._entries[key] = entry
                log.info("loaded model %s (%.1f MiB)", key, entry.nbytes / 2**20)
            return entry.model

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def add(self, key: Hashable, model: Any, nbytes: int | None = None) -> Any:
        """Register a model loaded elsewhere (one file often yields several models at once)."""
        return self.get(key, lambda: model, nbytes)

    def loaded(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"key": str(e.key), "bytes": e.nbytes, "on_device": e.on_device} for e in self._entries.values()]

    # -- placement -----------------------------------------------------------------------------------
    @contextmanager
    def use(self, *keys: Hashable, reserve_bytes: int = 0) -> Iterator[list[Any]]:
        """Have these models on the compute device for the duration of the block; ``reserve_bytes`` more is
        kept free for what they compute (a video model's activations), offloading other idle models first —
        the text encoders a sampler no longer needs."""
        with self._lock:
            entries = [self._entries[k] for k in keys]
            self._make_room(entries, reserve_bytes)
            for entry in entries:
                entry.in_use += 1
                self._entries.move_to_end(entry.key)
                if not entry.on_device and not self.policy.computes_on_cpu:
                    entry.model = self.mover(entry.model, self.policy.device)
                    entry.on_device = True
            models = [e.model for e in entries]
        try:
            yield models
        finally:
            with self._lock:
                for entry in entries:
                    entry.in_use -= 1
                if self.policy.mode == VramMode.LOW:
                    for entry in entries:
                        self._offload(entry)

    def _make_room(self, wanted: list[_Entry], reserve_bytes: int = 0) -> None:
        if self.policy.computes_on_cpu or self.policy.mode == VramMode.HIGH:
            return
        need = sum(e.nbytes for e in wanted if not e.on_device) + max(0, reserve_bytes)
        budget = self.policy.device_budget()
        resident = sum(e.nbytes for e in self._entries.values() if e.on_device)
        wanted_keys = {e.key for e in wanted}
        for entry in list(self._entries.values()):  # least recently used first
            if self.policy.mode != VramMode.LOW and resident + need <= budget:
                break
            if entry.on_device and entry.in_use == 0 and entry.key not in wanted_keys:
                self._offload(entry)
                resident -= entry.nbytes
        if resident + need > budget:
            log.warning("models need %.0f MiB on %s but the budget is %.0f MiB; running over budget",
                        (resident + need) / 2**20, self.policy.device, budget / 2**20)

    def _offload(self, entry: _Entry) -> None:
        if entry.on_device:
            entry.model = self.mover(entry.model, self.policy.offload_device)
            entry.on_device = False

    def offload_all(self) -> None:
        with self._lock:
            for entry in self._entries.values():
                if entry.in_use == 0:
                    self._offload(entry)

    def unload_all(self) -> None:
        """Forget every model not in use (``/free`` with unload_models): their memory is released."""
        with self._lock:
            for key in [k for k, e in self._entries.items() if e.in_use == 0]:
                del self._entries[key]
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            torch.cuda.empty_cache()


def ram_bytes() -> tuple[int, int]:
    """(total, available) RAM in bytes, without psutil."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    free = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
                    break
    except OSError:
        free = 0
    return total, free
