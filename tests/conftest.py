"""Test-wide settings: offline, and one torch thread (two threads on a busy 2-core machine ran 3–5× slower).

Tests marked ``cuda`` need a GPU: without one they are skipped, with the reason, at collection (torch is
imported only when such a test was collected, so the engine's torch-free tests stay torch-free).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    marked = [item for item in items if item.get_closest_marker("cuda") is not None]
    if not marked:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (benchmarks/gpu_check.py runs these on one)")
    for item in marked:
        item.add_marker(skip)


REPOSITORY = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _no_second_copy_of_the_package() -> object:
    """Everything imports Inkgraph as ``inkgraph.*``: the repository's ``engine/`` or ``nodes/`` imported under
    their bare names (possible from a checkout, where the current folder is on sys.path) would be a second
    copy of every module, with its own classes and state."""
    yield None
    for name in ("engine", "nodes"):
        module = sys.modules.get(name)
        origin = Path(getattr(module, "__file__", "") or "/").resolve()
        assert not origin.is_relative_to(REPOSITORY / name), f"something imported the bare module {name!r}"
