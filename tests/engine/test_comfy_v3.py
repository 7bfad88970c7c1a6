"""ComfyUI V3 packs (``comfy_api.latest``, ``comfy_entrypoint``) load and run unchanged: the test pack in
tests/fixtures/comfy_v3_pack uses every ``io`` type and option. ``/object_info`` entries are compared with
what ComfyUI's V3 schema renders (``GET_NODE_INFO_V1``), written down here from its rules."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.events import Event, Progress
from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "comfy_v3_pack"

# The fields ComfyUI's V3 nodes carry in /object_info, in its order, with their values for a plain node.
V3_DEFAULTS = {"is_input_list": False, "output_matchtypes": None, "description": "",
               "python_module": "custom_nodes.comfy_v3_pack", "output_node": False, "deprecated": False,
               "experimental": False, "dev_only": False, "api_node": False, "price_badge": None,
               "search_aliases": None, "essentials_category": None, "has_intermediate_output": False}
V3_KEYS = ["input", "input_order", "is_input_list", "output", "output_is_list", "output_name", "output_tooltips",
           "output_matchtypes", "name", "display_name", "description", "python_module", "category", "output_node",
           "deprecated", "experimental", "dev_only", "api_node", "price_badge", "search_aliases",
           "essentials_category", "has_intermediate_output"]


def install(base: Path) -> Path:
    shutil.copytree(PACK, base / "custom_nodes" / "comfy_v3_pack")
    return base


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return Runtime.create(Settings(base_dir=install(tmp_path_factory.mktemp("v3"))))


def info(runtime: Runtime, class_type: str) -> dict[str, Any]:
    spec = runtime.registry.get(class_type)
    assert spec is not None, class_type
    rendered = node_info(spec, runtime.folders)
    assert list(rendered) == V3_KEYS
    return rendered


def run(runtime: Runtime, prompt: dict[str, Any]) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    unsubscribe = runtime.bus.subscribe(lambda event, target: events.append(event))
    try:
        result, outcome = runtime.run(prompt)
    finally:
        unsubscribe()
    assert result.ok, result.error_body()
    assert outcome is not None and outcome.status_str == "success", outcome and outcome.error
    return outcome, events


def show(node: str, source: list[Any]) -> dict[str, Any]:
    return {node: {"class_type": "V3Show", "inputs": {"value": source}}}


def test_the_pack_loads_through_its_entrypoint(runtime: Runtime) -> None:
    status = runtime.registry.packs["comfy_v3_pack"]
    assert status.loaded and status.kind == "comfyui-v3" and status.node_count == 18 and not status.skipped_nodes
    import folder_paths  # the extension's on_load ran first

    assert "v3_fixture_models" in folder_paths.folder_names_and_paths


def test_object_info_of_widgets(runtime: Runtime) -> None:
    widgets = info(runtime, "V3Widgets")
    assert widgets == {**V3_DEFAULTS, **{
        "input": {
            "required": {
                "count": ["INT", {"tooltip": "how many", "default": 3, "min": 0, "max": 10, "step": 1,
                                  "control_after_generate": True, "display": "slider"}],
                "strength": ["FLOAT", {"default": 0.5, "min": 0.0, "max": 1.0, "step": 0.05, "round": 0.01}],
                "text": ["STRING", {"default": "hello", "multiline": True, "placeholder": "type",
                                    "dynamicPrompts": False}],
                "flag": ["BOOLEAN", {"default": True, "label_on": "yes", "label_off": "no"}],
                "mode": ["COMBO", {"default": "second", "multiselect": False, "options": ["first", "second"]}],
                "shade": ["COMBO", {"default": "dark", "multiselect": False, "options": ["light", "dark"]}],
                "tags": ["COMBO", {"default": ["red"], "multiselect": True, "options": ["red", "green", "blue"],
                                   "multi_select": {"chip": True}}],
                "color": ["COLOR", {"default": "#ff0000", "socketless": True}],
            },
            "optional": {
                "picture": ["COMBO", {"multiselect": False, "options": ["a.png", "b.png"], "image_upload": True,
                                      "image_folder": "input"}],
                "box": ["BOUNDING_BOX", {"default": {"x": 0, "y": 0, "width": 512, "height": 512},
                                         "socketless": True}],
                "curve": ["CURVE", {"default": {"points": [[0.0, 0.0], [1.0, 1.0]], "interpolation":
                                                "monotone_cubic"}, "socketless": True}],
                "span": ["RANGE", {"default": {"min": 0.0, "max": 1.0}, "socketless": True}],
                "note": ["STRING", {"advanced": True, "forceInput": True, "multiline": False}],
                "extra": ["INT", {"my_option": 7, "default": 1}],
            },
        },
        "input_order": {"required": ["count", "strength", "text", "flag", "mode", "shade", "tags", "color"],
                        "optional": ["picture", "box", "curve", "span", "note", "extra"]},
        "output": ["STRING", "INT", "FLOAT", "BOOLEAN", "COMBO"],
        "output_is_list": [False] * 5,
        "output_name": ["json", "INT", "FLOAT", "BOOLEAN", "COMBO"],
        "output_tooltips": ["the values", None, None, None, None],
        "name": "V3Widgets", "display_name": "V3 Widgets", "description": "Echoes its widget values.",
        "category": "v3 fixture/values", "search_aliases": ["echo"],
    }}


def test_object_info_of_sockets_dynamic_inputs_and_flags(runtime: Runtime) -> None:
    sockets = info(runtime, "V3Sockets")
    optional = sockets["input"]["optional"]
    assert sockets["input"]["required"] == {}
    assert optional["image"] == ["IMAGE", {}] and optional["anytype"] == ["*", {}]
    assert optional["file3dany"] == ["FILE_3D", {}] and optional["histogram"] == ["HISTOGRAM", {}]
    assert optional["thing"] == ["MY_THING", {}]
    assert optional["number"] == ["FLOAT,INT", {"default": 1.5, "widgetType": "FLOAT"}]
    assert optional["either"] == ["IMAGE,MASK", {}]
    assert optional["matched"] == ["COMFY_MATCHTYPE_V3", {"template": {"template_id": "T",
                                                                       "allowed_types": "IMAGE,MASK"}}]
    assert len(optional) == 65 + 4
    assert sockets["output"] == ["STRING", "MY_THING", "COMFY_MATCHTYPE_V3"]
    assert sockets["output_name"] == ["present", "thing_out", "matched_out"]
    assert sockets["output_matchtypes"] == [None, None, "T"] and sockets["display_name"] is None

    dynamic = info(runtime, "V3Dynamic")
    assert dynamic["input"] == {
        "required": {
            "shape": ["COMFY_DYNAMICCOMBO_V3", {"options": [
                {"key": "square", "inputs": {"required": {"side": ["INT", {"default": 2, "min": 1, "max": 8}]}}},
                {"key": "rect", "inputs": {"required": {"width": ["INT", {"default": 3, "min": 1, "max": 8}],
                                                        "height": ["INT", {"default": 1, "min": 1, "max": 8}]}}}]}],
            "numbers": ["COMFY_AUTOGROW_V3", {"template": {
                "input": {"required": {"number": ["FLOAT", {"forceInput": True}]}}, "prefix": "n", "min": 1,
                "max": 4}}],
        },
        "optional": {"image": ["COMFY_DYNAMICSLOT_V3", {"slotType": "IMAGE", "inputs": {
            "required": {"weight": ["FLOAT", {"default": 1.0}]}}}]},
    }

    save = info(runtime, "V3Save")
    assert save["input"]["hidden"] == {"unique_id": ["UNIQUE_ID"], "prompt": ["PROMPT"],
                                       "extra_pnginfo": ["EXTRA_PNGINFO"]}
    assert save["input_order"] == {"required": ["images", "filename_prefix"], "optional": ["mask"],
                                   "hidden": ["unique_id", "prompt", "extra_pnginfo"]}
    assert save["output_node"] is True and save["output"] == [] and save["output_tooltips"] == []
    flags = info(runtime, "V3Flags")
    assert (flags["deprecated"], flags["experimental"], flags["dev_only"]) == (True, True, True)
    assert flags["essentials_category"] == "Basic" and flags["description"] == "flags"
    api = info(runtime, "V3ApiNode")
    assert api["api_node"] is True
    assert api["input"]["hidden"] == {"auth_token_comfy_org": ["AUTH_TOKEN_COMFY_ORG"],
                                      "api_key_comfy_org": ["API_KEY_COMFY_ORG"],
                                      "comfy_usage_source": ["COMFY_USAGE_SOURCE"]}
    lists = info(runtime, "V3Lists")
    assert lists["is_input_list"] is True and lists["output_is_list"] == [True, False]


def test_widgets_run_and_outputs_flow(runtime: Runtime) -> None:
    prompt = {"1": {"class_type": "V3Widgets", "inputs": {
        "count": 2, "strength": 0.25, "text": "hi", "flag": False, "mode": "first", "shade": "light",
        "tags": {"__value__": ["red", "blue"]}, "color": "#123456", "note": "wired"}},
        "3": {"class_type": "V3Count", "inputs": {"value": ["1", 1]}}, **show("2", ["1", 0])}
    outcome, _ = run(runtime, prompt)
    echoed = json.loads(outcome.outputs["2"]["text"][0])
    assert echoed == {"box": None, "color": "#123456", "count": 2, "extra": 1, "flag": False, "mode": "first",
                      "note": "wired", "picture": None, "shade": "light", "strength": 0.25, "tags": ["red", "blue"],
                      "text": "hi"}
    assert outcome.outputs["3"] == {"text": ["2"]}
    result, _ = runtime.run({**prompt, "1": {"class_type": "V3Widgets", "inputs": {
        **prompt["1"]["inputs"], "count": 11, "mode": "third"}}})
    assert {e.type for e in result.node_errors["1"].errors} == {"value_bigger_than_max", "value_not_in_list"}


def test_dynamic_inputs_are_nested_as_comfyui_does(runtime: Runtime) -> None:
    outcome, _ = run(runtime, {
        "1": {"class_type": "V3MakeImage", "inputs": {"size": 2, "value": 0.5}},
        "2": {"class_type": "V3Dynamic", "inputs": {"shape": "rect", "shape.width": 5, "shape.height": 2,
                                                    "numbers.n0": 1.5, "numbers.n2": 2.5, "image": ["1", 0],
                                                    "image.weight": 0.5}},
        **show("3", ["2", 0])})
    assert json.loads(outcome.outputs["3"]["text"][0]) == {
        "image": {"image": "tensor[1, 2, 2, 3]", "weight": 0.5}, "numbers": {"n0": 1.5, "n2": 2.5},
        "shape": {"height": 2, "shape": "rect", "width": 5}}
    result, _ = runtime.run({"2": {"class_type": "V3Dynamic", "inputs": {"shape": "circle"}}, **show("3", ["2", 0])})
    errors = {(e.type, e.extra_info.get("input_name")) for e in result.node_errors["2"].errors}
    assert errors == {("value_not_in_list", "shape"), ("required_input_missing", "numbers.n0")}


def test_match_type_lists_hidden_values_and_saving(runtime: Runtime) -> None:
    outcome, _ = run(runtime, {
        "1": {"class_type": "V3MakeImage", "inputs": {"size": 4, "value": 0.25}},
        "2": {"class_type": "V3Invert", "inputs": {"value": ["1", 1]}},  # a MASK through the IMAGE|MASK template
        "3": {"class_type": "V3Save", "inputs": {"images": ["1", 0], "mask": ["2", 0], "filename_prefix": "v3"}},
        "4": {"class_type": "V3Lists", "inputs": {"values": 3, "times": 2}},
        "5": {"class_type": "V3Count", "inputs": {"value": ["4", 0]}}})
    saved = outcome.outputs["3"]
    assert saved["images"] == [{"filename": "v3_00001_.png", "subfolder": "", "type": "output"}]
    assert saved["text"] == ["3:['1', '2', '3', '4', '5']"]  # unique_id and the prompt, hidden inputs
    assert saved["masks"][0]["type"] == "temp" and (runtime.folders.output / "v3_00001_.png").is_file()
    from PIL import Image

    with Image.open(runtime.folders.output / "v3_00001_.png") as png:
        assert "prompt" in png.info  # ComfyUI's metadata
    assert outcome.outputs["5"] == {"text": ["3", "3"]}


def test_lazy_expansion_async_progress_and_blockers(runtime: Runtime) -> None:
    from custom_nodes.comfy_v3_pack.flow import RUNS  # type: ignore[import-not-found]

    RUNS.update(lazy_a=0, lazy_b=0)
    outcome, events = run(runtime, {
        "1": {"class_type": "V3Source", "inputs": {"name": "a"}},
        "2": {"class_type": "V3Source", "inputs": {"name": "b"}},
        "3": {"class_type": "V3Choose", "inputs": {"pick_a": False, "a": ["1", 0], "b": ["2", 0]}},
        "4": {"class_type": "V3Repeat", "inputs": {"text": ["3", 0], "times": 3}},
        "5": {"class_type": "V3Async", "inputs": {"steps": 2}},
        "7": {"class_type": "V3Gate", "inputs": {"value": ["4", 0], "open": False}},
        **show("6", ["5", 0]), **show("8", ["7", 0]), **show("9", ["4", 0])})
    assert (RUNS["lazy_a"], RUNS["lazy_b"]) == (0, 1)  # only the branch it asked for
    assert outcome.outputs["9"] == {"text": ["b+++"]} and outcome.outputs["6"] == {"text": ["2"]}
    assert "8" not in outcome.outputs  # blocked
    progress = [(e.value, e.max) for e in events if isinstance(e, Progress) and e.node == "5"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert any(e.type == "execution_error" and e.data()["exception_message"].endswith("the gate is closed")
               for e in events)


def test_fingerprint_and_validate_inputs(runtime: Runtime) -> None:
    from custom_nodes.comfy_v3_pack.flow import RUNS

    def prompt(value: int, salt: str) -> dict[str, Any]:
        return {"1": {"class_type": "V3Fingerprinted", "inputs": {"value": value, "salt": salt}},
                "2": {"class_type": "V3Count", "inputs": {"value": ["1", 0]}}}

    RUNS["fingerprinted"] = 0
    run(runtime, prompt(1, "x"))
    run(runtime, prompt(1, "x"))
    assert RUNS["fingerprinted"] == 1  # same fingerprint: cached
    run(runtime, prompt(1, "y"))
    assert RUNS["fingerprinted"] == 2
    result, _ = runtime.run(prompt(13, "x"))  # validate_inputs owns "value": no range check, its own message
    [error] = result.node_errors["1"].errors
    assert error.type == "custom_validation_failed" and error.details == "value - 13 is unlucky"


def test_api_nodes_get_their_tokens_or_are_skipped(tmp_path: Path) -> None:
    runtime = Runtime.create(Settings(base_dir=install(tmp_path), api_nodes=False))
    status = runtime.registry.packs["comfy_v3_pack"]
    assert runtime.registry.get("V3ApiNode") is None and status.skipped_nodes == [
        "V3ApiNode: an API node (--disable-api-nodes)"]
