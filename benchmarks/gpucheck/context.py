"""What a section receives: the device, the mode, scratch space, and the way to record what it finds.

Every record goes to the supervisor at once (a section cut at its time limit keeps what it recorded).
Comparisons are relative L2 errors against a reference, and a non-finite value never passes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any, NoReturn

from .report import Check, Metric

Send = Callable[[tuple[Any, ...]], None]


class Skipped(Exception):
    """Raised by :meth:`SectionContext.skip`: the section does not apply here, for the reason given."""


class SectionContext:
    def __init__(self, send: Send, options: dict[str, Any], fixtures: dict[str, Any], budget_s: float = 0.0) -> None:
        self._send = send
        self.device: str = options["device"]
        self.quick: bool = bool(options["quick"])
        self.work = Path(options["work"])
        self.out = Path(options["out"])
        self.threads: int | None = options.get("threads")
        self.fixtures = fixtures  # shared by the sections this worker runs (files, not GPU tensors)
        self.started = time.monotonic()
        self.budget_s = budget_s

    @property
    def cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def mode(self) -> str:
        return "quick" if self.quick else "full"

    # -- recording --------------------------------------------------------------------------------------
    def check(self, name: str, ok: bool | None, value: float | str | None = None, limit: str = "",
              detail: str = "") -> bool:
        self._send(("record", "check", asdict(Check(name, ok, _plain(value), limit, detail))))
        return bool(ok)

    def metric(self, name: str, value: float | str | None, unit: str = "", note: str = "") -> None:
        self._send(("record", "metric", asdict(Metric(name, _plain(value), unit, note))))

    def note(self, text: str) -> None:
        self._send(("record", "note", {"text": text}))

    def skip(self, reason: str) -> NoReturn:
        raise Skipped(reason)

    def compare(self, name: str, got: Any, ref: Any, tol: float, detail: str = "") -> float:
        """‖got − ref‖ / ‖ref‖ (both moved to the CPU in float64), checked against ``tol``."""
        error, finite = rel_error(got, ref)
        ok = finite and error <= tol
        extra = "" if finite else "non-finite values in the output"
        self.check(name, ok, error, f"rel. L2 ≤ {tol:g}", "; ".join(x for x in (detail, extra) if x))
        return error

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def remaining(self) -> float:
        """Seconds left before the supervisor cuts this section (child processes must end before that)."""
        return self.budget_s - self.elapsed()


def rel_error(got: Any, ref: Any) -> tuple[float, bool]:
    """(relative L2 error, whether ``got`` is all finite)."""
    import torch

    a = got.detach().to("cpu", torch.float64)
    b = ref.detach().to("cpu", torch.float64)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} against {tuple(b.shape)}")
    finite = bool(torch.isfinite(a).all())
    if not finite:
        return math.inf, False
    norm = float(b.norm())
    return float((a - b).norm()) / (norm if norm > 0 else 1.0), True


def _plain(value: Any) -> float | str | None:
    """What can travel in the report: numbers stay numbers (tensors and numpy scalars become floats)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
