"""What travels between the server and Ray workers, without Ray: affinity keys, shipped inputs, stored
outputs (renamed on a clash, never outside their folder), and sweep expansion."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from inkgraph.engine.cli import CliError
from inkgraph.engine.cli.sweep import sweep_runs
from inkgraph.engine.core.paths import Folders
from inkgraph.engine.scaleout.jobs import (
    OutputStore,
    input_files,
    model_files,
    node_keys,
    output_files,
    rename_references,
)


def loader_prompt(ckpt: str, seed: int) -> dict[str, object]:
    return {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": ckpt}},
            "2": {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["1", 1],
                                                         "lora_name": "styles/ink.safetensors"}},
            "3": {"class_type": "KSampler", "inputs": {"model": ["2", 0], "seed": seed, "sampler_name": "euler"}}}


def test_model_files_are_the_files_loaders_name() -> None:
    assert model_files(loader_prompt("sd15.ckpt", 1)) == {"sd15.ckpt", "styles/ink.safetensors"}
    assert model_files({"1": {"class_type": "X", "inputs": {"text": "a cat", "n": 3}}}) == frozenset()


def test_node_keys_follow_changes_downstream() -> None:
    base = node_keys(loader_prompt("a.safetensors", 1))
    tail_changed = node_keys(loader_prompt("a.safetensors", 2))
    head_changed = node_keys(loader_prompt("b.safetensors", 1))
    assert len(base & tail_changed) == 2  # loader and LoRA are still cached where this ran
    assert base & head_changed == frozenset()  # a new checkpoint changes every key after it
    chain = {str(i): {"class_type": "N", "inputs": {"v": [str(i - 1), 0]} if i else {}} for i in range(20_000)}
    assert len(node_keys(chain)) == 20_000  # no recursion limit


def test_input_files_ship_what_the_prompt_names_and_nothing_outside(tmp_path: Path) -> None:
    folders = Folders.at(tmp_path).ensure()
    (folders.input / "sub").mkdir()
    (folders.input / "sub" / "cat.png").write_bytes(b"cat")
    (tmp_path / "secret.txt").write_text("no")
    (folders.output / "api_00003_.png").write_bytes(b"earlier result")
    prompt = {"1": {"class_type": "LoadImage", "inputs": {"image": "sub/cat.png"}},
              "2": {"class_type": "LoadImage", "inputs": {"image": "../secret.txt"}},
              "3": {"class_type": "LoadImage", "inputs": {"image": "cat.png [output]"}},
              "4": {"class_type": "LoadImage", "inputs": {"image": "api_00003_.png [output]"}},
              "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "a very long prompt " * 100}}}
    assert input_files(prompt, folders) == {("input", "sub/cat.png"): b"cat",
                                            ("output", "api_00003_.png"): b"earlier result"}


def test_output_store_renames_on_a_clash_and_stays_in_its_folder(tmp_path: Path) -> None:
    folders = Folders.at(tmp_path).ensure()
    store = OutputStore(folders)
    assert store.store({("output", "", "x_00001_.png"): b"one"}) == {}
    assert store.store({("output", "", "x_00001_.png"): b"one"}) == {}  # the same file again keeps its name
    renamed = store.store({("output", "", "x_00001_.png"): b"two", ("output", "", "x_00002_.png"): b"two"})
    assert renamed == {("output", "", "x_00001_.png"): ("output", "", "x_00002_.png"),
                       ("output", "", "x_00002_.png"): ("output", "", "x_00003_.png")}
    assert (folders.output / "x_00003_.png").read_bytes() == b"two"
    assert store.store({("output", "", "plain.txt"): b"a"}) == {}
    assert store.store({("output", "", "plain.txt"): b"b"})[("output", "", "plain.txt")][2] == "plain (1).txt"
    with pytest.raises(ValueError, match="leaves its folder"):
        store.store({("output", "..", "evil.png"): b"x"})
    assert store.store({("input", "", "planted.png"): b"x"}) == {}
    assert not (folders.input / "planted.png").exists()
    ui = {"images": [{"filename": "x_00001_.png", "subfolder": "", "type": "output"}]}
    assert rename_references(ui, renamed)["images"][0]["filename"] == "x_00002_.png"
    assert output_files(ui) == [("output", "", "x_00001_.png")]


def test_sweep_runs_are_every_combination_or_csv_rows(tmp_path: Path) -> None:
    assert sweep_runs(["3.seed=1,2", "3.cfg=5,7.5"], None) == [
        ["3.seed=1", "3.cfg=5"], ["3.seed=1", "3.cfg=7.5"], ["3.seed=2", "3.cfg=5"], ["3.seed=2", "3.cfg=7.5"]]
    assert sweep_runs(['6.text="a, b","c"', "4.size=[1,2],[3,4]"], None)[1] == ['6.text="a, b"', "4.size=[3,4]"]
    rows = tmp_path / "rows.csv"
    rows.write_text("3.seed,6.text\n1,a cat\n2,a dog\n")
    assert sweep_runs([], str(rows)) == [["3.seed=1", "6.text=a cat"], ["3.seed=2", "6.text=a dog"]]
    with pytest.raises(CliError, match="NODE_ID.INPUT"):
        sweep_runs(["seed=1"], None)


def test_without_ray_nothing_imports_it(tmp_path: Path) -> None:
    code = ("import sys; from inkgraph.engine.server.app import PromptServer, ServerConfig; "
            "from inkgraph.engine.core.settings import Settings; "
            f"PromptServer(ServerConfig(settings=Settings(base_dir={str(tmp_path)!r}))); "
            "import inkgraph.engine.cli; inkgraph.engine.cli.build_parser(); "
            "assert 'ray' not in sys.modules, 'ray imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
