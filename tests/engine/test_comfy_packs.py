"""ComfyUI packs load as ComfyUI loads them: sub-folders without ``__init__.py`` and ``custom_nodes.<pack>``
imports, an input declared in both required and optional, every ComfyUI module importable (names Inkgraph
lacks raise when called, never at import), ``comfy.utils``' tensor helpers with ComfyUI's results,
``folder_names_and_paths`` over every folder, and one log line, with the pack's kind, per pack that fails."""

from __future__ import annotations

import importlib
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from inkgraph.engine import compat
from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.runtime.packs import load_custom_nodes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PACKS = ("comfy_subfolder_pack", "comfy_failing_pack", "comfy_failing_v3_pack")


def install(base: Path, packs: tuple[str, ...] = PACKS) -> Path:
    for pack in packs:
        shutil.copytree(FIXTURES / pack, base / "custom_nodes" / pack)
    return base


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    return Runtime.create(Settings(base_dir=install(tmp_path_factory.mktemp("packs"))))


def run(runtime: Runtime, prompt: dict[str, Any]) -> Any:
    result, outcome = runtime.run(prompt)
    assert result.ok, result.error_body()
    assert outcome is not None and outcome.status_str == "success", outcome and outcome.error
    return outcome


def test_subfolders_without_init_and_custom_nodes_imports(runtime: Runtime) -> None:
    status = runtime.registry.packs["comfy_subfolder_pack"]
    assert status.loaded and status.kind == "comfyui-v1" and status.node_count == 6, status
    assert sys.modules["custom_nodes"].comfy_subfolder_pack is sys.modules["custom_nodes.comfy_subfolder_pack"]
    assert {"SubJoin", "SubShow", "SubV3Length", "SubTiledDouble", "SubStateDict"} <= {s.class_type for s in
                                                                                         runtime.registry}
    outcome = run(runtime, {"1": {"class_type": "SubJoin", "inputs": {"text": "ab", "suffix": "c", "loud": True}},
                            "2": {"class_type": "SubV3Length", "inputs": {"text": ["1", 0]}},
                            "3": {"class_type": "SubShow", "inputs": {"value": ["2", 0]}},
                            "4": {"class_type": "SubShow", "inputs": {"value": ["1", 0]}}})
    assert outcome.outputs["4"] == {"text": ["ABC!"]} and outcome.outputs["3"] == {"text": ["4"]}


def test_linked_inputs_a_v1_node_does_not_declare_reach_it(runtime: Runtime) -> None:
    outcome = run(runtime, {"1": {"class_type": "SubJoin", "inputs": {"text": "a", "suffix": "1"}},
                            "2": {"class_type": "SubJoin", "inputs": {"text": "b", "suffix": "2"}},
                            "3": {"class_type": "SubJoinMulti", "inputs": {"count": 3, "text_1": ["1", 0],
                                                                           "text_2": ["2", 0], "text_3": ["1", 0]}},
                            "4": {"class_type": "SubShow", "inputs": {"value": ["3", 0]}}})
    assert outcome.outputs["4"] == {"text": ["a1+b2+a1"]}


def test_an_input_in_required_and_optional_is_required_and_listed_twice(runtime: Runtime) -> None:
    spec = runtime.registry.get("SubJoin")
    assert spec is not None
    info = node_info(spec, runtime.folders)
    assert info["input"]["required"]["suffix"] == ["STRING", {"default": "b"}]
    assert info["input"]["optional"] == {"suffix": ["STRING", {"default": "b", "tooltip": "also optional"}],
                                         "loud": ["BOOLEAN", {"default": False}]}
    assert info["input_order"] == {"required": ["text", "suffix"], "optional": ["suffix", "loud"]}
    assert info["display_name"] == "Join (subfolder)"
    result, _ = runtime.run({"1": {"class_type": "SubJoin", "inputs": {"text": "a"}},
                             "2": {"class_type": "SubShow", "inputs": {"value": ["1", 0]}}})
    assert not result.ok
    assert [e.type for e in result.node_errors["1"].errors] == ["required_input_missing"]


