"""Validation: every ComfyUI error type, its exact shape, all errors at once, cycles, deep graphs."""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph.engine.core.graph_builder import GraphBuilder
from inkgraph.engine.core.validation import validate_prompt

from .stub_nodes import stub_registry

REGISTRY = stub_registry()


def validate(prompt: Any, **kw: Any):  # noqa: ANN201
    return validate_prompt(prompt, REGISTRY, **kw)


def simple(value: Any = 1, factor: Any = 2.0) -> dict[str, Any]:
    return {
        "1": {"class_type": "StubConst", "inputs": {"value": value}},
        "2": {"class_type": "StubScale", "inputs": {"value": ["1", 0], "factor": factor}},
        "3": {"class_type": "StubOutput", "inputs": {"value": ["2", 0], "label": "x"}},
    }


def only_error(result: Any, node: str) -> dict[str, Any]:
    errors = result.error_body()["node_errors"][node]["errors"]
    assert len(errors) == 1, errors
    return errors[0]


def test_valid_prompt_gives_plan_in_dependency_order() -> None:
    result = validate(simple())
    assert result.ok and result.error is None and result.node_errors == {}
    assert result.plan.order == ["1", "2", "3"] and result.plan.outputs == ["3"]
    assert result.plan.nodes["2"].links == {"value": ("1", 0)}
    assert result.plan.nodes["2"].constants == {"factor": 2.0}


def test_constants_are_coerced_and_value_wrappers_unwrapped() -> None:
    result = validate(simple(value="7", factor={"__value__": 3}))
    assert result.ok
    assert result.plan.nodes["1"].constants == {"value": 7}
    assert result.plan.nodes["2"].constants["factor"] == 3.0
    assert isinstance(result.plan.nodes["2"].constants["factor"], float)


def test_required_input_missing() -> None:
    prompt = simple()
    del prompt["2"]["inputs"]["factor"]
    result = validate(prompt)
    assert not result.ok
    body = result.error_body()
    assert body["error"] == {"type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation",
                             "details": "Required input is missing: factor", "extra_info": {}}
    assert body["node_errors"]["2"] == {
        "errors": [{"type": "required_input_missing", "message": "Required input is missing", "details": "factor",
                    "extra_info": {"input_name": "factor"}}],
        "dependent_outputs": ["3"], "class_type": "StubScale"}
    assert "3" not in body["node_errors"]  # downstream nodes carry no reasons, so they are not listed


def test_value_smaller_and_bigger_than_limits() -> None:
    low = only_error(validate(simple(factor=-1.0)), "2")
    assert low["type"] == "value_smaller_than_min" and low["message"] == "Value -1.0 smaller than min of 0.0"
    assert low["details"] == "factor"
    assert low["extra_info"] == {"input_name": "factor", "received_value": -1.0,
                                 "input_config": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.5}]}
    high = only_error(validate(simple(value=5000)), "1")
    assert high["type"] == "value_bigger_than_max" and high["message"] == "Value 5000 bigger than max of 1000"


def test_invalid_input_type() -> None:
    error = only_error(validate(simple(value="lots")), "1")
    assert error["type"] == "invalid_input_type"
    assert error["message"] == "Failed to convert an input value to a INT value"
    assert error["details"].startswith("value, lots, ")
    assert error["extra_info"]["input_name"] == "value" and error["extra_info"]["received_value"] == "lots"


def test_constant_given_to_a_socket_input() -> None:
    prompt = simple()
    prompt["2"]["inputs"]["value"] = 5
    error = only_error(validate(prompt), "2")
    assert error["type"] == "invalid_input_type" and "takes a link" in error["details"]


def test_value_not_in_list() -> None:
    prompt = {"1": {"class_type": "StubConst", "inputs": {"value": 1}},
              "2": {"class_type": "StubChoose", "inputs": {"mode": "product", "a": ["1", 0], "b": ["1", 0]}},
              "3": {"class_type": "StubOutput", "inputs": {"value": ["2", 0], "label": ""}}}
    error = only_error(validate(prompt), "2")
    assert error == {"type": "value_not_in_list", "message": "Value not in list",
                     "details": "mode: 'product' not in ['sum', 'diff']",
                     "extra_info": {"input_name": "mode", "input_config": [["sum", "diff"], {"default": "sum"}],
                                    "received_value": "product"}}


