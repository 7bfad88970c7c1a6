"""ComfyUI's UI workflow format (the canvas's save format), versions 0.4 and 1, as permissive pydantic
models: the fields conversion reads are typed, every other key is kept so a file survives a round trip.

0.4 stores links as arrays ``[id, origin_id, origin_slot, target_id, target_slot, type]``; 1 stores link
objects and a ``state`` block. Both may carry ``definitions.subgraphs``: a subgraph is itself a workflow
whose nodes talk to the outside through a virtual input node (id -10) and output node (id -20); a node whose
``type`` is a subgraph's id is an instance of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SUBGRAPH_INPUT_NODE = -10
SUBGRAPH_OUTPUT_NODE = -20
MODE_NEVER = 2  # muted
MODE_BYPASS = 4


class UINodeSlot(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = ""
    type: Any = "*"
    link: int | None = None
    links: list[int] | None = None
    widget: dict[str, Any] | None = None


class UINode(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int | str
    type: str
    pos: Any = None
    size: Any = None
    mode: int = 0
    inputs: list[UINodeSlot] = Field(default_factory=list)
    outputs: list[UINodeSlot] = Field(default_factory=list)
    widgets_values: list[Any] | dict[str, Any] | None = None
    title: str | None = None
    properties: dict[str, Any] = Field(default_factory=dict)


class UILinkObject(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    origin_id: int | str
    origin_slot: int
    target_id: int | str
    target_slot: int
    type: Any = "*"


class SubgraphDefinition(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    name: str = ""
    nodes: list[UINode] = Field(default_factory=list)
    links: list[Any] = Field(default_factory=list)
    inputs: list[dict[str, Any]] = Field(default_factory=list)
    outputs: list[dict[str, Any]] = Field(default_factory=list)
    widgets: list[dict[str, Any]] = Field(default_factory=list)


class Definitions(BaseModel):
    model_config = ConfigDict(extra="allow")

    subgraphs: list[SubgraphDefinition] = Field(default_factory=list)


class UIWorkflow(BaseModel):
    """A whole saved workflow (0.4 or 1)."""

    model_config = ConfigDict(extra="allow")

    version: float | int = 0.4
    nodes: list[UINode] = Field(default_factory=list)
    links: list[Any] | None = Field(default_factory=list)
    groups: list[Any] | None = None
    definitions: Definitions | None = None


def is_ui_workflow(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("nodes"), list) and (
        "links" in data or data.get("version") == 1 or "last_node_id" in data or "state" in data)


@dataclass(frozen=True)
class Link:
    id: int
    origin_id: str
    origin_slot: int
    target_id: str
    target_slot: int
    type: Any


def parse_links(raw: list[Any] | None) -> dict[int, Link]:
    """Links of either version, keyed by id; node ids as strings (they may be ints in the file)."""
    links: dict[int, Link] = {}
    for item in raw or []:
        if isinstance(item, list) and len(item) >= 5:
            link = Link(int(item[0]), str(item[1]), int(item[2]), str(item[3]), int(item[4]),
                        item[5] if len(item) > 5 else "*")
        elif isinstance(item, dict):
            obj = UILinkObject.model_validate(item)
            link = Link(obj.id, str(obj.origin_id), obj.origin_slot, str(obj.target_id), obj.target_slot, obj.type)
        else:
            continue
        links[link.id] = link
    return links
