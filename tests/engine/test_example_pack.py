"""The example pack in examples/ (documented in docs/plugins.md): installed as a distribution with an
``inkgraph.nodes`` entry point, and dropped into custom_nodes/."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.runtime.packs import default_registry

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inkgraph-example-pack"


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What ``pip install`` leaves behind: the package and a dist-info with the entry point, on sys.path."""
    site = tmp_path / "site"
    shutil.copytree(EXAMPLE / "inkgraph_example_pack", site / "inkgraph_example_pack")
    info = site / "inkgraph_example_pack-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: inkgraph-example-pack\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[inkgraph.nodes]\nexample_pack = inkgraph_example_pack:node_list\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(__import__("sys").modules, "inkgraph_example_pack", raising=False)
    return site


def workflow() -> dict[str, Any]:
    return {"1": {"class_type": "ExampleNoise", "inputs": {"seed": 3, "width": 16, "height": 8}},
            "2": {"class_type": "ExampleRepeatTint", "inputs": {"image": ["1", 0], "times": 2, "color": "green"}},
            "3": {"class_type": "ExampleStats", "inputs": {"image": ["2", 0]}},
            "4": {"class_type": "ExampleDelayedText", "inputs": {"text": "done", "delay": 0.01}},
            "5": {"class_type": "ExampleShowText", "inputs": {"text": ["4", 0]}}}


def test_entry_point_pack_loads_and_runs(installed: Path, tmp_path: Path) -> None:
    registry = default_registry(entry_points=True)
    status = registry.packs["example_pack"]
    assert status.loaded and status.node_count == 6, status
    assert status.web_directory and status.web_directory.endswith("web")
    runtime = Runtime.create(Settings(base_dir=tmp_path / "base"), registry=registry)
    prompt = workflow()
    result, outcome = runtime.run(prompt)
    assert result.ok, result.error_body()
    assert outcome is not None and outcome.status_str == "success", outcome.error
    (text,) = outcome.outputs["3"]["text"]
    assert text.startswith("16×8") and len([n for n in outcome.executed if n.startswith("2.")]) == 2
    assert outcome.outputs["5"] == {"text": ["DONE"]}  # the async node was awaited
    _, again = runtime.run(prompt)
    assert again is not None and "1" in again.executed  # ALWAYS_RUN: the noise runs every time


def test_example_pack_as_a_custom_nodes_folder(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE / "inkgraph_example_pack", tmp_path / "custom_nodes" / "example_pack")
    runtime = Runtime.create(Settings(base_dir=tmp_path), registry=default_registry(
        entry_points=False, custom_nodes=[tmp_path / "custom_nodes"]))
    assert runtime.registry.packs["example_pack"].node_count == 6
    assert runtime.registry.web_directories()["example_pack"].name == "web"
    from inkgraph.engine import spec_of

    tint = runtime.registry.get("ExampleTint")
    assert tint is not None and tint.input("strength").tooltip == "How much tint"  # type: ignore[union-attr]
    delayed = runtime.registry.get("ExampleDelayedText")
    assert delayed is not None and [o.type for o in delayed.outputs] == ["STRING"]
    assert spec_of  # the public API the pack imports
    result, outcome = runtime.run({"1": {"class_type": "ExampleDelayedText", "inputs": {"text": "ok", "delay": 0.0}},
                                   "2": {"class_type": "ExampleShowText", "inputs": {"text": ["1", 0]}}})
    assert result.ok and outcome is not None and outcome.outputs["2"] == {"text": ["OK"]}
