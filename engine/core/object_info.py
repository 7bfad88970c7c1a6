"""``/object_info``: every NodeSpec rendered in exactly ComfyUI's V1 shape, keys and order included; a
ComfyUI V3 node as ComfyUI renders V3 nodes (its spec's ``info``: more fields than a V1 node has).

Clients (ComfyUI's frontend, our canvas, API libraries) learn node types from this alone, so a native node
and an adapted ComfyUI node must be indistinguishable here.
"""

from __future__ import annotations

import logging
from typing import Any

from .paths import Folders
from .registry import NodeRegistry
from .spec import NodeSpec

log = logging.getLogger(__name__)


def node_info(spec: NodeSpec, folders: Folders | None) -> dict[str, Any]:
    """The object_info entry of one node type."""
    if spec.info is not None:
        return spec.info(folders)
    required = {i.name: i.input_config(folders) for i in spec.inputs if not i.optional}
    optional = {i.name: (i.optional_twin or i).input_config(folders) for i in spec.inputs
                if i.optional or i.optional_twin is not None}
    inputs: dict[str, Any] = {"required": required}
    order: dict[str, list[str]] = {"required": list(required)}
    if optional:
        inputs["optional"] = optional
        order["optional"] = list(optional)
    if spec.hidden:
        inputs["hidden"] = dict(spec.hidden)
        order["hidden"] = list(spec.hidden)
    info: dict[str, Any] = {
        "input": inputs,
        "input_order": order,
        "output": [list(o.type) if isinstance(o.type, tuple) else o.type for o in spec.outputs],
        "output_is_list": [o.is_list for o in spec.outputs],
        "output_name": [o.name for o in spec.outputs],
        "name": spec.class_type,
        "display_name": spec.display_name,
        "description": spec.description,
        "python_module": spec.python_module,
        "category": spec.category,
        "output_node": spec.output_node,
    }
    if any(o.tooltip for o in spec.outputs):
        info["output_tooltips"] = [o.tooltip or "" for o in spec.outputs]
    if any(o.matchtype for o in spec.outputs):  # V3 match-type outputs: the template each one follows
        info["output_matchtypes"] = [o.matchtype for o in spec.outputs]
    if spec.deprecated:
        info["deprecated"] = True
    if spec.experimental:
        info["experimental"] = True
    return info


def object_info(registry: NodeRegistry, folders: Folders | None) -> dict[str, Any]:
    """All node types. A node whose description fails (a broken choices provider) is logged and skipped."""
    out: dict[str, Any] = {}
    for spec in registry:
        try:
            out[spec.class_type] = node_info(spec, folders)
        except Exception:
            log.exception("object_info for %s failed", spec.class_type)
    return out