def test_bad_linked_input() -> None:
    prompt = simple()
    prompt["2"]["inputs"]["value"] = ["1", 0, 0]
    error = only_error(validate(prompt), "2")
    assert error["type"] == "bad_linked_input"
    assert error["message"] == "Bad linked input, must be a length-2 list of [node_id, slot_index]"
    prompt["2"]["inputs"]["value"] = ["99", 0]
    error = only_error(validate(prompt), "2")
    assert error["type"] == "bad_linked_input" and "'99' does not exist" in error["details"]
    prompt["2"]["inputs"]["value"] = ["1", 3]
    error = only_error(validate(prompt), "2")
    assert error["type"] == "bad_linked_input" and "no output 3" in error["details"]


def test_return_type_mismatch() -> None:
    prompt = simple()
    prompt["2"] = {"class_type": "StubScale", "inputs": {"value": ["1", 0], "factor": ["1", 0]}}
    error = only_error(validate(prompt), "2")
    assert error == {"type": "return_type_mismatch", "message": "Return type mismatch between linked nodes",
                     "details": "factor, received_type(NUMBER) mismatch input_type(FLOAT)",
                     "extra_info": {"input_name": "factor",
                                    "input_config": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 10.0, "step": 0.5}],
                                    "received_type": "NUMBER", "linked_node": ["1", 0]}}


def test_custom_validation_replaces_builtin_checks() -> None:
    prompt = {"1": {"class_type": "StubEven", "inputs": {"value": 3}},
              "2": {"class_type": "StubOutput", "inputs": {"value": ["1", 0], "label": ""}}}
    error = only_error(validate(prompt), "1")
    assert error == {"type": "custom_validation_failed", "message": "Custom validation failed for node",
                     "details": "value - 3 is odd", "extra_info": {"input_name": "value"}}
    prompt["1"]["inputs"]["value"] = 40  # above max, but the node validates value itself
    assert validate(prompt).ok


def test_missing_class_type_and_unknown_node() -> None:
    result = validate({"1": {"inputs": {}}})
    assert result.error.type == "invalid_prompt" and result.error.details == "Node ID '#1'"
    assert result.error.message == "Cannot execute because a node is missing the class_type property."
    result = validate({"1": {"class_type": "Nope", "inputs": {}, "_meta": {"title": "My Nope"}},
                       "2": {"class_type": "AlsoNope", "inputs": {}}})
    body = result.error_body()
    assert body["error"]["type"] == "invalid_prompt"
    assert body["error"]["message"] == "Cannot execute because node Nope does not exist."
    assert set(body["node_errors"]) == {"1", "2"}
    missing = body["node_errors"]["1"]["errors"][0]
    assert missing["type"] == "missing_node_type"
    # the class, not the title: what is missing is what to install
    assert missing["message"] == "Node 'Nope' not found. The custom node may not be installed."
    assert missing["extra_info"] == {"node_id": "1", "class_type": "Nope", "node_title": "My Nope", "suggestions": []}


def test_a_misspelt_class_names_the_closest_installed_ones() -> None:
    result = validate({"1": {"class_type": "stubconts", "inputs": {}, "_meta": {"title": "StubConst"}}})
    assert result.error is not None
    assert result.error.message == "Cannot execute because node stubconts does not exist."
    assert result.error.details == "Node ID '#1'; did you mean StubConst or StubCounter?"
    missing = result.node_errors["1"].errors[0]
    assert missing.message == "Node 'stubconts' not found. The custom node may not be installed."
    assert missing.extra_info["suggestions"] == ["StubConst", "StubCounter"]


def test_not_an_object() -> None:
    assert validate([1, 2]).error.type == "invalid_prompt"
    assert validate({"1": 5}).error.type == "invalid_prompt"


def test_prompt_without_outputs() -> None:
    result = validate({"1": {"class_type": "StubConst", "inputs": {"value": 1}}})
    assert result.error_body() == {"error": {"type": "prompt_no_outputs", "message": "Prompt has no outputs",
                                             "details": "", "extra_info": {}}, "node_errors": {}}


