"""A quantized GGUF tensor on its way from the file into a module: its raw blocks, its GGML type and its
logical shape, so that a model keeps the file's size in memory.

It travels through the same state-dict code as ordinary tensors (prefix stripping, diffusers' key
converters, :func:`weights.assemble`), so it answers what that code asks of a weight: ``shape``, and the
row operations converters use to split fused projections or reorder halves — ``chunk``, ``split``, ``cat``
and slicing along dimension 0, which select whole rows of blocks and never touch the values. Any other
torch function receives the dequantized values instead (logged: that weight then stays in float), so a
converter that does more still gets right numbers. It is deliberately not a ``torch.Tensor``: code that
would misread raw blocks as numbers fails loudly instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from .ggml_blocks import QUANTIZED, dequantize

log = logging.getLogger(__name__)


class QuantizedTensor:
    """Raw GGML blocks (uint8, one row of blocks per row of the file) with the tensor's type and shape."""

    def __init__(self, raw: torch.Tensor, qtype: int, shape: Sequence[int]) -> None:
        fmt = QUANTIZED[qtype]
        self.shape = torch.Size(shape)
        if raw.dtype != torch.uint8 or raw.numel() * fmt.block_size != self.shape.numel() * fmt.type_size:
            raise ValueError(f"{fmt.name} blocks of {raw.numel()} bytes cannot hold a tensor of shape "
                             f"{tuple(self.shape)}")
        self.raw = raw
        self.qtype = qtype

    @property
    def type_name(self) -> str:
        return QUANTIZED[self.qtype].name

    @property
    def device(self) -> torch.device:
        return self.raw.device

    @property
    def nbytes(self) -> int:
        return self.raw.numel()

    def dim(self) -> int:
        return len(self.shape)

    def numel(self) -> int:
        return self.shape.numel()

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def is_floating_point(self) -> bool:
        """False: casting rules meant for float tensors (``state_dict.compute_cast``) leave it alone."""
        return False

    def dequantize(self, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
                   ) -> torch.Tensor:
        raw = self.raw if device is None else self.raw.to(device, non_blocking=True)
        return dequantize(raw, self.qtype, self.shape, dtype)

    def float(self) -> torch.Tensor:
        return self.dequantize()

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """A device moves the blocks; a dtype asks for the values (as ``Tensor.to`` would give them)."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        for arg in args:
            if isinstance(arg, torch.dtype):
                dtype = arg
            elif isinstance(arg, (str, torch.device)):
                device = arg
        if dtype is not None:
            return self.dequantize(dtype, device)
        return self if device is None else QuantizedTensor(self.raw.to(device), self.qtype, self.shape)

    def contiguous(self) -> QuantizedTensor:
        return self

    @property
    def T(self) -> torch.Tensor:  # noqa: N802 (Tensor's name)
        return self.dequantize().T

    def __repr__(self) -> str:
        return f"QuantizedTensor({self.type_name}, shape={tuple(self.shape)}, {self.nbytes} bytes)"

    # --- whole rows along dimension 0 -------------------------------------------------------------

    def _rows_per_item(self) -> int:
        """Raw rows per index of dimension 0 (an error when an index does not start on a row of blocks)."""
        per_item = self.shape.numel() // max(self.shape[0], 1) if self.shape else 1
        row_values = self.raw.shape[-1] // QUANTIZED[self.qtype].type_size * QUANTIZED[self.qtype].block_size
        if self.raw.dim() != 2 or per_item % row_values:
            raise NotImplementedError(f"{self!r}: its rows of blocks do not follow dimension 0")
        return per_item // row_values

    def rows(self, start: int, stop: int) -> QuantizedTensor:
        """Indices ``start:stop`` of dimension 0 (a view of the same blocks)."""
        per = self._rows_per_item()
        return QuantizedTensor(self.raw[start * per:stop * per], self.qtype, (stop - start, *self.shape[1:]))

    def split(self, split_size: int | Sequence[int], dim: int = 0) -> tuple[QuantizedTensor, ...]:
        if dim not in (0, -len(self.shape)):
            return _fallback(torch.split, (self, split_size), {"dim": dim})  # type: ignore[no-any-return]
        total = self.shape[0]
        sizes = list(split_size) if not isinstance(split_size, int) else \
            [min(split_size, total - s) for s in range(0, total, split_size)]
        if sum(sizes) != total:
            raise ValueError(f"split sizes {sizes} do not add up to {total}")
        parts, start = [], 0
        for size in sizes:
            parts.append(self.rows(start, start + size))
            start += size
        return tuple(parts)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[QuantizedTensor, ...]:
        if dim not in (0, -len(self.shape)):
            return _fallback(torch.chunk, (self, chunks), {"dim": dim})  # type: ignore[no-any-return]
        size = -(-self.shape[0] // chunks)
        return self.split(size)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice) and index.step in (None, 1):
            start, stop, _ = index.indices(self.shape[0])
            return self.rows(start, max(stop, start))
        return self.dequantize()[index]

    @classmethod
    def cat(cls, parts: Iterable[QuantizedTensor], dim: int = 0) -> Any:
        items = list(parts)
        same = all(isinstance(p, QuantizedTensor) and p.qtype == items[0].qtype
                   and p.shape[1:] == items[0].shape[1:] for p in items)
        if dim != 0 or not same:
            return _fallback(torch.cat, (items,), {"dim": dim})
        for part in items:
            part._rows_per_item()
        raw = torch.cat([p.raw for p in items], dim=0)
        return cls(raw, items[0].qtype, (sum(p.shape[0] for p in items), *items[0].shape[1:]))

    @classmethod
    def __torch_function__(cls, func: Callable[..., Any], types: Any, args: Sequence[Any] = (),
                           kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = dict(kwargs or {})
        if func in (torch.chunk, torch.Tensor.chunk):
            return args[0].chunk(*args[1:], **kwargs)
        if func in (torch.split, torch.Tensor.split):
            return args[0].split(*args[1:], **kwargs)
        if func in (torch.cat, torch.concat, torch.concatenate):
            return cls.cat(*args, **kwargs)
        return _fallback(func, args, kwargs)


def _fallback(func: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any]) -> Any:
    """Run ``func`` on the dequantized values of every quantized argument."""
    def plain(value: Any) -> Any:
        if isinstance(value, QuantizedTensor):
            log.debug("%s on %r: computed from its dequantized values", getattr(func, "__name__", func), value)
            return value.dequantize()
        if isinstance(value, (list, tuple)):
            return type(value)(plain(v) for v in value)
        return value

    return func(*plain(list(args)), **{k: plain(v) for k, v in kwargs.items()})
