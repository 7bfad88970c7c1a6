"""Text, regex, logic, math-expression, preview and resolution nodes; the switch's untaken branch never runs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import pytest
import torch

from inkgraph.engine import Context, Socket, String, node
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.runtime.packs import default_registry
from inkgraph.nodes import logic as G
from inkgraph.nodes import math_expression as X
from inkgraph.nodes import strings as S

TEXT = "Hello World\nhello there\nHELLO again"


def test_basic_string_nodes() -> None:
    assert S.StringConcatenate(string_a="a", string_b="b", delimiter=", ") == "a, b"
    assert S.StringSubstring(string="abcdef", start=1, end=-1) == "bcde"
    assert S.StringLength(string="héllo") == 5
    assert [S.CaseConverter(string="hello wORLD", mode=m) for m in ("UPPERCASE", "lowercase", "Capitalize",
                                                                     "Title Case")] == \
        ["HELLO WORLD", "hello world", "Hello world", "Hello World"]
    assert [S.StringTrim(string="  x  ", mode=m) for m in ("Both", "Left", "Right")] == ["x", "x  ", "  x"]
    assert S.StringReplace(string="a.b.c", find=".", replace="-") == "a-b-c"  # plain text, not a pattern
    assert S.StringContains(string="Hello", substring="ELL", case_sensitive=False)
    assert not S.StringContains(string="Hello", substring="ELL", case_sensitive=True)
    assert S.StringCompare(string_a="Hello", string_b="he", mode="Starts With", case_sensitive=False)
    assert not S.StringCompare(string_a="Hello", string_b="LO", mode="Ends With", case_sensitive=True)
    assert S.StringCompare(string_a="x", string_b="x", mode="Equal", case_sensitive=True)


@pytest.mark.parametrize(("pattern", "flags", "ci", "ml", "da", "count"), [
    (r"hello", re.IGNORECASE, True, False, False, 0),
    (r"^h\w+", re.MULTILINE, False, True, False, 0),
    (r"o.h", re.DOTALL | re.IGNORECASE, True, False, True, 1),
    (r"(\w+) (\w+)", 0, False, False, False, 2),
])
def test_regex_replace_is_re_sub(pattern: str, flags: int, ci: bool, ml: bool, da: bool, count: int) -> None:
    out = S.RegexReplace(string=TEXT, regex_pattern=pattern, replace=r"<\g<0>>", case_insensitive=ci, multiline=ml,
                         dotall=da, count=count)
    assert out == re.sub(pattern, r"<\g<0>>", TEXT, count=count, flags=flags)


def test_regex_match_and_extract() -> None:
    assert S.RegexMatch(string=TEXT, regex_pattern="THERE", case_insensitive=True, multiline=False, dotall=False)
    assert not S.RegexMatch(string=TEXT, regex_pattern="[", case_insensitive=True, multiline=False, dotall=False)
    args = {"string": "a1 b22 c333", "case_insensitive": True, "multiline": False, "dotall": False, "group_index": 1}
    assert S.RegexExtract(regex_pattern=r"\d+", mode="First Match", **args) == "1"
    assert S.RegexExtract(regex_pattern=r"\d+", mode="All Matches", **args) == "1\n22\n333"
    assert S.RegexExtract(regex_pattern=r"([a-z])(\d+)", mode="All Matches", **args) == "a\nb\nc"
    assert S.RegexExtract(regex_pattern=r"([a-z])(\d+)", mode="First Group", **{**args, "group_index": 2}) == "1"
    assert S.RegexExtract(regex_pattern=r"([a-z])(\d+)", mode="All Groups", **{**args, "group_index": 2}) == \
        "1\n22\n333"
    assert S.RegexExtract(regex_pattern=r"(x)", mode="First Group", **{**args, "group_index": 3}) == ""
    assert S.RegexExtract(regex_pattern="(", mode="First Match", **args) == ""
    with pytest.raises(ValueError, match="RegexReplace: input 'regex_pattern'"):
        S.RegexReplace(string="x", regex_pattern="(", replace="")


def test_json_extract_and_format() -> None:
    data = json.dumps({"steps": 20, "name": "x", "none": None, "nested": {"a": 1}})
    assert S.JsonExtractString(json_string=data, key="steps") == "20"
    assert S.JsonExtractString(json_string=data, key="nested") == "{'a': 1}"
    assert S.JsonExtractString(json_string=data, key="none") == ""
    assert S.JsonExtractString(json_string="not json", key="x") == ""
    assert S.StringFormat(values={"a": 0.12345, "b": "cat"}, f_string="{a:.2f} {b}") == "0.12 cat"
    with pytest.raises(ValueError, match="StringFormat: input 'f_string'"):
        S.StringFormat(values={}, f_string="{a}")


@pytest.mark.parametrize(("expression", "values", "expected"), [
    ("a + b", {"a": 1, "b": 2.5}, (3.5, 3, True)),
    ("a & -8", {"a": 1027}, (1024.0, 1024, True)),
    ("max(5, round(a * 24)) + (5 - (max(5, round(a * 24)) % 17)) % 17", {"a": 2.5}, (73.0, 73, True)),
    ("sum(values) / 2 if b else 0", {"a": 3, "b": True}, (2.0, 2, True)),
    ("a > b and not c", {"a": 2, "b": 1, "c": False}, (1.0, 1, True)),
    ("sqrt(a) + floor(-0.5) + pow(2, 3) + values[1]", {"a": 16, "b": 5}, (16.0, 16, True)),
    ("1 < a <= 3", {"a": 3}, (1.0, 1, True)),
    ("a - a", {"a": 7}, (0.0, 0, False)),
])
def test_math_expression(expression: str, values: dict[str, Any], expected: tuple[float, int, bool]) -> None:
    assert X.ComfyMathExpression(expression=expression, values=values) == expected


@pytest.mark.parametrize(("expression", "message"), [
    ("a.__class__", "Attribute is not allowed"),
    ("__import__('os')", "function '__import__' is not available"),
    ("b + 1", "'b' is not defined"),
    ("a ** 9999999", "exceeds maximum"),
    ("1 / 0", "division by zero"),
    ("'x'", "must evaluate to a number"),
    ("a +", "invalid syntax"),
    ("   ", "cannot be empty"),
])
def test_math_expression_refuses(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        X.ComfyMathExpression(expression=expression, values={"a": 2})
    assert "ComfyMathExpression" in str(info.value)


def test_preview_any_renders_like_comfyui() -> None:
    def text(value: Any) -> str:
        out = G.PreviewAny(source=value)
        assert out.ui == {"text": [out.result[0]]}
        return str(out.result[0])

    assert text("plain") == "plain" and text(3) == "3" and text(True) == "True" and text(None) == "None"
    assert text({"a": [1, "é"]}) == json.dumps({"a": [1, "é"]}, indent=4, ensure_ascii=False)
    big = torch.arange(2000)
    shown = text(big)
    assert shown.startswith("tensor([   0,    1,    2,    3,    4,    5,  ...,")  # 6 edge items
    assert str(big).startswith("tensor([   0,    1,    2,  ...,")  # torch's print options are restored


def test_resolution_selector_and_custom_combo() -> None:
    assert G.ResolutionSelector(aspect_ratio="1:1 (Square)", megapixels=1.0, multiple=8) == (1024, 1024)
    assert G.ResolutionSelector(aspect_ratio="16:9 (Widescreen)", megapixels=0.4, multiple=32) == (864, 480)
    assert G.CustomCombo(choice="Turbo", index=2, option0="Quality", option1="Default") == ("Turbo", 2)
    assert G.CustomCombo(choice="x") == ("x", 0)
    with pytest.raises(ValueError, match="CustomCombo: input 'index'"):
        G.CustomCombo(choice="x", index="two")


RUNS: list[str] = []


@node(category="test")
def ProbeText(ctx: Context, text: Annotated[str, String()] = "") -> Annotated[Any, Socket(type="STRING")]:
    """Records that it ran."""
    RUNS.append(ctx.node_id)
    return text


@pytest.fixture
def runtime(tmp_path: Path) -> Runtime:
    registry = default_registry(entry_points=False)
    registry.load_pack("probe", "tests", lambda: [ProbeText])
    RUNS.clear()
    return Runtime.create(Settings(base_dir=tmp_path), registry=registry)


@pytest.mark.parametrize("switch", [True, False])
def test_switch_never_runs_the_untaken_branch(runtime: Runtime, switch: bool) -> None:
    prompt = {
        "1": {"class_type": "PrimitiveBoolean", "inputs": {"value": switch}},
        "2": {"class_type": "ProbeText", "inputs": {"text": "no"}},
        "3": {"class_type": "ProbeText", "inputs": {"text": "yes"}},
        "4": {"class_type": "StringConcatenate", "inputs": {"string_a": ["3", 0], "string_b": "!", "delimiter": ""}},
        "5": {"class_type": "ComfySwitchNode", "inputs": {"switch": ["1", 0], "on_false": ["2", 0],
                                                          "on_true": ["4", 0]}},
        "6": {"class_type": "PreviewAny", "inputs": {"source": ["5", 0]}},
    }
    result, outcome = runtime.run(prompt)
    assert result.ok, result.error_body()
    assert outcome is not None and outcome.status_str == "success"
    assert outcome.outputs["6"] == {"text": ["yes!" if switch else "no"]}
    taken, untaken = (["3", "4"], ["2"]) if switch else (["2"], ["3", "4"])
    assert RUNS == [n for n in taken if n in ("2", "3")]
    assert all(n in outcome.executed for n in taken) and not any(n in outcome.executed for n in untaken)


def test_switch_widget_and_custom_combo_through_the_engine(runtime: Runtime) -> None:
    prompt = {
        "1": {"class_type": "ProbeText", "inputs": {"text": "a"}},
        "2": {"class_type": "ComfySwitchNode", "inputs": {"switch": True, "on_false": ["1", 0], "on_true": ["3", 1]}},
        "3": {"class_type": "CustomCombo", "inputs": {"choice": "Turbo", "index": 2, "option0": "Quality",
                                                      "option1": "Default", "option2": "Turbo", "option3": ""}},
        "4": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}},
    }
    result, outcome = runtime.run(prompt)
    assert result.ok, result.error_body()
    assert outcome is not None and outcome.outputs["4"] == {"text": ["2"]} and RUNS == []


def test_math_expression_through_the_engine(runtime: Runtime) -> None:
    prompt = {
        "1": {"class_type": "PrimitiveInt", "inputs": {"value": 1027}},
        "2": {"class_type": "PrimitiveFloat", "inputs": {"value": 0.5}},
        "3": {"class_type": "ComfyMathExpression", "inputs": {"expression": "(a & -8) + b * 0",
                                                              "values.a": ["1", 0], "values.b": ["2", 0]}},
        "4": {"class_type": "PreviewAny", "inputs": {"source": ["3", 1]}},
    }
    result, outcome = runtime.run(prompt)
    assert result.ok, result.error_body()
    assert outcome is not None and outcome.outputs["4"] == {"text": ["1024"]}
    bad = runtime.run({**prompt, "3": {**prompt["3"], "inputs": {**prompt["3"]["inputs"], "expression": "a +"}}})[1]
    assert bad is not None and bad.status_str == "error" and bad.error is not None
    assert bad.error["node_id"] == "3" and "ComfyMathExpression: input 'expression'" in bad.error["exception_message"]