def test_all_errors_reported_at_once_and_good_outputs_still_run() -> None:
    prompt = simple()
    prompt["4"] = {"class_type": "StubScale", "inputs": {"value": ["1", 0], "factor": 99.0}}
    prompt["5"] = {"class_type": "StubOutput", "inputs": {"value": ["4", 0]}}
    result = validate(prompt)
    assert result.ok and result.plan.outputs == ["3"]
    errors = result.error_body()["node_errors"]
    assert [e["type"] for e in errors["4"]["errors"]] == ["value_bigger_than_max"]
    assert [e["type"] for e in errors["5"]["errors"]] == ["required_input_missing"]
    assert errors["4"]["dependent_outputs"] == ["5"]
    assert "4" not in result.plan.nodes and "5" not in result.plan.nodes


def test_shared_bad_node_lists_every_dependent_output() -> None:
    prompt = simple(factor=42.0)
    prompt["4"] = {"class_type": "StubOutput", "inputs": {"value": ["2", 0], "label": "y"}}
    result = validate(prompt)
    assert sorted(result.error_body()["node_errors"]["2"]["dependent_outputs"]) == ["3", "4"]


def test_cycle_is_a_validation_error_naming_its_nodes() -> None:
    prompt = {"1": {"class_type": "StubAdd", "inputs": {"a": ["2", 0], "b": ["3", 0]}},
              "2": {"class_type": "StubNoop", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "StubConst", "inputs": {"value": 1}},
              "4": {"class_type": "StubOutput", "inputs": {"value": ["1", 0], "label": ""}}}
    result = validate(prompt)
    assert not result.ok
    errors = result.error_body()["node_errors"]
    assert set(errors) == {"1", "2"}
    cycle_error = errors["1"]["errors"][0]
    assert cycle_error["type"] == "dependency_cycle" and sorted(cycle_error["extra_info"]["cycle"]) == ["1", "2"]


def test_self_loop() -> None:
    prompt = {"1": {"class_type": "StubAdd", "inputs": {"a": ["1", 0], "b": ["1", 0]}},
              "2": {"class_type": "StubOutput", "inputs": {"value": ["1", 0], "label": ""}}}
    assert validate(prompt).error_body()["node_errors"]["1"]["errors"][0]["type"] == "dependency_cycle"


def test_partial_execution_targets_limit_outputs() -> None:
    prompt = simple()
    prompt["4"] = {"class_type": "StubOutput", "inputs": {"value": ["1", 0], "label": "y"}}
    result = validate(prompt, partial_execution_targets=["4"])
    assert result.plan.outputs == ["4"] and set(result.plan.nodes) == {"1", "4"}
    assert validate(prompt, partial_execution_targets=["2"]).error.type == "prompt_no_outputs"


def test_nodes_not_needed_are_not_validated() -> None:
    prompt = simple()
    prompt["9"] = {"class_type": "StubScale", "inputs": {"factor": 999}}  # broken but unused
    assert validate(prompt).ok


@pytest.mark.parametrize("length", [100_000])
def test_very_deep_chain_validates_without_recursion(length: int) -> None:
    g = GraphBuilder()
    prev = g.node("StubConst", value=1)
    for _ in range(length):
        prev = g.node("StubNoop", value=prev.out())
    g.node("StubOutput", value=prev.out(), label="")
    result = validate(g.finalize())
    assert result.ok and len(result.plan.order) == length + 2


def test_exception_in_custom_validation_is_reported() -> None:
    from inkgraph.engine import node
    from inkgraph.engine.core.registry import NodeRegistry

    def explode(value: int) -> bool:
        raise KeyError("no such thing")

    @node(validate=explode)
    def Exploding(value: int = 0) -> int:
        return value

    @node(output_node=True)
    def Sink(value: int = 0) -> None:
        return None

    registry = NodeRegistry()
    registry.load_pack("t", "test", lambda: [Exploding, Sink])
    prompt = {"1": {"class_type": "Exploding", "inputs": {"value": 1}},
              "2": {"class_type": "Sink", "inputs": {"value": ["1", 0]}}}
    result = validate_prompt(prompt, registry)
    error = result.error_body()["node_errors"]["1"]["errors"][0]
    assert error["type"] == "exception_during_validation" and error["message"] == "Exception when validating node"
    assert error["extra_info"]["exception_type"] == "KeyError" and error["extra_info"]["traceback"]
