"""ComfyUI V1 packs load and run unchanged: the test pack in tests/fixtures/comfy_v1_pack uses INPUT_TYPES,
lazy inputs, lists, a while loop by node expansion, an execution blocker, IS_CHANGED, VALIDATE_INPUTS with
input_types, ui outputs, async functions, folder_paths, comfy.utils, comfy.model_management, server and
nodes. Ran-versus-cached is checked per node, as ComfyUI's own execution tests do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.events import Event
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime

PACK = Path(__file__).resolve().parents[1] / "fixtures" / "comfy_v1_pack"
REPO = Path(__file__).resolve().parents[2]

HALF_BROKEN = '''
class Good:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 1})}}
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    def run(self, value):
        return (value,)

class Raises:
    @classmethod
    def INPUT_TYPES(cls):
        raise RuntimeError("cannot describe myself")
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    def run(self):
        return (1,)

class NotADict:
    @classmethod
    def INPUT_TYPES(cls):
        return [("value", "INT")]
    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    def run(self, value):
        return (value,)

NODE_CLASS_MAPPINGS = {"HalfGood": Good, "HalfRaises": Raises, "HalfNotADict": NotADict}
'''


def install(base: Path) -> Path:
    custom = base / "custom_nodes"
    shutil.copytree(PACK, custom / "comfy_v1_pack")
    (custom / "broken_syntax.py").write_text("def oops(:\n")
    (custom / "broken_import").mkdir()
    (custom / "broken_import" / "__init__.py").write_text("import module_that_is_not_installed\n")
    (custom / "half_broken.py").write_text(HALF_BROKEN)
    (custom / "ignored.py.disabled").write_text("raise SystemExit('must not be imported')\n")
    return base


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    base = install(tmp_path_factory.mktemp("v1"))
    (base / "models" / "checkpoints").mkdir(parents=True)
    (base / "models" / "checkpoints" / "model_a.safetensors").write_bytes(b"x")
    return Runtime.create(Settings(base_dir=base))


def calls() -> list[tuple[str, Any]]:
    from custom_nodes.comfy_v1_pack.images import CALLS  # type: ignore[import-not-found]

    taken = list(CALLS)
    CALLS.clear()
    return taken


def run(runtime: Runtime, prompt: dict[str, Any]) -> tuple[Any, list[Event]]:
    events: list[Event] = []
    unsubscribe = runtime.bus.subscribe(lambda event, target: events.append(event))
    try:
        result, outcome = runtime.run(prompt)
    finally:
        unsubscribe()
    assert result.ok, result.error_body()
    return outcome, events


def loop_prompt(limit: int = 5) -> dict[str, Any]:
    return {
        "1": {"class_type": "V1IntConst", "inputs": {"value": 0}},
        "2": {"class_type": "V1WhileOpen", "inputs": {"condition": True, "initial_value0": ["1", 0]}},
        "3": {"class_type": "V1IntMath", "inputs": {"a": ["2", 1], "b": 1, "operation": "add"}},
        "4": {"class_type": "V1IntCompare", "inputs": {"a": ["3", 0], "b": limit, "comparison": "a < b"}},
        "5": {"class_type": "V1WhileClose", "inputs": {"flow_control": ["2", 0], "condition": ["4", 0],
                                                       "initial_value0": ["3", 0]}},
        "6": {"class_type": "V1ShowValue", "inputs": {"value": ["5", 0]}},
    }


def test_packs_load_and_broken_ones_are_reported(runtime: Runtime) -> None:
    packs = runtime.registry.packs
    v1 = packs["comfy_v1_pack"]
    assert v1.loaded and v1.kind == "comfyui-v1" and v1.node_count == 19 and v1.web_directory
    assert not packs["broken_syntax"].loaded and "SyntaxError" in (packs["broken_syntax"].error or "")
    assert not packs["broken_import"].loaded and "module_that_is_not_installed" in (packs["broken_import"].error or "")
    half = packs["half_broken"]
    assert half.loaded and half.node_count == 1 and len(half.skipped_nodes) == 2
    assert any("cannot describe myself" in reason for reason in half.skipped_nodes)
    assert "ignored" not in packs and runtime.registry.get("ImageInvert") is not None


def test_object_info_shows_v1_declarations(runtime: Runtime) -> None:
    from inkgraph.engine.core.object_info import node_info

    stub = node_info(runtime.registry.get("V1StubImage"), runtime.folders)  # type: ignore[arg-type]
    assert stub["input"]["required"]["content"] == [["WHITE", "BLACK", "NOISE"]]
    assert stub["input"]["required"]["height"] == ["INT", {"default": 64, "min": 1, "max": 16384, "step": 1}]
    assert stub["input"]["hidden"] == {"unique_id": "UNIQUE_ID"}
    assert stub["display_name"] == "Stub Image" and stub["python_module"] == "custom_nodes.comfy_v1_pack"
    assert stub["category"] == "V1Test/images" and stub["output"] == ["IMAGE"]
    slow = node_info(runtime.registry.get("V1SlowInvert"), runtime.folders)  # type: ignore[arg-type]
    assert slow["output_name"] == ["inverted"] and slow["output_tooltips"] == ["The image, inverted."]
    assert slow["description"] == "Inverts an image, slowly."
    math = node_info(runtime.registry.get("V1IntMath"), runtime.folders)  # type: ignore[arg-type]
    assert math["input"]["required"]["operation"] == ["COMBO", {"default": "add",
                                                                "options": ["add", "subtract", "multiply"]}]
    assert math["input"]["required"]["a"] == ["INT", {"default": 0, "forceInput": True}]


def test_while_loop_by_expansion_and_its_cache(runtime: Runtime) -> None:
    calls()
    outcome, events = run(runtime, loop_prompt(5))
    assert outcome.status_str == "success", outcome.error
    assert outcome.outputs["6"] == {"text": ["5"]}
    math_runs = [c for c in calls() if c[0] == "IntMath"]
    assert len(math_runs) == 5  # one body per iteration
    shown = {e.display_node for e in events if e.type == "executing" and e.node and "." in e.node}
    assert shown <= {"2", "3", "4", "5"}  # expanded copies point the canvas at the loop's own nodes
    outcome, _ = run(runtime, loop_prompt(5))
    assert outcome.outputs["6"] == {"text": ["5"]} and calls() == []  # all cached, the output node too
    outcome, _ = run(runtime, loop_prompt(3))
    assert outcome.outputs["6"] == {"text": ["3"]}


def test_lazy_inputs_evaluate_only_what_the_mask_needs(runtime: Runtime) -> None:
    def prompt(value: float) -> dict[str, Any]:
        return {"1": {"class_type": "V1StubImage", "inputs": {"content": "BLACK", "height": 8, "width": 8,
                                                               "batch_size": 1}},
                "2": {"class_type": "V1StubImage", "inputs": {"content": "WHITE", "height": 8, "width": 8,
                                                               "batch_size": 1}},
                "3": {"class_type": "V1StubMask", "inputs": {"value": value, "height": 8, "width": 8}},
                "4": {"class_type": "V1LazyMixImages", "inputs": {"image1": ["1", 0], "image2": ["2", 0],
                                                                   "mask": ["3", 0]}},
                "5": {"class_type": "V1SaveWithUI", "inputs": {"images": ["4", 0], "filename_prefix": "lazy"}}}

    calls()
    run(runtime, prompt(0.0))
    ran = [c for c in calls() if c[0] == "StubImage"]
    assert ran == [("StubImage", "1")]  # image2 was never needed
    run(runtime, prompt(0.5))
    assert [c for c in calls() if c[0] == "StubImage"] == [("StubImage", "2")]  # image1 came from the cache


def test_lists_in_and_out(runtime: Runtime) -> None:
    outcome, _ = run(runtime, {
        "1": {"class_type": "V1ListRange", "inputs": {"count": 4}},
        "2": {"class_type": "V1ListSum", "inputs": {"values": ["1", 0]}},
        "3": {"class_type": "V1ShowValue", "inputs": {"value": ["2", 0]}},
        "4": {"class_type": "V1IntMath", "inputs": {"a": ["1", 0], "b": 10, "operation": "add"}},
        "5": {"class_type": "V1ShowValue", "inputs": {"value": ["4", 0]}}})
    assert outcome.outputs["3"] == {"text": ["6"]}
    assert outcome.outputs["5"] == {"text": ["10", "11", "12", "13"]}  # called once per item, ui merged


def test_execution_blocker_silent_and_reported(runtime: Runtime) -> None:
    def prompt(verbose: bool) -> dict[str, Any]:
        return {"1": {"class_type": "V1IntConst", "inputs": {"value": 7}},
                "2": {"class_type": "V1Blocker", "inputs": {"input": ["1", 0], "block": True, "verbose": verbose}},
                "3": {"class_type": "V1ShowValue", "inputs": {"value": ["2", 0]}}}

    calls()
    outcome, events = run(runtime, prompt(False))
    assert outcome.status_str == "success" and "3" not in outcome.outputs
    assert not [e for e in events if e.type == "execution_error"] and ("ShowValue", "3") not in calls()
    _, events = run(runtime, prompt(True))
    errors = [e.data() for e in events if e.type == "execution_error"]
    assert errors and errors[0]["exception_type"] == "ExecutionBlocked"
    assert errors[0]["exception_message"] == "Execution Blocked: Blocked by the test"


def test_is_changed_forces_a_rerun(runtime: Runtime) -> None:
    def prompt(change: bool) -> dict[str, Any]:
        return {"1": {"class_type": "V1IntConst", "inputs": {"value": 1}},
                "2": {"class_type": "V1ChangeWhenAsked", "inputs": {"value": ["1", 0], "should_change": change}},
                "3": {"class_type": "V1ShowValue", "inputs": {"value": ["2", 0]}}}

    run(runtime, prompt(False))
    calls()
    run(runtime, prompt(False))
    assert ("ChangeWhenAsked", "2") not in calls()
    run(runtime, prompt(True))
    run(runtime, prompt(True))
    assert [c for c in calls() if c[0] == "ChangeWhenAsked"] == [("ChangeWhenAsked", "2")] * 2


def test_custom_validation_with_input_types(runtime: Runtime) -> None:
    def prompt(source: dict[str, Any], input2: int) -> dict[str, Any]:
        return {"1": source, "2": {"class_type": "V1EvenOnly", "inputs": {"input1": ["1", 0], "input2": input2}},
                "3": {"class_type": "V1ShowValue", "inputs": {"value": ["2", 0]}}}

    integer = {"class_type": "V1IntConst", "inputs": {"value": 1}}
    assert runtime.validate(prompt(integer, 4)).ok
    odd = runtime.validate(prompt(integer, 3))
    assert not odd.ok
    error = odd.node_errors["2"].errors[0]
    assert error.type == "custom_validation_failed" and "input2 must be even" in error.details
    floating = runtime.validate(prompt({"class_type": "PrimitiveFloat", "inputs": {"value": 1.5}}, 2))
    assert not floating.ok and "input1 must be an INT, got FLOAT" in floating.node_errors["2"].errors[0].details


def test_ui_output_async_core_nodes_and_progress(runtime: Runtime) -> None:
    outcome, events = run(runtime, {
        "1": {"class_type": "V1StubImage", "inputs": {"content": "WHITE", "height": 16, "width": 16, "batch_size": 2}},
        "2": {"class_type": "V1AsyncBrightness", "inputs": {"image": ["1", 0], "amount": -0.5}},
        "3": {"class_type": "V1SlowInvert", "inputs": {"image": ["2", 0], "steps": 3}},
        "4": {"class_type": "V1CoreNodeUser", "inputs": {"image": ["3", 0]}},
        "5": {"class_type": "V1SaveWithUI", "inputs": {"images": ["4", 0], "filename_prefix": "v1/out"}}})
    assert outcome.status_str == "success", (outcome.error or {}).get("exception_message")
    images = outcome.outputs["5"]["images"]
    assert [i["filename"] for i in images] == ["out_00001_.png", "out_00002_.png"]
    assert images[0]["subfolder"] == "v1" and images[0]["type"] == "output"
    from PIL import Image

    with Image.open(runtime.folders.output / "v1" / "out_00001_.png") as png:
        assert png.size == (32, 32) and png.getpixel((5, 5)) == (127, 127, 127)  # 1 − (1 − 0.5), resized, truncated
    progress = [(e.value, e.max) for e in events if e.type == "progress" and e.node == "3"]
    assert progress == [(1, 3), (2, 3), (3, 3)]


def test_folder_paths_reads_the_model_folders(runtime: Runtime) -> None:
    outcome, _ = run(runtime, {
        "1": {"class_type": "V1ListModels", "inputs": {"folder": "checkpoints"}},
        "2": {"class_type": "V1ShowValue", "inputs": {"value": ["1", 0]}}})
    assert "model_a.safetensors" in outcome.outputs["2"]["text"]


def test_shims_exist_only_when_a_v1_pack_loaded(tmp_path: Path) -> None:
    """In a fresh process: native packs alone leave no ComfyUI module names behind; a V1 pack keeps them."""
    (tmp_path / "native" / "custom_nodes").mkdir(parents=True)
    (tmp_path / "native" / "custom_nodes" / "mine.py").write_text(
        "from engine import node\n@node()\ndef Mine(x: int = 1) -> int:\n    return x\nNODES = [Mine]\n")
    install(tmp_path / "v1")
    script = ("import sys; from inkgraph.engine.runtime import Runtime; from inkgraph.engine.core.settings import "
              "Settings; r = Runtime.create(Settings(base_dir=sys.argv[1])); "
              "print(sorted(m for m in sys.modules if m.split('.')[0] in "
              "('folder_paths', 'comfy', 'server', 'comfy_execution', 'nodes')))")
    for case, expected in (("native", "[]"), ("v1", "'folder_paths'")):
        out = subprocess.run([sys.executable, "-c", script, str(tmp_path / case)], capture_output=True, text=True,
                             cwd=REPO, timeout=120)
        assert out.returncode == 0, out.stderr
        assert expected in out.stdout.strip().splitlines()[-1]


def test_cli_runs_a_v1_workflow(tmp_path: Path) -> None:
    import json

    install(tmp_path)
    workflow = tmp_path / "loop.json"
    workflow.write_text(json.dumps(loop_prompt(4)))
    out = subprocess.run([sys.executable, "-m", "inkgraph.engine.cli", "run", str(workflow), "--base-dir",
                          str(tmp_path), "--no-progress", "--events", "-"],
                         capture_output=True, text=True, cwd=REPO, timeout=180)
    assert out.returncode == 0, out.stderr
    messages = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    executed = [m["data"] for m in messages if m["type"] == "executed"]
    assert executed and executed[-1]["node"] == "6" and executed[-1]["output"] == {"text": ["4"]}


def test_disable_all_custom_nodes_with_a_whitelist(tmp_path: Path) -> None:
    install(tmp_path)
    none = Runtime.create(Settings(base_dir=tmp_path / ".", custom_nodes=False))
    assert none.registry.get("V1IntConst") is None and "half_broken" not in none.registry.packs
    some = Runtime.create(Settings(base_dir=tmp_path, custom_nodes=False, whitelist_custom_nodes=["half_broken"]))
    assert some.registry.get("HalfGood") is not None and some.registry.get("V1IntConst") is None
