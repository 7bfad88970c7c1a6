"""The `inkgraph` command: exit codes, readable errors, events, overrides, and a cheap start-up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from inkgraph.engine.cli import main

WORKFLOW = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 1, "color": 255}},
    "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}, "_meta": {"title": "Flip"}},
    "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "cli"}},
}


@pytest.fixture
def workflow(tmp_path: Path) -> Path:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps(WORKFLOW))
    return path


def test_run_prints_output_paths(workflow: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "base"
    assert main(["run", str(workflow), "--base-dir", str(base), "--no-progress"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [str(base / "output" / "cli_00001_.png")]
    assert Path(out[0]).is_file()


def test_run_with_overrides_and_events(workflow: Path, tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    code = main(["run", str(workflow), "--base-dir", str(tmp_path / "b"), "--events", str(events),
                 "--set", "1.width=16", "--set", "3.filename_prefix=over", "--no-progress"])
    assert code == 0
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    types = [m["type"] for m in lines]
    assert types[0] == "execution_start" and types[-1] == "execution_success"
    executed = [m for m in lines if m["type"] == "executed"][0]
    assert executed["data"]["output"]["images"][0]["filename"] == "over_00001_.png"


def test_invalid_workflow_exits_1_naming_node_and_input(workflow: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", str(workflow), "--base-dir", str(tmp_path / "b"), "--set", "1.width=0"])
    assert code == 1
    err = capsys.readouterr().err
    assert "node 1 (EmptyImage) input 'width': Value 0 smaller than min of 1" in err


def test_execution_error_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = dict(WORKFLOW)
    wf["2"] = {"class_type": "ImageBlur", "inputs": {"image": ["1", 0], "blur_radius": 20, "sigma": 1.0}}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(wf))
    assert main(["run", str(path), "--base-dir", str(tmp_path / "b"), "--no-progress"]) == 2
    assert "Error in node 2 (ImageBlur)" in capsys.readouterr().err


def test_validate_json_is_the_post_prompt_error_body(workflow: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(workflow), "--base-dir", str(tmp_path)]) == 0
    assert main(["validate", str(workflow), "--json", "--set", "2.image=5", "--base-dir", str(tmp_path)]) == 1
    body = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert body["node_errors"]["2"]["errors"][0]["type"] == "invalid_input_type"


def test_bad_files_and_overrides(tmp_path: Path, workflow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "missing.json")]) == 1
    (tmp_path / "ui.json").write_text(json.dumps({"nodes": [], "links": [], "version": 0.4}))
    assert main(["validate", str(tmp_path / "ui.json")]) == 1
    assert main(["validate", str(workflow), "--set", "nonode.x=1"]) == 1
    err = capsys.readouterr().err
    assert "cannot read" in err and "Prompt has no outputs" in err and "no node id" in err


def test_nodes_listing(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["nodes", "--base-dir", str(tmp_path)]) == 0
    assert "ImageInvert" in capsys.readouterr().out
    assert main(["nodes", "SaveImage", "--json", "--base-dir", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["SaveImage"]["output_node"] is True
    assert main(["nodes", "Nope", "--base-dir", str(tmp_path)]) == 1


def test_validate_and_nodes_do_not_import_torch(workflow: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from inkgraph.engine.cli import main; "
        f"a = main(['validate', {str(workflow)!r}, '--base-dir', {str(tmp_path)!r}]); "
        f"b = main(['nodes', '--json', '--base-dir', {str(tmp_path)!r}]); "
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules, 'heavy import'; "
        "sys.exit(a + b)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_every_option_has_help_and_run_takes_any_workflow_form() -> None:
    import argparse

    from inkgraph.engine.cli.parser import build_parser

    missing = []

    def walk(parser: argparse.ArgumentParser, name: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, sub)
            elif not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")

    walk(build_parser(), "inkgraph")
    assert missing == []
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    assert "UI-format" in run._actions[1].help and "PNG" in run._actions[1].help


def test_a_misspelt_class_is_named_with_the_closest_ones(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    wf = json.loads(json.dumps(WORKFLOW))
    wf["2"]["class_type"] = "ImageInvrt"
    path = tmp_path / "typo.json"
    path.write_text(json.dumps(wf))
    assert main(["validate", str(path), "--base-dir", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "node 2 ('Flip'): unknown node type 'ImageInvrt' (not installed) — did you mean ImageInvert?" in err


def test_a_missing_model_file_says_where_it_was_looked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "b"
    (base / "models" / "checkpoints").mkdir(parents=True)
    (base / "models" / "checkpoints" / "mine.safetensors").write_bytes(b"")
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "demo-copy.safetensors"}},
        "2": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["1", 2]}},
        "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "4": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}}}))
    assert main(["validate", str(path), "--base-dir", str(base)]) == 1
    err = capsys.readouterr().err
    assert "input 'ckpt_name': Value not in list" in err
    assert f"looked in the checkpoints folders: {base / 'models' / 'checkpoints'}, " in err
    assert "they hold: inkgraph-demo.safetensors, mine.safetensors" in err


def test_progress_without_a_terminal_is_plain_lines_naming_nodes(workflow: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(workflow), "--base-dir", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert [line for line in err.splitlines() if line.startswith("[")] == [
        "[1/3] EmptyImage", "[2/3] Flip", "[3/3] SaveImage"]
