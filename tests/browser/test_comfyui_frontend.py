"""ComfyUI's official frontend (PyPI comfyui-frontend-package) against ``inkgraph serve --frontend comfyui``,
in headless Chromium: it starts with no failing request, lists our node library, loads the classic SD1.5
default graph, queues it, shows per-node progress and the output image."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO, Server, Traffic, start_server

pytest.importorskip("comfyui_frontend_package", reason="pip install 'inkgraph[comfyui-frontend]' (in the test extra)")

DEFAULT_GRAPH = REPO / "tests" / "fixtures" / "workflows" / "default_graph.json"
CHECKPOINT = "v1-5-pruned-emaonly-fp16.safetensors"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.fixtures.tiny_sd import save_single_file

    base = tmp_path_factory.mktemp("frontend")
    save_single_file("sd1", base / "models" / "checkpoints" / CHECKPOINT, seed=1)  # tiny, SD1.5's layout
    running = start_server(base, "--frontend", "comfyui")
    yield running
    running.stop()


def test_official_frontend_runs_the_default_graph(server: Server, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    traffic = Traffic(server.url)
    traffic.attach(page)
    page.goto(server.url + "/", wait_until="networkidle", timeout=90_000)
    page.wait_for_function("() => window.app && window.app.graph && window.LiteGraph", timeout=60_000)
    registered = page.evaluate("() => Object.keys(window.LiteGraph.registered_node_types)")
    assert {"KSampler", "CheckpointLoaderSimple", "ImageUpscaleWithModel", "ImageInvert"} <= set(registered)
    page.keyboard.press("Escape")  # the templates dialog a first start opens

    page.evaluate("""() => {
        window.__events = [];
        for (const type of ['progress', 'executing', 'executed', 'execution_success', 'execution_error'])
            window.app.api.addEventListener(type, (e) => window.__events.push([type, e.detail]));
    }""")
    graph = json.loads(DEFAULT_GRAPH.read_text())
    page.evaluate("async (g) => { await window.app.loadGraphData(g); }", graph)
    # what a user does before queueing on a small machine: pick the installed model, a small size, few steps
    page.evaluate("""(ckpt) => {
        const set = (type, name, value) => {
            for (const node of window.app.graph._nodes.filter(n => n.type === type))
                node.widgets.find(w => w.name === name).value = value;
        };
        set('CheckpointLoaderSimple', 'ckpt_name', ckpt);
        set('EmptyLatentImage', 'width', 64); set('EmptyLatentImage', 'height', 64);
        set('KSampler', 'steps', 3);
    }""", CHECKPOINT)
    page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
    page.wait_for_function("() => window.__events.some(e => e[0] === 'execution_success' || e[0] === "
                           "'execution_error')", timeout=120_000)
    events = page.evaluate("() => window.__events")
    assert not [e for e in events if e[0] == "execution_error"], events
    progress = [e[1] for e in events if e[0] == "progress"]
    assert progress and progress[-1]["value"] == progress[-1]["max"] == 3 and progress[-1]["node"] == "3"
    executed = [e[1] for e in events if e[0] == "executed"]
    image = executed[-1]["output"]["images"][0]
    assert executed[-1]["node"] == "9" and image["filename"].startswith("ComfyUI_")
    # the frontend shows the output on the SaveImage node: it loads /view for it
    page.wait_for_function("() => { const n = window.app.graph.getNodeById(9); return n && n.imgs && n.imgs.length"
                           " && n.imgs[0].complete && n.imgs[0].naturalWidth > 0 }", timeout=30_000)
    view = [k for k, v in traffic.responses.items() if "/view?" in k and image["filename"] in k and v == 200]
    assert view, traffic.responses
    page.screenshot(path=str(server.base / "official-frontend.png"))
    time.sleep(1)
    assert traffic.failures == [], traffic.failures
    history = json.loads(urllib.request.urlopen(f"{server.url}/api/history", timeout=10).read())  # noqa: S310
    assert [entry["status"]["status_str"] for entry in history.values()] == ["success"]
    page.close()
    assert Path(server.base / "official-frontend.png").stat().st_size > 10_000


def test_opens_on_inkgraphs_default_workflow_with_its_examples_as_templates(server: Server, browser: Any) -> None:
    """Not the frontend's own default graph (nodes and models Inkgraph may not have): Inkgraph's, and the
    Templates dialog lists Inkgraph's example workflows, which open."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    traffic = Traffic(server.url)
    traffic.attach(page)
    page.goto(server.url + "/", wait_until="networkidle", timeout=90_000)
    page.wait_for_function("() => window.app && window.app.graph && window.app.graph._nodes.length > 0",
                           timeout=60_000)
    nodes = page.evaluate("() => window.app.graph._nodes.map(n => [n.type, (n.widgets || []).map(w => w.value)])")
    assert ["CheckpointLoaderSimple", ["inkgraph-demo.safetensors"]] in nodes
    assert {t for t, _ in nodes} >= {"KSampler", "UpscaleModelLoader", "SaveImage"}
    if not page.locator("text=Inkgraph examples").count():  # a later start: the dialog is not opened for us
        page.evaluate("() => window.app.extensionManager.command.execute('Comfy.BrowseTemplates')")
    page.locator("text=Inkgraph examples").first.click()
    card = page.locator("text=Quickstart").first
    card.wait_for(timeout=30_000)
    card.click()
    page.wait_for_function("() => window.app.graph._nodes.some(n => n.type === 'ImageBlur')", timeout=30_000)
    thumbnails = [k for k, v in traffic.responses.items() if "/templates/inkgraph-" in k and k.endswith("-1.png")]
    assert thumbnails and all(traffic.responses[k] == 200 for k in thumbnails)
    time.sleep(1)
    assert traffic.failures == [], traffic.failures
    page.close()