def test_comfy_utils_and_node_helpers_in_a_pack(runtime: Runtime) -> None:
    image = torch.rand(1, 10, 12, 3)
    spec = runtime.registry.get("SubTiledDouble")
    assert spec is not None
    out = spec.impl.execute(spec.impl.create_instance(), None, {"image": image, "tile": 6}).result[0]
    assert torch.allclose(out, torch.nn.functional.interpolate(image.movedim(-1, 1), scale_factor=2).movedim(1, -1),
                          atol=1e-6)
    outcome = run(runtime, {"1": {"class_type": "SubStateDict", "inputs": {"prefix": "model."}},
                            "2": {"class_type": "SubShow", "inputs": {"value": ["1", 0]}}})
    assert outcome.outputs["2"] == {"text": ["['model.a', 'model.b', 'other'] subfolder 6 1.5"]}


def test_a_failing_pack_is_one_line_naming_its_kind_and_cause(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    install(tmp_path, ("comfy_failing_pack", "comfy_failing_v3_pack"))
    registry = NodeRegistry()
    with caplog.at_level(logging.WARNING):
        statuses = {s.name: s for s in load_custom_nodes(registry, [tmp_path / "custom_nodes"])}
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(records) == 2, [r.getMessage() for r in records]
    v1, v3 = sorted(r.getMessage() for r in records)
    assert "\n" not in v1 + v3
    assert v1.startswith("node pack 'comfy_failing_pack' (ComfyUI V1) failed to load: missing module "
                         "'a_dependency_that_is_not_installed' (at ")
    assert v3.startswith("node pack 'comfy_failing_v3_pack' (ComfyUI V3) failed to load: RuntimeError: this pack "
                         "cannot start here (at ")
    assert statuses["comfy_failing_pack"].kind == "comfyui-v1" and not statuses["comfy_failing_pack"].loaded
    assert statuses["comfy_failing_v3_pack"].kind == "comfyui-v3"
    assert "a_dependency_that_is_not_installed" in (statuses["comfy_failing_pack"].error or "")


def test_every_comfyui_module_imports_and_what_is_missing_raises_when_called(runtime: Runtime) -> None:
    compat.activate(runtime.folders, runtime.registry)  # the module answers from the last runtime loading packs
    math = importlib.import_module("comfy.ldm.flux.math")
    with pytest.raises(NotImplementedError, match=r"ComfyUI's comfy\.ldm\.flux\.math\.apply_rope is not available"):
        math.apply_rope(1, 2)
    controlnet = importlib.import_module("comfy.controlnet")

    class Control(controlnet.ControlBase):  # subclassing a stand-in at import time works …
        pass

    with pytest.raises(NotImplementedError, match=r"comfy\.controlnet\.ControlBase"):  # … using it does not
        Control(None)
    samplers = importlib.import_module("comfy.samplers")
    assert "euler" in samplers.KSampler.SAMPLERS and samplers.KSampler.SCHEDULERS + ["x"]  # real name lists
    with pytest.raises(NotImplementedError, match=r"comfy\.samplers\.KSamplerX0Inpaint is not"):
        samplers.KSamplerX0Inpaint(None, None)
    formats = importlib.import_module("comfy.latent_formats")
    with pytest.raises(NotImplementedError, match="iterated"):
        list(formats.Wan21.latent_rgb_factors)
    with pytest.raises(NotImplementedError, match="computed with"):
        formats.Wan21.scale_factor * 2  # noqa: B018
    assert formats.SD15().scale_factor == 0.18215  # a latent format of a family Inkgraph loads is real
    comfy = importlib.import_module("comfy")
    assert comfy.sd.load_checkpoint_guess_config is importlib.import_module("comfy.sd").load_checkpoint_guess_config
    with pytest.raises(ImportError):
        importlib.import_module("comfy.a_module_comfyui_does_not_have")
    with pytest.raises(ImportError):
        exec("from comfy.utils import a_name_comfyui_does_not_have", {})  # noqa: S102
    extras = importlib.import_module("comfy_extras.nodes_mask")
    assert extras.InvertMask.INKGRAPH_BUILTIN and extras.InvertMask.FUNCTION == "execute"  # a built-in node
    node_typing = importlib.import_module("comfy.comfy_types.node_typing")
    assert (node_typing.IO.ANY != "IMAGE") is False and (node_typing.IO.NUMBER != "INT") is False
    assert node_typing.IO.IMAGE != "MASK"
    assert importlib.import_module("nodes").ImageScale.upscale_methods[0] == "nearest-exact"


def test_comfy_utils_tensor_helpers() -> None:
    from inkgraph.engine.compat.comfy import utils

    sd = {"a.x": 1, "a.y": 2, "b": 3}
    assert utils.state_dict_prefix_replace(dict(sd), {"a.": "z."}) == {"b": 3, "z.x": 1, "z.y": 2}
    assert utils.state_dict_prefix_replace(dict(sd), {"a.": "z."}, filter_keys=True) == {"z.x": 1, "z.y": 2}
    assert utils.state_dict_key_replace(dict(sd), {"b": "c"}) == {"a.x": 1, "a.y": 2, "c": 3}
    assert utils.get_tiled_scale_steps(100, 60, 32, 32, 8) == 3 * 4
    batch = torch.arange(4.0).reshape(4, 1)
    assert utils.resize_to_batch_size(batch, 2).flatten().tolist() == [0.0, 3.0]
    assert utils.resize_to_batch_size(batch, 8).flatten().tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert utils.reshape_mask(torch.ones(1, 4, 4), (2, 3, 8, 8)).shape == (2, 3, 8, 8)
    samples = torch.rand(2, 3, 20, 20)
    identity = utils.tiled_scale(samples, lambda x: x, 8, 8, 2, upscale_amount=1)
    assert torch.allclose(identity, samples, atol=1e-6)
    volume = torch.rand(1, 2, 6, 10, 10)
    assert torch.allclose(utils.tiled_scale_multidim(volume, lambda x: x * 2, tile=(4, 4, 4), overlap=1,
                                                     upscale_amount=1, out_channels=2), volume * 2, atol=1e-6)


def test_folder_names_and_paths_holds_every_comfyui_folder(runtime: Runtime) -> None:
    compat.activate(runtime.folders, runtime.registry)
    folder_paths = importlib.import_module("folder_paths")
    table = folder_paths.folder_names_and_paths
    for name in ("checkpoints", "loras", "vae", "text_encoders", "diffusion_models", "controlnet", "upscale_models",
                 "embeddings", "configs", "custom_nodes", "subfolder_models"):
        assert name in table
    paths, extensions = table["checkpoints"]
    assert str(runtime.folders.models / "checkpoints") in paths and ".safetensors" in extensions
    assert table["configs"][1] == {".yaml"}
    table["loras"][0].append("/somewhere/else/loras")  # packs append to ComfyUI's lists …
    assert "/somewhere/else/loras" in folder_paths.get_folder_paths("loras")  # … and it sticks
    assert folder_paths.get_folder_paths("clip") == folder_paths.get_folder_paths("text_encoders")
    assert folder_paths.get_filename_list("subfolder_models") == ["hello.txt"]


def test_the_cli_prints_one_line_per_failing_pack(tmp_path: Path) -> None:
    """At the CLI's default log level, as a user sees it."""
    import subprocess

    install(tmp_path, ("comfy_failing_pack", "comfy_failing_v3_pack"))
    done = subprocess.run([sys.executable, "-m", "inkgraph.engine.cli", "nodes", "--base-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120, cwd="/")
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, lines
    assert "comfy_failing_pack' (ComfyUI V1) failed to load: missing module" in lines[0]
    assert "comfy_failing_v3_pack' (ComfyUI V3) failed to load: RuntimeError" in lines[1]
