"""API → UI layout: every example workflow converts to nodes that do not overlap, each at least as large as
the canvases draw it (our canvas's text box, ComfyUI's 400 × 200 minimum for a node with one)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.formats import api_to_ui, ui_to_api
from inkgraph.engine.core.formats.layout import TITLE_HEIGHT
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.runtime.packs import default_registry

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


def rectangles(workflow: dict[str, Any], registry: NodeRegistry) -> dict[str, tuple[float, float, float, float]]:
    """Each node as drawn: its body and the title bar above it (left, top, right, bottom). ComfyUI's
    frontend grows a node with a text box to at least 400 × 200 whatever the file says."""
    found = {}
    for n in workflow["nodes"]:
        spec = registry.get(n["type"])
        width, height = n["size"]
        if spec is not None and any(i.multiline for i in spec.inputs):
            width, height = max(width, 400), max(height, 200)
        found[f"{n['id']} {n.get('title') or n['type']}"] = (
            n["pos"][0], n["pos"][1] - TITLE_HEIGHT, n["pos"][0] + width, n["pos"][1] + height)
    return found


def overlaps(workflow: dict[str, Any], registry: NodeRegistry) -> list[tuple[str, str]]:
    found = []
    for (a, ra), (b, rb) in itertools.combinations(rectangles(workflow, registry).items(), 2):
        if ra[0] < rb[2] and rb[0] < ra[2] and ra[1] < rb[3] and rb[1] < ra[3]:
            found.append((a, b))
    return found


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.json")))
def test_no_two_nodes_overlap_after_api_to_ui(registry: NodeRegistry, name: str) -> None:
    data = json.loads((WORKFLOWS / name).read_text())
    prompt = ui_to_api(data, registry.get)[0] if "nodes" in data else data
    workflow = api_to_ui(prompt, registry.get)
    assert len(workflow["nodes"]) == len(prompt)
    assert overlaps(workflow, registry) == []


def test_sizes_are_what_the_canvases_draw(registry: NodeRegistry) -> None:
    prompt = json.loads((WORKFLOWS / "txt2img.json").read_text())
    nodes = {n["type"]: n for n in api_to_ui(prompt, registry.get)["nodes"]}
    text = nodes["CLIPTextEncode"]["size"]
    assert text[0] >= 400 and text[1] >= 200  # ComfyUI's frontend: minNodeSize of a node with a text box
    # KSampler: 4 socket rows, 6 widgets and the control_after_generate widget, as LiteGraph computes it
    assert nodes["KSampler"]["size"][1] >= 4 * 20 + 7 * 24 + 8 + 6
    save = nodes["SaveImage"]["size"]
    assert save[1] >= 20 + 24 + 8 + 6 + 220  # room for the image it will show
    load = nodes["CheckpointLoaderSimple"]
    assert load["size"][0] >= len(load["title"]) * 8.4  # the title fits


def test_a_wide_text_node_does_not_cover_its_neighbour_below(registry: NodeRegistry) -> None:
    """The reported case: two CLIPTextEncode in one column, the second one over the first's text box."""
    prompt = json.loads((WORKFLOWS / "txt2img.json").read_text())
    workflow = api_to_ui(prompt, registry.get)
    texts = sorted((n for n in workflow["nodes"] if n["type"] == "CLIPTextEncode"), key=lambda n: n["pos"][1])
    upper, lower = texts
    assert upper["pos"][0] == lower["pos"][0]
    assert lower["pos"][1] - TITLE_HEIGHT >= upper["pos"][1] + upper["size"][1]


@pytest.mark.parametrize("name", sorted(p.name for p in WORKFLOWS.glob("*.ui.json")))
def test_shipped_ui_layouts_do_not_overlap(registry: NodeRegistry, name: str) -> None:
    assert overlaps(json.loads((WORKFLOWS / name).read_text()), registry) == []
