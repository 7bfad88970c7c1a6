"""Cache strategies and size estimates."""

from __future__ import annotations

from inkgraph.engine.core.cache import (
    CacheEntry,
    ClassicCache,
    LRUCache,
    NullCache,
    estimate_nbytes,
    make_cache,
)


class Sized:
    def __init__(self, nbytes: int) -> None:
        self.nbytes_ = nbytes

    def cache_nbytes(self) -> int:
        return self.nbytes_


def entry(nbytes: int) -> CacheEntry:
    return CacheEntry(outputs=([Sized(nbytes)],), ui=None)


def test_lru_evicts_least_recently_used_under_budget() -> None:
    cache = LRUCache(budget_bytes=1000)
    cache.put(b"a", entry(300))
    cache.put(b"b", entry(300))
    cache.get(b"a")  # a is now more recent than b
    cache.put(b"c", entry(300))
    assert b"a" in cache and b"b" not in cache and b"c" in cache
    assert cache.stats()["bytes"] <= 1000


def test_lru_skips_entries_larger_than_the_budget() -> None:
    cache = LRUCache(budget_bytes=200)  # an entry costs its payload plus 128 bytes of containers
    cache.put(b"small", entry(10))
    cache.put(b"huge", entry(10_000))
    assert b"huge" not in cache and b"small" in cache


def test_lru_replacing_a_key_updates_bytes() -> None:
    cache = LRUCache(budget_bytes=10_000)
    cache.put(b"a", entry(500))
    before = cache.stats()["bytes"]
    cache.put(b"a", entry(100))
    assert cache.stats()["bytes"] == before - 400 and cache.stats()["entries"] == 1


def test_classic_keeps_only_current_prompt_keys() -> None:
    cache = ClassicCache()
    cache.put(b"a", entry(1))
    cache.put(b"b", entry(1))
    cache.begin_prompt([b"b", b"c"])
    assert b"a" not in cache and b"b" in cache


def test_null_cache_keeps_nothing() -> None:
    cache = NullCache()
    cache.put(b"a", entry(1))
    assert cache.get(b"a") is None and b"a" not in cache


def test_make_cache_names() -> None:
    assert isinstance(make_cache("lru"), LRUCache)
    assert isinstance(make_cache("classic"), ClassicCache)
    assert isinstance(make_cache("none"), NullCache)


def test_estimate_counts_tensor_and_array_storage() -> None:
    import numpy as np

    array = np.zeros((100, 100), dtype=np.float32)
    assert estimate_nbytes(array) == 40_000
    assert estimate_nbytes([array, {"x": array}]) > 80_000
    assert estimate_nbytes(Sized(7)) == 7
    assert estimate_nbytes(3) == estimate_nbytes(None) == 64
