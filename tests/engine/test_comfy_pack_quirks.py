"""Things real packs do that ComfyUI accepts (found by benchmarks/pack_compat.py): a seed input typed
``"INT:seed"`` (ComfyUI_essentials; ComfyUI's frontend draws it as an INT widget, so prompts carry a constant),
and a node returning fewer values than it declares (Comfyroll's unreturned ``show_help``): the values it
returned flow on, and only a consumer of a missing one fails, with a message."""

from __future__ import annotations

import pytest

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime

PACK = '''
class Seeded:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"seed": ("INT:seed", {"default": 0, "min": 0, "max": 100})}}
    RETURN_TYPES = ("INT", "STRING")
    RETURN_NAMES = ("seed", "show_help")
    FUNCTION = "run"
    def run(self, seed):
        return (seed + 1,)

class Show:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("*",)}}
    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    def run(self, value):
        return {"ui": {"text": [repr(value)]}}

NODE_CLASS_MAPPINGS = {"QuirkSeeded": Seeded, "QuirkShow": Show}
'''


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    base = tmp_path_factory.mktemp("quirks")
    (base / "custom_nodes").mkdir()
    (base / "custom_nodes" / "quirks.py").write_text(PACK)
    return Runtime.create(Settings(base_dir=base))


def test_a_colon_flavoured_widget_type_takes_a_constant(runtime: Runtime) -> None:
    result, outcome = runtime.run({"1": {"class_type": "QuirkSeeded", "inputs": {"seed": "41"}},
                                   "2": {"class_type": "QuirkShow", "inputs": {"value": ["1", 0]}}})
    assert result.ok and outcome is not None and outcome.outputs["2"] == {"text": ["42"]}
    spec = runtime.registry.get("QuirkSeeded").inputs[0]
    assert spec.widget_type == "INT" and spec.is_widget
    bad, _ = runtime.run({"1": {"class_type": "QuirkSeeded", "inputs": {"seed": 500}},
                          "2": {"class_type": "QuirkShow", "inputs": {"value": ["1", 0]}}})
    assert bad.node_errors["1"].errors[0].type == "value_bigger_than_max"  # checked as the INT it is


def test_fewer_values_than_outputs_fail_only_their_consumers(runtime: Runtime) -> None:
    _, outcome = runtime.run({"1": {"class_type": "QuirkSeeded", "inputs": {"seed": 1}},
                              "2": {"class_type": "QuirkShow", "inputs": {"value": ["1", 1]}}})
    assert outcome is not None and "2" not in outcome.outputs  # the consumer of the missing output did not run …
    errors = [data for kind, data in outcome.messages if kind == "execution_error"]
    assert [e["node_id"] for e in errors] == ["2"]  # … and says why, as a blocked node does
    assert "returned 1 of its 2 outputs" in errors[0]["exception_message"]
    _, fine = runtime.run({"1": {"class_type": "QuirkSeeded", "inputs": {"seed": 1}},
                           "2": {"class_type": "QuirkShow", "inputs": {"value": ["1", 0]}}})
    assert fine is not None and fine.outputs["2"] == {"text": ["2"]}  # the value it did return flows on
