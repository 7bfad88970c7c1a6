"""Test-wide settings: offline, and one torch thread (two threads on a busy 2-core machine ran 3–5× slower)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

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
