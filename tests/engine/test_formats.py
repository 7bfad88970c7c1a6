"""UI workflow ⇄ API prompt: ComfyUI's default graph, real template files, and every special node and mode
(PrimitiveNode, Reroute, bypass, mute, notes, subgraphs, v1 link objects, object widgets_values)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.core.formats import api_to_ui, image_metadata, read_any, ui_to_api
from inkgraph.engine.core.formats.ui_models import parse_links
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.runtime.packs import default_registry

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "workflows"
WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
TEMPLATES = ["image_sdxl_simple.json", "sdxl_refiner_prompt_example.json", "sdxl_simple_example.json"]

# reference §4.1: the API prompt ComfyUI's frontend sends for its default graph
DEFAULT_PROMPT = {
    "3": {"inputs": {"seed": 156680208700286, "steps": 20, "cfg": 8, "sampler_name": "euler", "scheduler": "normal",
                     "denoise": 1, "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0],
                     "latent_image": ["5", 0]}, "class_type": "KSampler", "_meta": {"title": "KSampler"}},
    "4": {"inputs": {"ckpt_name": "v1-5-pruned-emaonly.ckpt"}, "class_type": "CheckpointLoaderSimple",
          "_meta": {"title": "Load Checkpoint"}},
    "5": {"inputs": {"width": 512, "height": 512, "batch_size": 1}, "class_type": "EmptyLatentImage",
          "_meta": {"title": "Empty Latent Image"}},
    "6": {"inputs": {"text": "beautiful scenery nature glass bottle landscape, , purple galaxy bottle,",
                     "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
          "_meta": {"title": "CLIP Text Encode (Prompt)"}},
    "7": {"inputs": {"text": "text, watermark", "clip": ["4", 1]}, "class_type": "CLIPTextEncode",
          "_meta": {"title": "CLIP Text Encode (Prompt)"}},
    "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]}, "class_type": "VAEDecode",
          "_meta": {"title": "VAE Decode"}},
    "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}, "class_type": "SaveImage",
          "_meta": {"title": "Save Image"}},
}


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def test_default_graph_converts_to_exactly_comfyuis_prompt(registry: NodeRegistry) -> None:
    prompt, warnings = ui_to_api(load("default_graph.json"), registry.get)
    assert prompt == DEFAULT_PROMPT and warnings == []


@pytest.mark.parametrize("name", TEMPLATES)
def test_real_templates_keep_their_links_and_validate_but_for_model_files(registry: NodeRegistry, name: str,
                                                                        tmp_path: Path) -> None:
    workflow = load(name)
    prompt, _ = ui_to_api(workflow, registry.get)
    nodes = {str(n["id"]): n for n in workflow["nodes"]}
    checked = 0
    for link in parse_links(workflow["links"]).values():
        origin, target = nodes[link.origin_id], nodes[link.target_id]
        if origin["type"] in ("PrimitiveNode", "Reroute", "Note", "MarkdownNote") or target["type"] in ("Reroute",):
            continue
        slot = target["inputs"][link.target_slot]
        name_ = (slot.get("widget") or {}).get("name") or slot["name"]
        assert prompt[link.target_id]["inputs"][name_] == [link.origin_id, link.origin_slot]
        checked += 1
    assert checked > 5
    result = Runtime.create(Settings(base_dir=tmp_path), registry=registry).validate(prompt)
    problems = {(e.type, e.extra_info.get("input_name")) for errors in result.node_errors.values()
                for e in errors.errors}
    assert problems == {("value_not_in_list", "ckpt_name")}, result.error_body()


def test_primitive_nodes_give_their_values(registry: NodeRegistry) -> None:
    prompt, _ = ui_to_api(load("sdxl_refiner_prompt_example.json"), registry.get)
    base, refiner = prompt["10"]["inputs"], prompt["11"]["inputs"]
    assert base["steps"] == 25 and refiner["steps"] == 25 and base["end_at_step"] == 20
    assert refiner["start_at_step"] == 20 and base["noise_seed"] == 6767725640732  # control value skipped
    assert base["add_noise"] == "enable" and refiner["return_with_leftover_noise"] == "disable"


def test_unknown_node_types_become_a_validation_error_naming_them(registry: NodeRegistry, tmp_path: Path) -> None:
    workflow = load("utility-gan_upscaler.json")
    for ui_node in workflow["nodes"]:
        if ui_node["type"] in ("CreateVideo", "GetVideoComponents"):
            ui_node["type"] = f"Missing{ui_node['type']}"
    prompt, _ = ui_to_api(workflow, registry.get)
    result = Runtime.create(Settings(base_dir=tmp_path), registry=registry).validate(prompt)
    assert not result.ok and result.error is not None and result.error.type == "invalid_prompt"
    missing = {e.class_type for e in result.node_errors.values()}
    assert missing == {"MissingCreateVideo", "MissingGetVideoComponents"}


def test_a_video_template_validates_with_only_its_files_missing(registry: NodeRegistry, tmp_path: Path) -> None:
    prompt, _ = ui_to_api(load("utility-gan_upscaler.json"), registry.get)
    result = Runtime.create(Settings(base_dir=tmp_path), registry=registry).validate(prompt)
    problems = {(errors.class_type, e.type) for errors in result.node_errors.values() for e in errors.errors}
    assert problems == {("LoadVideo", "custom_validation_failed"), ("UpscaleModelLoader", "value_not_in_list")}


def node(id_: int, type_: str, inputs: list[Any] | None = None, outputs: list[Any] | None = None,
         widgets: Any = None, mode: int = 0) -> dict[str, Any]:
    return {"id": id_, "type": type_, "mode": mode, "inputs": inputs or [], "outputs": outputs or [],
            "widgets_values": widgets}


def slot(name: str, type_: str, link: int | None) -> dict[str, Any]:
    return {"name": name, "type": type_, "link": link}


def test_bypass_mute_reroute_notes_and_upload_widgets(registry: NodeRegistry) -> None:
    workflow = {"version": 0.4, "nodes": [
        node(1, "LoadImage", outputs=[{"name": "IMAGE", "type": "IMAGE", "links": [1]}], widgets=["cat.png", "image"]),
        node(2, "ImageInvert", [slot("image", "IMAGE", 1)], [{"name": "IMAGE", "type": "IMAGE", "links": [2]}], mode=4),
        node(3, "Reroute", [slot("", "*", 2)], [{"name": "", "type": "IMAGE", "links": [3, 5]}]),
        node(4, "ImageBlur", [slot("image", "IMAGE", 3)], [{"name": "IMAGE", "type": "IMAGE", "links": [4]}],
             widgets={"blur_radius": 3, "sigma": 1.5}),
        node(5, "SaveImage", [slot("images", "IMAGE", 4)], widgets=["blurred"]),
        node(6, "ImageInvert", [slot("image", "IMAGE", 5)], [{"name": "IMAGE", "type": "IMAGE", "links": [6]}], mode=2),
        node(7, "PreviewImage", [slot("images", "IMAGE", 6)]),
        node(8, "Note", widgets=["remember to"]),
    ], "links": [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"], [3, 3, 0, 4, 0, "IMAGE"],
                 [4, 4, 0, 5, 0, "IMAGE"], [5, 3, 0, 6, 0, "IMAGE"], [6, 6, 0, 7, 0, "IMAGE"]]}
    prompt, _ = ui_to_api(workflow, registry.get)
    assert set(prompt) == {"1", "4", "5", "7"}  # bypassed 2, muted 6, reroute 3 and the note are not sent
    assert prompt["1"]["inputs"] == {"image": "cat.png"}  # the upload button's value is skipped
    assert prompt["4"]["inputs"] == {"blur_radius": 3, "sigma": 1.5, "image": ["1", 0]}  # through bypass + reroute
    assert prompt["7"]["inputs"] == {}  # its source was muted: the link is dropped, validation will say so


def test_subgraphs_flatten_with_colon_ids_and_v1_links(registry: NodeRegistry) -> None:
    inner = {"id": "sub-1", "name": "Invert twice", "nodes": [
        node(5, "ImageInvert", [slot("image", "IMAGE", 10)], [{"name": "IMAGE", "type": "IMAGE", "links": [11]}]),
        node(6, "sub-2", [slot("image", "IMAGE", 11)], [{"name": "IMAGE", "type": "IMAGE", "links": [12]}])],
        "links": [{"id": 10, "origin_id": -10, "origin_slot": 0, "target_id": 5, "target_slot": 0, "type": "IMAGE"},
                  {"id": 11, "origin_id": 5, "origin_slot": 0, "target_id": 6, "target_slot": 0, "type": "IMAGE"},
                  {"id": 12, "origin_id": 6, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "IMAGE"}],
        "inputs": [{"id": "a", "name": "image", "type": "IMAGE"}], "outputs": [{"id": "b", "name": "IMAGE",
                                                                           "type": "IMAGE"}]}
    nested = {"id": "sub-2", "nodes": [
        node(7, "ImageInvert", [slot("image", "IMAGE", 20)], [{"name": "IMAGE", "type": "IMAGE", "links": [21]}])],
        "links": [[20, -10, 0, 7, 0, "IMAGE"], [21, 7, 0, -20, 0, "IMAGE"]]}
    workflow = {"version": 1, "state": {"lastNodeId": 3}, "nodes": [
        node(1, "EmptyImage", outputs=[{"name": "IMAGE", "type": "IMAGE", "links": [1]}], widgets=[8, 8, 1, 0]),
        node(2, "sub-1", [slot("image", "IMAGE", 1)], [{"name": "IMAGE", "type": "IMAGE", "links": [2]}]),
        node(3, "PreviewImage", [slot("images", "IMAGE", 2)])],
        "links": [{"id": 1, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "IMAGE"},
                  {"id": 2, "origin_id": 2, "origin_slot": 0, "target_id": 3, "target_slot": 0, "type": "IMAGE"}],
        "definitions": {"subgraphs": [inner, nested]}}
    prompt, _ = ui_to_api(workflow, registry.get)
    assert set(prompt) == {"1", "2:5", "2:6:7", "3"}
    assert prompt["2:5"]["inputs"] == {"image": ["1", 0]}
    assert prompt["2:6:7"]["inputs"] == {"image": ["2:5", 0]}
    assert prompt["3"]["inputs"] == {"images": ["2:6:7", 0]}


def test_a_subgraph_instance_showing_fewer_inputs_is_linked_by_name(registry: NodeRegistry) -> None:
    """The frontend may save an instance with fewer inputs than its definition declares (Flux.2 klein's
    templates show ``text`` of six): the outer link's target slot counts the instance's list, and the inputs it
    does not show keep the inner widgets' own values."""
    inner = {"id": "sub-1", "nodes": [
        node(5, "ImageBlur", [slot("image", "IMAGE", 10),
                              {**slot("blur_radius", "INT", 11), "widget": {"name": "blur_radius"}}],
             [{"name": "IMAGE", "type": "IMAGE", "links": [12]}], widgets=[4, 1.0])],
        "links": [[10, -10, 0, 5, 0, "IMAGE"], [11, -10, 1, 5, 1, "INT"], [12, 5, 0, -20, 0, "IMAGE"]],
        "inputs": [{"name": "image", "type": "IMAGE"}, {"name": "blur_radius", "type": "INT"}],
        "outputs": [{"name": "IMAGE", "type": "IMAGE"}]}
    workflow = {"version": 0.4, "nodes": [
        node(1, "EmptyImage", outputs=[{"name": "IMAGE", "type": "IMAGE", "links": [1]}], widgets=[8, 8, 1, 0]),
        node(2, "sub-1", [slot("image", "IMAGE", 1)], [{"name": "IMAGE", "type": "IMAGE", "links": [2]}], widgets=[]),
        node(3, "PreviewImage", [slot("images", "IMAGE", 2)])],
        "links": [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]], "definitions": {"subgraphs": [inner]}}
    prompt, _ = ui_to_api(workflow, registry.get)
    assert prompt["2:5"]["inputs"] == {"blur_radius": 4, "sigma": 1.0, "image": ["1", 0]}
    shown = {**workflow, "nodes": [workflow["nodes"][0], node(2, "sub-1", [slot("blur_radius", "INT", None),
                                                                            slot("image", "IMAGE", 1)],
                                                              [{"name": "IMAGE", "type": "IMAGE", "links": [2]}]),
                                   workflow["nodes"][2]],
             "links": [[1, 1, 0, 2, 1, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]]}
    prompt, _ = ui_to_api(shown, registry.get)  # inputs in another order: still by name
    assert prompt["2:5"]["inputs"]["image"] == ["1", 0]


