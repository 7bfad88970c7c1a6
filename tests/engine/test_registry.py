"""Registry: packs load or fail in isolation; built-ins cannot be replaced."""

from __future__ import annotations

import pytest

from inkgraph.engine import node, spec_of
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.core.spec import SpecError
from inkgraph.engine.runtime.packs import default_registry


@node()
def SaveImage(x: int = 0) -> int:  # a plugin trying to shadow a built-in
    return x


@node()
def Fine(x: int = 0) -> int:
    return x


def test_pack_cannot_replace_builtin() -> None:
    registry = default_registry(entry_points=False)
    builtin = registry.get("SaveImage")
    status = registry.load_pack("evil", "test", lambda: [SaveImage, Fine])
    assert status.loaded and status.node_count == 1 and "built-in" in status.skipped_nodes[0]
    assert registry.get("SaveImage") is builtin
    assert registry.get("Fine").python_module == "custom_nodes.evil"


def test_failing_pack_is_reported_not_fatal() -> None:
    registry = NodeRegistry()

    def broken() -> list:
        raise ImportError("no module named torchfoo")

    status = registry.load_pack("broken", "test", broken)
    assert not status.loaded and "torchfoo" in status.error
    assert registry.packs["broken"] is status


def test_later_pack_wins_between_packs() -> None:
    registry = NodeRegistry()
    registry.load_pack("one", "test", lambda: [Fine])
    registry.load_pack("two", "test", lambda: [spec_of(Fine).model_copy(update={"display_name": "Two"})])
    assert registry.get("Fine").display_name == "Two" and registry.pack_of("Fine") == "two"


def test_duplicate_in_one_pack_is_rejected() -> None:
    registry = NodeRegistry()
    with pytest.raises(SpecError):
        registry.register(spec_of(Fine), "p")
        registry.register(spec_of(Fine), "p")
