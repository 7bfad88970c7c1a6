"""Test-wide settings: offline, and one torch thread (two threads on a busy 2-core machine ran 3–5× slower).

Tests marked ``cuda`` need a GPU: without one they are skipped, with the reason, at collection (torch is
imported only when such a test was collected, so the engine's torch-free tests stay torch-free).
"""

from __future__ import annotations

import os

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