def test_a_subgraph_instance_listing_only_some_inputs_maps_them_by_name(registry: NodeRegistry) -> None:
    """Newer frontends put only the linked and some promoted inputs on an instance; the rest keep one widget
    value each, in the subgraph's order (the official Qwen-Image 2512 ControlNet template)."""
    inner = {"id": "sub-1", "nodes": [
        node(5, "ImageBlur", [slot("image", "IMAGE", 10)], [{"name": "IMAGE", "type": "IMAGE", "links": [12]}],
             widgets=[1, 1.0]),
        node(6, "EmptyImage", [slot("width", "INT", 13), slot("height", "INT", 11)],
             [{"name": "IMAGE", "type": "IMAGE", "links": []}], widgets=[8, 8, 1, 0])],
        "links": [[10, -10, 1, 5, 0, "IMAGE"], [11, -10, 0, 6, 1, "INT"], [12, 5, 0, -20, 0, "IMAGE"],
                  [13, -10, 2, 6, 0, "INT"]],
        "inputs": [{"name": "height", "type": "INT"}, {"name": "image", "type": "IMAGE"},
                   {"name": "width", "type": "INT"}],
        "outputs": [{"name": "IMAGE", "type": "IMAGE"}]}
    workflow = {"version": 1, "nodes": [
        node(1, "EmptyImage", outputs=[{"name": "IMAGE", "type": "IMAGE", "links": [1]}], widgets=[8, 8, 1, 0]),
        node(2, "sub-1", [{"name": "height", "type": "INT", "link": None, "widget": {"name": "height"}},
                          slot("image", "IMAGE", 1)], [{"name": "IMAGE", "type": "IMAGE", "links": [2]}],
             widgets=[24, 40]),
        node(3, "PreviewImage", [slot("images", "IMAGE", 2)])],
        "links": [[1, 1, 0, 2, 1, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"]],
        "definitions": {"subgraphs": [inner]}}
    prompt, _ = ui_to_api(workflow, registry.get)
    assert prompt["2:5"]["inputs"]["image"] == ["1", 0]  # instance slot 1, subgraph slot 1: by name
    assert (prompt["2:6"]["inputs"]["height"], prompt["2:6"]["inputs"]["width"]) == (24, 40)


@pytest.mark.parametrize("name", ["default", *sorted(p.name for p in WORKFLOWS.glob("*.json")
                                             if not p.name.endswith(".ui.json"))])
def test_api_to_ui_and_back_is_the_same_prompt(registry: NodeRegistry, name: str) -> None:
    prompt = DEFAULT_PROMPT if name == "default" else json.loads((WORKFLOWS / name).read_text())
    workflow = api_to_ui(prompt, registry.get)
    assert workflow["version"] == 0.4 and len(workflow["nodes"]) == len(prompt)
    xs = {n["id"]: n["pos"][0] for n in workflow["nodes"]}
    for link in workflow["links"]:
        assert xs[link[1]] < xs[link[3]]  # sources are laid out left of their consumers
    back, _ = ui_to_api(json.loads(json.dumps(workflow)), registry.get)
    strip = {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in prompt.items()}
    assert {k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in back.items()} == strip


def png_with(**texts: str) -> bytes:
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in texts.items():
        info.add_text(key, value)
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()


def test_images_with_embedded_prompt_or_workflow(registry: NodeRegistry) -> None:
    workflow = load("default_graph.json")
    both = read_any(png_with(prompt=json.dumps(DEFAULT_PROMPT), workflow=json.dumps(workflow)), registry.get)
    assert both.prompt == DEFAULT_PROMPT and both.workflow == workflow and both.source == "image-prompt"
    only_ui = read_any(png_with(workflow=json.dumps(workflow)), registry.get)
    assert only_ui.prompt == DEFAULT_PROMPT and only_ui.source == "image-workflow"
    from PIL import Image

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "Prompt:" + json.dumps(DEFAULT_PROMPT)
    Image.new("RGB", (4, 4)).save(buffer, format="WEBP", exif=exif)
    assert image_metadata(buffer.getvalue())["prompt"] == DEFAULT_PROMPT
    with pytest.raises(ValueError, match="no 'prompt' or 'workflow'"):
        read_any(png_with(), registry.get)


def test_cli_runs_validates_and_converts_ui_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from inkgraph.engine.cli import main

    ui = api_to_ui(json.loads((WORKFLOWS / "quickstart.json").read_text()), default_registry(entry_points=False).get)
    (tmp_path / "ui.json").write_text(json.dumps(ui))
    base = ["--base-dir", str(tmp_path / "base")]
    assert main(["validate", str(tmp_path / "ui.json"), *base]) == 0
    assert main(["convert", str(tmp_path / "ui.json"), str(tmp_path / "api.json"), *base]) == 0
    assert json.loads((tmp_path / "api.json").read_text()).keys() == json.loads(
        (WORKFLOWS / "quickstart.json").read_text()).keys()
    assert main(["convert", str(tmp_path / "api.json"), str(tmp_path / "back.json"), *base]) == 0
    assert json.loads((tmp_path / "back.json").read_text())["version"] == 0.4
    assert main(["run", str(tmp_path / "ui.json"), "--no-progress", *base]) == 0
    saved = [Path(line) for line in capsys.readouterr().out.splitlines() if line.endswith(".png")]
    assert saved
    meta = image_metadata(saved[0].read_bytes())  # the UI workflow travels into the saved image
    assert meta["workflow"]["nodes"] and meta["prompt"]
    assert main(["validate", str(saved[0]), *base]) == 0  # and the image runs again


# A hand-written UI workflow: SaveImage without widgets_values, EmptyImage with only its first two values.
SPARSE_UI = {
    "last_node_id": 2, "last_link_id": 1, "version": 0.4,
    "nodes": [
        {"id": 1, "type": "EmptyImage", "pos": [0, 0], "size": [300, 150], "mode": 0, "inputs": [],
         "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}], "widgets_values": [16, 8]},
        {"id": 2, "type": "SaveImage", "pos": [400, 0], "size": [300, 260], "mode": 0,
         "inputs": [{"name": "images", "type": "IMAGE", "link": 1}], "outputs": []},
    ],
    "links": [[1, 1, 0, 2, 0, "IMAGE"]],
}


def test_missing_widget_values_take_the_widget_defaults(registry: NodeRegistry, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """What ComfyUI's frontend sends for such nodes: every widget, at its default when the file has no value."""
    prompt, _ = ui_to_api(SPARSE_UI, registry.get)
    assert prompt["2"]["inputs"] == {"filename_prefix": "ComfyUI", "images": ["1", 0]}
    assert prompt["1"]["inputs"] == {"width": 16, "height": 8, "batch_size": 1, "color": 0}
    dict_form = {**SPARSE_UI, "nodes": [{**SPARSE_UI["nodes"][0], "widgets_values": {"height": 4}},
                                        SPARSE_UI["nodes"][1]]}
    assert ui_to_api(dict_form, registry.get)[0]["1"]["inputs"]["height"] == 4

    from inkgraph.engine.cli import main

    (tmp_path / "sparse.json").write_text(json.dumps(SPARSE_UI))
    assert main(["convert", str(tmp_path / "sparse.json"), "-", "--base-dir", str(tmp_path / "b")]) == 0
    converted = json.loads(capsys.readouterr().out)
    assert converted["2"]["inputs"]["filename_prefix"] == "ComfyUI"
    assert main(["run", str(tmp_path / "sparse.json"), "--no-progress", "--base-dir", str(tmp_path / "b")]) == 0
    assert capsys.readouterr().out.strip().endswith("ComfyUI_00001_.png")
