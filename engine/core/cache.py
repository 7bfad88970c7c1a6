"""Node result caches: what survives between prompts, behind one small interface.

Results are stored under the node's input signature (:mod:`engine.signature`), not its id, so the same
sub-graph in another workflow, or under other ids, hits the cache too.

- ``lru`` (default): keeps results across prompts and workflows until a RAM byte budget is reached, then
  forgets the least recently used. Sizes come from tensor bytes. ComfyUI's default forgets everything
  that is not in the last prompt, so switching between two workflows re-runs both every time.
- ``classic``: ComfyUI's default; only the last prompt's results survive.
- ``none``: nothing survives a prompt (results still flow between nodes within one run).
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

CachePolicyName = Literal["lru", "classic", "none"]
DEFAULT_RAM_BUDGET = 4 * 1024**3
_SMALL = 64  # bytes charged for a scalar or a handle: enough that a million of them still count
_SCALARS = frozenset({int, float, bool, type(None), complex})


def _sizer_for(kind: type) -> Callable[[Any], int]:
    """How to size values of one type, decided once per type (attribute probes on tensors are slow)."""
    if hasattr(kind, "cache_nbytes"):
        return lambda v: int(v.cache_nbytes())
    if hasattr(kind, "element_size") and hasattr(kind, "nelement"):  # torch.Tensor
        return lambda v: int(v.element_size() * v.nelement())
    if hasattr(kind, "nbytes") and hasattr(kind, "dtype"):  # numpy arrays
        return lambda v: int(v.nbytes)
    if issubclass(kind, (bytes, bytearray, str)):
        return lambda v: len(v) + 49
    if hasattr(kind, "size") and hasattr(kind, "mode") and hasattr(kind, "tobytes"):  # PIL images
        return lambda v: int(v.size[0] * v.size[1] * max(1, len(v.mode)))
    return lambda v: max(_SMALL, sys.getsizeof(v, _SMALL))


_SIZERS: dict[type, Callable[[Any], int]] = {}


def estimate_nbytes(value: Any, _depth: int = 0) -> int:
    """Bytes a value holds, counting tensor and array storage; no torch import needed.

    Objects may define ``cache_nbytes()`` (model handles return a few bytes: their weights belong to
    the model manager, not to this cache).
    """
    kind = type(value)
    if kind in _SCALARS or _depth > 8:
        return _SMALL
    if kind is list or kind is tuple or kind is dict:
        total = _SMALL
        for item in (value.values() if kind is dict else value):
            total += estimate_nbytes(item, _depth + 1)
        return total
    sizer = _SIZERS.get(kind)
    if sizer is None:
        sizer = _SIZERS.setdefault(kind, _sizer_for(kind))
    return sizer(value)


@dataclass(slots=True)
class CacheEntry:
    """A node's outputs (one list per output socket) and the UI data it returned."""

    outputs: tuple[list[Any], ...]
    ui: dict[str, Any] | None
    nbytes: int = 0


class OutputCache(Protocol):
    def get(self, key: bytes) -> CacheEntry | None: ...

    def put(self, key: bytes, entry: CacheEntry) -> None: ...

    def begin_prompt(self, keys: Iterable[bytes]) -> None:
        """Called once per prompt with every key it may use, before anything runs."""

    def clear(self) -> None: ...

    def __contains__(self, key: bytes) -> bool: ...

    def stats(self) -> dict[str, int]: ...


class LRUCache:
    """Least recently used eviction under a byte budget (and, when ``max_entries`` is set, a count: ComfyUI's
    ``--cache-lru N``). Thread-safe (the server reads stats)."""

    def __init__(self, budget_bytes: int = DEFAULT_RAM_BUDGET, max_entries: int = 0) -> None:
        self.budget = budget_bytes
        self.max_entries = max_entries
        self._entries: OrderedDict[bytes, CacheEntry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __contains__(self, key: bytes) -> bool:
        return key in self._entries

    def get(self, key: bytes) -> CacheEntry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: bytes, entry: CacheEntry) -> None:
        if entry.nbytes == 0:
            entry.nbytes = estimate_nbytes(entry.outputs) + (estimate_nbytes(entry.ui) if entry.ui else 0)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            if entry.nbytes > self.budget:
                return  # larger than the whole budget: keeping it would evict everything else
            self._entries[key] = entry
            self._bytes += entry.nbytes
            while self._entries and (self._bytes > self.budget
                                     or 0 < self.max_entries < len(self._entries)):
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.nbytes

    def begin_prompt(self, keys: Iterable[bytes]) -> None:
        return None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> dict[str, int]:
        return {"entries": len(self._entries), "bytes": self._bytes, "budget": self.budget}


class ClassicCache(LRUCache):
    """ComfyUI's default: whatever the current prompt does not use is dropped when it starts."""

    def __init__(self) -> None:
        super().__init__(budget_bytes=sys.maxsize)

    def begin_prompt(self, keys: Iterable[bytes]) -> None:
        wanted = set(keys)
        with self._lock:
            for key in [k for k in self._entries if k not in wanted]:
                self._bytes -= self._entries.pop(key).nbytes


class NullCache:
    """Keeps nothing between prompts."""

    def __contains__(self, key: bytes) -> bool:
        return False

    def get(self, key: bytes) -> CacheEntry | None:
        return None

    def put(self, key: bytes, entry: CacheEntry) -> None:
        return None

    def begin_prompt(self, keys: Iterable[bytes]) -> None:
        return None

    def clear(self) -> None:
        return None

    def stats(self) -> dict[str, int]:
        return {"entries": 0, "bytes": 0, "budget": 0}


def make_cache(policy: CachePolicyName = "lru", budget_bytes: int = DEFAULT_RAM_BUDGET,
               max_entries: int = 0) -> OutputCache:
    if policy == "lru":
        return LRUCache(budget_bytes, max_entries)
    if policy == "classic":
        return ClassicCache()
    if policy == "none":
        return NullCache()
    raise ValueError(f"unknown cache policy {policy!r}; choose lru, classic or none")
