"""ComfyUI's V3 dynamic inputs on native nodes: Autogrow, DynamicCombo, MatchType, accept_all_inputs and the
canvas's own widget types — object_info, validation, the node call, UI→API conversion. No torch."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest

from inkgraph.engine import (
    MATCHTYPE_TYPE,
    Autogrow,
    Combo,
    DynamicCombo,
    Int,
    MatchType,
    NodeOutput,
    Output,
    Socket,
    input_spec,
    node,
    spec_of,
)
from inkgraph.engine.core.dynamic import expand, nest
from inkgraph.engine.core.formats.to_api import ui_to_api, widget_values
from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime

Number = Annotated[Any, Socket(type="NUMBER")]
SEEN: list[Any] = []


@node(category="test")
def DynConst(value: Annotated[int, Int(min=-100, max=100)] = 0) -> Number:
    return value


@node(category="test")
def DynSum(values: Annotated[dict[str, Any], Autogrow(input_spec("value", Number), names=["a", "b", "c"],
                                                       min=1)]) -> Number:
    """Sums whatever is connected to a, b, c."""
    SEEN.append(dict(values))
    return sum(values.values())


_SIZE = {
    "fixed": [input_spec("width", Annotated[int, Int(min=1, max=64)], 8),
              input_spec("height", Annotated[int, Int(min=1, max=64)], 4)],
    "by": [input_spec("factor", Annotated[int, Int(min=1, max=4)], 2)],
    "nested": [input_spec("inner", Annotated[dict[str, Any], DynamicCombo({
        "x": [input_spec("xv", Annotated[int, Int()], 1)], "y": []})])],
}


@node(category="test")
def DynArea(mode: Annotated[dict[str, Any], DynamicCombo(_SIZE, tooltip="how")],
            scale: Annotated[int, Int(min=1, max=3)] = 1) -> Number:
    SEEN.append(mode)
    if mode["mode"] == "fixed":
        return mode["width"] * mode["height"] * scale
    if mode["mode"] == "by":
        return mode["factor"] * scale
    return -1


@node(category="test")
def DynPass(value: Annotated[Any, MatchType("t")]) -> Annotated[Any, Output("out", type=MATCHTYPE_TYPE, matchtype="t")]:
    return value


@node(category="test", accept_all_inputs=True)
def DynAll(choice: Annotated[str, Combo(options=("a", "b"))], **kwargs: Any) -> Number:
    SEEN.append(dict(kwargs))
    return len(kwargs)


@node(category="test", output_node=True, outputs=[])
def DynOut(value: Number, view: Annotated[Any, Socket(type="IMAGECOMPARE", extra={"socketless": True})]) -> NodeOutput:
    SEEN.append(view)
    return NodeOutput(ui={"value": [value]})


NODES = [DynConst, DynSum, DynArea, DynPass, DynAll, DynOut]


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    registry = NodeRegistry()
    registry.load_pack("dyn", "tests", lambda: NODES)
    SEEN.clear()
    return Runtime.create(Settings(base_dir=tmp_path), registry=registry)


def test_object_info_renders_comfyui_v3_declarations() -> None:
    info = node_info(spec_of(DynSum), None)
    assert info["input"]["required"]["values"] == ["COMFY_AUTOGROW_V3", {"template": {
        "input": {"required": {"value": ["NUMBER", {}]}}, "names": ["a", "b", "c"], "min": 1}}]
    area = node_info(spec_of(DynArea), None)["input"]["required"]["mode"]
    assert area[0] == "COMFY_DYNAMICCOMBO_V3" and area[1]["tooltip"] == "how"
    assert [o["key"] for o in area[1]["options"]] == ["fixed", "by", "nested"]
    assert area[1]["options"][0]["inputs"] == {"required": {
        "width": ["INT", {"default": 8, "min": 1, "max": 64}], "height": ["INT", {"default": 4, "min": 1, "max": 64}]}}
    passing = node_info(spec_of(DynPass), None)
    assert passing["input"]["required"]["value"] == ["COMFY_MATCHTYPE_V3", {"template": {
        "template_id": "t", "allowed_types": "*"}}]
    assert passing["output"] == ["COMFY_MATCHTYPE_V3"] and passing["output_matchtypes"] == ["t"]
    template_widget = input_spec("w", Annotated[int, Int()], 0)  # widget templates become sockets
    grown = Autogrow(template_widget, prefix="w", max=3)
    assert grown.extra["template"]["input"]["required"]["w"][1]["forceInput"] is True


def test_expansion_follows_the_prompt() -> None:
    spec = spec_of(DynArea)
    names = [i.name for i in expand(spec.inputs, {"mode": "fixed", "mode.width": 3, "scale": 1})]
    assert names == ["mode", "mode.width", "mode.height", "scale"]
    nested = expand(spec.inputs, {"mode": "nested", "mode.inner": "x"})
    assert [i.name for i in nested] == ["mode", "mode.inner", "mode.inner.xv", "scale"]
    assert nest({"mode": "nested", "mode.inner": "x", "mode.inner.xv": 5, "scale": 2}, spec.inputs[:1]) == {
        "mode": {"mode": "nested", "inner": {"inner": "x", "xv": 5}}, "scale": 2}
    grow = spec_of(DynSum)
    assert [i.name for i in expand(grow.inputs, {"values.b": ["1", 0], "values.zz": 1})] == ["values.b"]
    assert nest({}, grow.inputs) == {"values": {}}


def test_autogrow_runs_with_the_connected_inputs(runtime: Runtime) -> None:
    prompt = {"1": {"class_type": "DynConst", "inputs": {"value": 2}},
              "2": {"class_type": "DynConst", "inputs": {"value": 5}},
              "3": {"class_type": "DynSum", "inputs": {"values.a": ["1", 0], "values.c": ["2", 0]}},
              "4": {"class_type": "DynOut", "inputs": {"value": ["3", 0], "view": None}}}
    result, outcome = runtime.run(prompt)
    assert result.ok, result.error_body()
    assert outcome is not None and outcome.outputs["4"] == {"value": [7]}
    assert SEEN[0] == {"a": 2, "c": 5}


def test_dynamic_combo_validates_the_chosen_option(runtime: Runtime) -> None:
    def prompt(mode_inputs: dict[str, Any]) -> dict[str, Any]:
        return {"1": {"class_type": "DynArea", "inputs": {**mode_inputs, "scale": 2}},
                "2": {"class_type": "DynOut", "inputs": {"value": ["1", 0], "view": {"before": "x"}}}}

    result, outcome = runtime.run(prompt({"mode": "fixed", "mode.width": 3, "mode.height": 5}))
    assert result.ok and outcome is not None and outcome.outputs["2"] == {"value": [30]}
    assert SEEN == [{"mode": "fixed", "width": 3, "height": 5}, {"before": "x"}]
    bad = runtime.validate(prompt({"mode": "fixed", "mode.width": 99}))
    errors = {(e.type, e.details) for e in bad.node_errors["1"].errors}
    assert ("value_bigger_than_max", "mode.width") in errors
    assert ("required_input_missing", "mode.height") in errors
    unknown = runtime.validate(prompt({"mode": "zoom"}))
    assert unknown.node_errors["1"].errors[0].type == "value_not_in_list"
    missing = runtime.validate(prompt({}))
    assert missing.node_errors["1"].errors[0].type == "required_input_missing"


def test_matchtype_takes_and_gives_any_type(runtime: Runtime) -> None:
    prompt = {"1": {"class_type": "DynConst", "inputs": {"value": 4}},
              "2": {"class_type": "DynPass", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "DynOut", "inputs": {"value": ["2", 0], "view": None}}}
    result, outcome = runtime.run(prompt)
    assert result.ok and outcome is not None and outcome.outputs["3"] == {"value": [4]}
    # the canvas gives a match-type input a widget when the matched type has one: a constant is fine
    constant = {**prompt, "2": {"class_type": "DynPass", "inputs": {"value": 9}}}
    result, outcome = runtime.run(constant)
    assert result.ok and outcome is not None and outcome.outputs["3"] == {"value": [9]}


def test_accept_all_inputs_passes_canvas_widgets(runtime: Runtime) -> None:
    prompt = {"1": {"class_type": "DynAll", "inputs": {"choice": "b", "index": 1, "option0": "a"}},
              "2": {"class_type": "DynOut", "inputs": {"value": ["1", 0], "view": None}}}
    result, outcome = runtime.run(prompt)
    assert result.ok and outcome is not None and outcome.outputs["2"] == {"value": [2]}
    assert SEEN[0] == {"index": 1, "option0": "a"}


def test_ui_workflow_widgets_follow_the_chosen_option() -> None:
    spec = spec_of(DynArea)
    assert widget_values(spec, ["by", 3, 2]) == {"mode": "by", "mode.factor": 3, "scale": 2}
    assert widget_values(spec, ["fixed", 6, 7, 3]) == {"mode": "fixed", "mode.width": 6, "mode.height": 7, "scale": 3}
    # Shorter lists (a workflow saved by an older node version) get the widgets' defaults, as the canvas does.
    assert widget_values(spec, ["fixed"]) == {"mode": "fixed", "mode.width": 8, "mode.height": 4, "scale": 1}
    assert widget_values(spec_of(DynOut), []) == {"view": None}
    workflow = {"last_node_id": 2, "last_link_id": 1, "version": 0.4, "links": [[1, 1, 0, 2, 0, "NUMBER"]],
                "nodes": [{"id": 1, "type": "DynArea", "widgets_values": ["by", 4, 1], "outputs": [
                              {"name": "NUMBER", "type": "NUMBER", "links": [1]}]},
                          {"id": 2, "type": "DynOut", "inputs": [{"name": "value", "type": "NUMBER", "link": 1}],
                           "widgets_values": [{"before": "a", "after": "b"}]}]}
    registry = NodeRegistry()
    registry.load_pack("dyn", "tests", lambda: NODES)
    prompt, _ = ui_to_api(workflow, registry.get)
    assert prompt["1"]["inputs"] == {"mode": "by", "mode.factor": 4, "scale": 1}
    assert prompt["2"]["inputs"]["view"] == {"before": "a", "after": "b"}
