"""API prompt → UI workflow (v0.4) with a readable automatic layout, so a headless workflow opens in the
canvas (ours or ComfyUI's) and converts back to the same prompt.

Nodes get the size the canvases draw them at and places where none overlaps (:mod:`.layout`). Widget
values are written in the frontend's order, with the extra values it expects after control_after_generate
inputs ("fixed", so the seed does not change on the first queue) and after image upload combos ("image").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..spec import NodeSpec
from ..workflow import is_link, unwrap_constant
from .layout import box_for, drawn_size, place, topological
from .to_api import has_control, widget_inputs

SpecOf = Callable[[str], NodeSpec | None]


def _type_name(kind: Any) -> str:
    return "COMBO" if isinstance(kind, (list, tuple)) else str(kind)


def api_to_ui(prompt: dict[str, Any], spec_of: SpecOf) -> dict[str, Any]:
    """A v0.4 workflow for ``prompt``. Node ids stay the same where they are integers; others are numbered."""
    ids: dict[str, int] = {}
    numeric = [int(k) for k in prompt if str(k).isdigit()]
    next_id = max(numeric, default=0) + 1
    for node_id in prompt:
        if str(node_id).isdigit():
            ids[node_id] = int(node_id)
        else:
            ids[node_id] = next_id
            next_id += 1
    edges = {n: [v[0] for v in prompt[n].get("inputs", {}).values() if is_link(v) and v[0] in prompt]
             for n in prompt}
    order = topological(list(prompt), edges)

    nodes: list[dict[str, Any]] = []
    links: list[list[Any]] = []
    outputs_of: dict[str, list[dict[str, Any]]] = {}
    sizes: dict[str, tuple[float, float]] = {}
    for index, node_id in enumerate(order):
        entry = prompt[node_id]
        class_type = entry.get("class_type", "")
        spec = spec_of(class_type)
        outputs = [{"name": o.name, "type": _type_name(o.type), "links": [], "slot_index": i}
                   for i, o in enumerate(spec.outputs)] if spec else []
        outputs_of[node_id] = outputs
        inputs: list[dict[str, Any]] = []
        values: list[Any] = []
        raw = entry.get("inputs", {})
        if spec is not None:
            for inp in spec.inputs:
                if not inp.is_widget:
                    inputs.append({"name": inp.name, "type": inp.type, "link": None})
            for inp in widget_inputs(spec):
                value = raw.get(inp.name, inp.widget_default())
                if is_link(value):
                    inputs.append({"name": inp.name, "type": inp.type, "widget": {"name": inp.name}, "link": None})
                    value = inp.widget_default()
                values.append(unwrap_constant(value))
                if has_control(inp):
                    values.append("fixed")
                elif inp.image_upload or inp.extra.get("video_upload"):  # LoadVideo: the same button
                    values.append("image")
        for name, value in raw.items():  # links to inputs the spec does not know (extra inputs)
            if is_link(value) and not any(i["name"] == name for i in inputs):
                inputs.append({"name": name, "type": "*", "link": None})
        title = (entry.get("_meta") or {}).get("title")
        linked = {i["widget"]["name"] for i in inputs if "widget" in i}
        shown = str(title or (spec.display_name if spec is not None else class_type))
        box = box_for(spec, shown, [str(i["name"]) for i in inputs], [str(o["name"]) for o in outputs], linked,
                      extra_values=sum(not is_link(v) for v in raw.values()))
        sizes[node_id] = drawn_size(box)
        node: dict[str, Any] = {
            "id": ids[node_id], "type": class_type, "pos": [0.0, 0.0],
            "size": list(sizes[node_id]), "flags": {}, "order": index, "mode": 0,
            "inputs": inputs, "outputs": outputs, "properties": {"Node name for S&R": class_type},
            "widgets_values": values,
        }
        if title and (spec is None or title != spec.display_name):
            node["title"] = title
        nodes.append(node)
    positions = place(order, edges, sizes)
    for node_id, node in zip(order, nodes, strict=True):
        node["pos"] = list(positions[node_id])
    by_id = {n["id"]: n for n in nodes}
    for node_id in order:
        target = by_id[ids[node_id]]
        for slot, inp in enumerate(target["inputs"]):
            value = prompt[node_id].get("inputs", {}).get(inp["name"])
            if not is_link(value) or value[0] not in prompt:
                continue
            source_outputs = outputs_of[value[0]]
            source_slot = int(value[1])
            kind = source_outputs[source_slot]["type"] if source_slot < len(source_outputs) else inp["type"]
            link_id = len(links) + 1
            links.append([link_id, ids[value[0]], source_slot, ids[node_id], slot, kind])
            inp["link"] = link_id
            if source_slot < len(source_outputs):
                source_outputs[source_slot]["links"].append(link_id)
    return {"last_node_id": max(ids.values(), default=0), "last_link_id": len(links), "nodes": nodes,
            "links": links, "groups": [], "config": {}, "extra": {},
            "version": 0.4}
