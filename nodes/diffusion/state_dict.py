"""Reading model files as users have them: safetensors, GGUF, .ckpt/.pt/.pth/.bin (weights only), and the
key prefixes the different distributions put in front of the same tensors.

Families are detected from the key names and shapes alone (:class:`TensorIndex`, read from a
safetensors header without touching the data); tensors are then read one at a time, each cast to the
dtype it will be used in as it is read, so a model is never held twice in memory.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

log = logging.getLogger(__name__)

SAFETENSORS = (".safetensors", ".sft")
GGUF = ".gguf"  # read by gguf_file: quantized tensors arrive as gguf_tensor.QuantizedTensor
FP8_DTYPES = tuple(getattr(torch, name) for name in ("float8_e4m3fn", "float8_e5m2") if hasattr(torch, name))
# What distributions put before a diffusion model's own keys: ComfyUI/LDM all-in-one checkpoints,
# ComfyUI's saved diffusion models, and some trainers' exports.
DIFFUSION_PREFIXES = ("model.diffusion_model.", "diffusion_model.", "model.")


class ModelFileError(ValueError):
    """A file this loader cannot use; the message names the file and what was found."""


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: str  # safetensors' dtype name: F32, F16, BF16, F8_E4M3, F8_E5M2, I64 ... (GGUF: Q8_0, Q4_K ...)


class TensorIndex(Mapping[str, TensorInfo]):
    """Key → shape and dtype of every tensor of a file (from its header where the format has one)."""

    def __init__(self, infos: dict[str, TensorInfo], metadata: dict[str, str]) -> None:
        self._infos = infos
        self.metadata = metadata

    def __getitem__(self, key: str) -> TensorInfo:
        return self._infos[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)

    def shape(self, key: str) -> tuple[int, ...] | None:
        info = self._infos.get(key)
        return info.shape if info is not None else None

    def prefix_of(self, marker: str) -> str | None:
        """The prefix under which ``marker`` (a key without prefix) is found, e.g. "model.diffusion_model."."""
        if marker in self._infos:
            return ""
        for key in self._infos:
            if key.endswith(marker):
                return key[: -len(marker)]
        return None

    def count(self, pattern: Callable[[str], bool]) -> int:
        return sum(1 for key in self._infos if pattern(key))


def index_file(path: Path) -> TensorIndex:
    """The tensor index of a model file; for safetensors only its header is read."""
    if path.suffix.lower() in SAFETENSORS:
        return _safetensors_index(path)
    if path.suffix.lower() == GGUF:
        from .gguf_file import index

        return index(path)
    tensors, metadata = read_state_dict(path)
    return TensorIndex({k: TensorInfo(tuple(v.shape), str(v.dtype)) for k, v in tensors.items()}, metadata)


def _safetensors_index(path: Path) -> TensorIndex:
    try:
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if size <= 0 or size > 100 * 1024 * 1024:
                raise ModelFileError(f"{path.name} is not a safetensors file (header size {size})")
            header = json.loads(handle.read(size))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path.name} cannot be read as safetensors: {exc}") from exc
    metadata = header.pop("__metadata__", None) or {}
    infos = {key: TensorInfo(tuple(value["shape"]), value["dtype"]) for key, value in header.items()
             if isinstance(value, dict) and "shape" in value}
    return TensorIndex(infos, {str(k): str(v) for k, v in metadata.items()})


CastRule = Callable[[str, torch.Tensor], torch.Tensor]


def read_state_dict(path: Path, keys: Callable[[str], bool] | None = None, cast: CastRule | None = None,
                    strip: str = "") -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors (and metadata) of a file: only ``keys`` that pass the filter, each passed through ``cast``
    as it is read, with ``strip`` removed from the front of the names that carry it.

    ``.ckpt``/``.pt`` files are read with ``weights_only`` (pickled code is refused, so an untrusted file
    cannot run anything). In a ``.gguf`` file, quantized tensors stay quantized: they arrive as
    :class:`~.gguf_tensor.QuantizedTensor` (``cast`` does not apply to them) and become GGUF layers in
    :func:`~.weights.assemble`.
    """
    tensors: dict[str, torch.Tensor] = {}
    if path.suffix.lower() in SAFETENSORS:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as handle:
                metadata = handle.metadata() or {}
                for key in handle.keys():  # noqa: SIM118 (a safetensors handle is not a mapping)
                    if keys is None or keys(key):
                        tensor = handle.get_tensor(key)
                        tensors[_strip(key, strip)] = cast(key, tensor) if cast is not None else tensor
        except Exception as exc:  # safetensors raises its own error types for truncated files
            raise ModelFileError(f"{path.name} cannot be read as safetensors: {exc}") from exc
        return tensors, metadata
    if path.suffix.lower() == GGUF:
        from .gguf_file import read

        return read(path, keys, cast, strip)
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # pickle errors name the refused global; keep that in the message
        raise ModelFileError(f"{path.name} cannot be read safely ({exc}); convert it to .safetensors") from exc
    while isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict):
        raise ModelFileError(f"{path.name} does not contain a state dict")
    for key, value in data.items():
        if isinstance(value, torch.Tensor) and (keys is None or keys(key)):
            tensors[_strip(key, strip)] = cast(key, value) if cast is not None else value
    return tensors, {}


def _strip(key: str, prefix: str) -> str:
    return key[len(prefix):] if prefix and key.startswith(prefix) else key


def compute_cast(dtype: torch.dtype, keep_fp8: bool = False) -> CastRule:
    """Floating-point tensors to ``dtype`` (fp8 ones kept as they are when ``keep_fp8``); others untouched."""

    def cast(key: str, tensor: torch.Tensor) -> torch.Tensor:
        if not tensor.is_floating_point() or tensor.dtype == dtype:
            return tensor
        if keep_fp8 and tensor.dtype in FP8_DTYPES:
            return tensor
        return tensor.to(dtype)

    return cast


def describe(index: Mapping[str, Any], limit: int = 5) -> str:
    """A short account of a file's keys for error messages ("412 tensors, e.g. a.b, c.d")."""
    keys = list(index)
    shown = ", ".join(keys[:limit])
    return f"{len(keys)} tensors, e.g. {shown}" if keys else "no tensors"


def block_count(index: Mapping[str, Any], prefix: str) -> int:
    """How many numbered blocks ``prefix<N>.`` the keys hold (highest N + 1)."""
    numbers = set()
    for key in index:
        if key.startswith(prefix):
            head = key[len(prefix):].split(".", 1)[0]
            if head.isdigit():
                numbers.add(int(head))
    return max(numbers) + 1 if numbers else 0
