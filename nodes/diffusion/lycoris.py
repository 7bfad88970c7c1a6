"""LyCORIS' LoHa and LoKr weights, as LoraLoader patches them (ComfyUI's ``weight_adapter`` semantics).

- LoHa (``hada_w1_a``, ``hada_w1_b``, ``hada_w2_a``, ``hada_w2_b``): ΔW = (w1a·w1b) ⊙ (w2a·w2b) · alpha / rank,
  rank = w1b's rows;
- LoKr (``lokr_w1`` or ``lokr_w1_a``·``lokr_w1_b``, ``lokr_w2`` or ``lokr_w2_a``·``lokr_w2_b``):
  ΔW = w1 ⊗ w2 · scale, scale = alpha / rank when a factor is decomposed (rank = that factor's inner size,
  w2's first), else 1 — ComfyUI's rule, which ignores alpha for two full factors.

Each patch gives its product as [out, in·k·k] in float32 like ``lora.Patch``; the CP-decomposed variants
(``hada_t1``, ``lokr_t2``) are not read. A part of a fused original layer (Flux's q of ``img_attn.qkv``)
is a :class:`Rows` of the whole patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch


class Delta(Protocol):
    """What every patch kind gives: its product, its change of a weight, a copy on a device."""

    def product(self) -> torch.Tensor: ...

    def delta(self, shape: torch.Size, rows: tuple[int, int] | None = None) -> torch.Tensor: ...

    def to(self, device: torch.device) -> Any: ...

    def numel(self) -> int: ...


def fit(product: torch.Tensor, shape: torch.Size, rows: tuple[int, int] | None) -> torch.Tensor:
    """Rows (start, end) of a product reshaped to a weight's shape; ValueError when it does not fit."""
    if rows is not None:
        product = product[rows[0]:rows[1]]
    if product.numel() != shape.numel():
        raise ValueError(f"LoRA shape {tuple(product.shape)} does not fit a weight of shape {tuple(shape)}")
    return product.reshape(shape)


@dataclass
class HadaPatch:
    w1a: torch.Tensor
    w1b: torch.Tensor
    w2a: torch.Tensor
    w2b: torch.Tensor
    alpha: float | None

    def product(self) -> torch.Tensor:
        scale = self.alpha / self.w1b.shape[0] if self.alpha is not None else 1.0
        first = self.w1a.float() @ self.w1b.flatten(1).float()
        second = self.w2a.float() @ self.w2b.flatten(1).float()
        return first * second * scale

    def delta(self, shape: torch.Size, rows: tuple[int, int] | None = None) -> torch.Tensor:
        return fit(self.product(), shape, rows)

    def to(self, device: torch.device) -> HadaPatch:
        return HadaPatch(self.w1a.to(device), self.w1b.to(device), self.w2a.to(device), self.w2b.to(device),
                         self.alpha)

    def numel(self) -> int:
        return int(self.w1a.shape[0] * self.w1b.flatten(1).shape[1])


@dataclass
class KronPatch:
    w1: torch.Tensor | None
    w1a: torch.Tensor | None
    w1b: torch.Tensor | None
    w2: torch.Tensor | None
    w2a: torch.Tensor | None
    w2b: torch.Tensor | None
    alpha: float | None

    def factors(self) -> tuple[torch.Tensor, torch.Tensor, float]:
        w1 = self.w1.float() if self.w1 is not None else self.w1a.float() @ self.w1b.float()  # type: ignore[union-attr]
        if self.w2 is not None:
            w2 = self.w2.float()
        else:
            w2 = (self.w2a.float() @ self.w2b.flatten(1).float())  # type: ignore[union-attr]
        dim = self.w2b.shape[0] if self.w2b is not None else self.w1b.shape[0] if self.w1b is not None else None
        scale = self.alpha / dim if self.alpha is not None and dim is not None else 1.0
        return w1, w2, scale

    def product(self) -> torch.Tensor:
        w1, w2, scale = self.factors()
        return torch.kron(w1, w2.flatten(1)) * scale

    def delta(self, shape: torch.Size, rows: tuple[int, int] | None = None) -> torch.Tensor:
        return fit(self.product(), shape, rows)

    def to(self, device: torch.device) -> KronPatch:
        def move(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.to(device)

        return KronPatch(move(self.w1), move(self.w1a), move(self.w1b), move(self.w2), move(self.w2a),
                         move(self.w2b), self.alpha)

    def numel(self) -> int:
        w1, w2, _ = self.factors()
        return int(w1.numel() * w2.numel())


@dataclass
class Rows:
    """Rows (start, end) of another patch's product: a part of a fused original layer."""

    patch: Any
    rows: tuple[int, int]

    def product(self) -> torch.Tensor:
        return self.patch.product()[self.rows[0]:self.rows[1]]  # type: ignore[no-any-return]

    def delta(self, shape: torch.Size, rows: tuple[int, int] | None = None) -> torch.Tensor:
        return fit(self.product(), shape, rows)

    def to(self, device: torch.device) -> Rows:
        return Rows(self.patch.to(device), self.rows)

    def numel(self) -> int:
        return int(self.product().numel())


HADA = (".hada_w1_a", ".hada_w1_b", ".hada_w2_a", ".hada_w2_b")


def read(state: dict[str, torch.Tensor], key: str, alphas: dict[str, float]) -> tuple[str, Any] | None:
    """(stem, patch) when ``key`` starts a LoHa or LoKr weight (its first factor), else None."""
    if key.endswith(".hada_w1_a"):
        stem = key[: -len(".hada_w1_a")]
        parts = [state.get(stem + suffix) for suffix in HADA]
        if any(p is None for p in parts) or stem + ".hada_t1" in state:
            return None
        return stem, HadaPatch(*parts, alphas.get(stem))  # type: ignore[arg-type]
    for first in (".lokr_w1", ".lokr_w1_a"):
        if key.endswith(first):
            stem = key[: -len(first)]
            if stem + ".lokr_t2" in state or (first == ".lokr_w1_a" and stem + ".lokr_w1" in state):
                return None
            get = state.get
            patch = KronPatch(get(stem + ".lokr_w1"), get(stem + ".lokr_w1_a"), get(stem + ".lokr_w1_b"),
                              get(stem + ".lokr_w2"), get(stem + ".lokr_w2_a"), get(stem + ".lokr_w2_b"),
                              alphas.get(stem))
            complete = ((patch.w1 is not None or (patch.w1a is not None and patch.w1b is not None))
                        and (patch.w2 is not None or (patch.w2a is not None and patch.w2b is not None)))
            return (stem, patch) if complete else None
    return None
