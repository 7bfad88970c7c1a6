"""The official ComfyUI workflow templates (PyPI ``comfyui-workflow-templates-json``) against the nodes of issue 19:
every widget value the templates store for these nodes converts (UI → API) onto our inputs and passes
validation — names, order, ranges and choices as the templates' own widget lists have them.

Links to node types Inkgraph does not have yet are dropped, so a missing input caused by them is not counted;
only errors about the values themselves are.
"""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

import pytest

from inkgraph.engine.core.formats.to_api import ui_to_api
from inkgraph.engine.core.validation import validate_prompt
from inkgraph.engine.runtime.packs import default_registry
from inkgraph.nodes import (
    bounding_boxes,
    image_batch,
    image_morphology,
    image_resize,
    image_transform,
    latent_ops,
    logic,
    mask_ops,
    math_expression,
    save_nodes,
    strings,
)

templates_pkg = pytest.importorskip("comfyui_workflow_templates_json")

FAMILIES = (latent_ops, image_transform, image_resize, image_batch, image_morphology, mask_ops, strings, logic,
            math_expression, save_nodes, bounding_boxes)
VALUE_ERRORS = {"value_smaller_than_min", "value_bigger_than_max", "value_not_in_list", "invalid_input_type",
                "custom_validation_failed", "exception_during_validation"}


def _templates() -> list[tuple[str, dict[str, Any]]]:
    folder = resources.files(templates_pkg) / "templates"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json") and not entry.name.startswith("index"):
            try:
                data = json.loads(entry.read_text(encoding="utf-8"))
            except ValueError:
                continue
            if isinstance(data, dict) and "nodes" in data:
                out.append((entry.name, data))
    return out


def test_template_widget_values_fit_our_declarations(tmp_path: Any) -> None:
    from inkgraph.engine import spec_of
    from inkgraph.engine.core.paths import Folders

    registry = default_registry(entry_points=False)
    ours = {spec_of(n).class_type for family in FAMILIES for n in family.NODES}
    folders = Folders.at(tmp_path)
    used: Counter[str] = Counter()
    problems = []
    for name, workflow in _templates():
        prompt, _ = ui_to_api(workflow, registry.get)
        known = {k: v for k, v in prompt.items() if v["class_type"] in registry}
        dropped: dict[str, set[str]] = {}
        for node_id, entry in known.items():
            for input_name, value in list(entry["inputs"].items()):
                if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and value[0] not in known:
                    dropped.setdefault(node_id, set()).add(input_name)
                    del entry["inputs"][input_name]
            if entry["class_type"] in ours:
                used[entry["class_type"]] += 1
        result = validate_prompt(known, registry, folders)
        for node_id, errors in result.node_errors.items():
            if errors.class_type not in ours:
                continue
            problems += [(name, node_id, errors.class_type, e.type, e.details) for e in errors.errors
                         if e.type in VALUE_ERRORS]
    assert not problems, problems[:10]
    # the templates exercise most of these nodes; the busiest ones by far
    assert used["ComfySwitchNode"] > 100 and used["ComfyMathExpression"] > 50 and used["PreviewAny"] > 50
    assert {"GetImageSize", "StringConcatenate", "SaveImageAdvanced", "ResizeImageMaskNode", "ImageCompare",
            "BatchImagesNode", "ResolutionSelector", "SaveText", "CreateBoundingBoxes", "CustomCombo",
            "RegexExtract", "Canny", "MaskComposite"} <= set(used)
