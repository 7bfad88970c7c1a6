"""Inkgraph's own canvas (web/) in headless Chromium against a real ``inkgraph serve``: it starts cleanly,
lists the server's nodes in the add-node dialog, runs the default workflow with live progress and the output
on its node, refuses a wrong connection, pins a validation error to the failing node and input, and saves
and reloads a workflow unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import Server, Traffic, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("canvas"))
    yield running
    running.stop()


@pytest.fixture
def page(server: Server, browser: Any) -> Iterator[tuple[Any, Traffic]]:
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    page = context.new_page()
    traffic = Traffic(server.url)
    traffic.attach(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/", wait_until="networkidle")
    page.wait_for_function("() => window.inkgraph && window.inkgraph.graph._nodes.length > 0")
    yield page, traffic
    assert errors == [], errors
    context.close()


def node_screen_position(page: Any, node_id: int, slot: int, is_input: bool) -> tuple[float, float]:
    """Where a node's input or output dot is on the screen."""
    x, y = page.evaluate("""([id, slot, isInput]) => {
        const app = window.inkgraph, node = app.graph.getNodeById(id);
        const pos = app.canvas.convertOffsetToCanvas(node.getConnectionPos(isInput, slot));
        const rect = app.canvas.canvas.getBoundingClientRect();
        return [rect.left + pos[0], rect.top + pos[1]];
    }""", [node_id, slot, is_input])
    return float(x), float(y)


def empty_canvas_point(page: Any) -> tuple[float, float]:
    """A point of the canvas on the screen that no node covers (the default workflow fills most of the view)."""
    x, y = page.evaluate("""() => {
        const app = window.inkgraph, rect = app.canvas.canvas.getBoundingClientRect();
        for (let sy = rect.bottom - 40; sy > rect.top + 40; sy -= 20) {
            for (let sx = rect.left + 40; sx < rect.right - 40; sx += 20) {
                const pos = app.canvas.convertOffsetToCanvas([sx - rect.left, sy - rect.top]);
                if (!app.graph.getNodeOnPos(pos[0], pos[1], app.graph._nodes, 10)) return [sx, sy];
            }
        }
        return [rect.left + 5, rect.bottom - 5];
    }""")
    return float(x), float(y)


def test_starts_cleanly_and_adds_nodes_from_the_server(page: tuple[Any, Traffic]) -> None:
    browser_page, traffic = page
    assert traffic.failures == [] and traffic.console_errors == []
    dialog = browser_page.locator(".ink-search")
    for attempt in range(3):  # on a loaded machine the browser may see two slow clicks, not a double-click
        browser_page.mouse.dblclick(*empty_canvas_point(browser_page))
        try:
            dialog.wait_for(state="visible", timeout=10_000)  # the handler runs after the event loop turns
            break
        except Exception:
            if attempt == 2:
                raise
    assert dialog.is_visible()
    everything = browser_page.locator(".ink-search-item").count()
    registered = browser_page.evaluate("() => Object.keys(window.inkgraph.objectInfo).length")
    assert everything == min(200, registered) > 50
    assert browser_page.locator(".ink-search-category").first.is_visible()  # grouped by category
    browser_page.keyboard.type("invert image")
    first = browser_page.locator(".ink-search-item").first
    assert first.get_attribute("data-type") == "ImageInvert"
    assert "Inverts" in first.locator(".description").inner_text()
    before = browser_page.evaluate("() => window.inkgraph.graph._nodes.length")
    browser_page.keyboard.press("Enter")
    assert browser_page.evaluate("() => window.inkgraph.graph._nodes.length") == before + 1
    assert browser_page.evaluate("() => window.inkgraph.graph._nodes.at(-1).type") == "ImageInvert"


def test_default_workflow_runs_with_progress_and_output(page: tuple[Any, Traffic]) -> None:
    browser_page, traffic = page
    browser_page.click("[data-action=default]")
    browser_page.keyboard.press("Control+Enter")
    browser_page.wait_for_function(
        "() => document.querySelector('#ink-progress > div').style.width === '100%'", timeout=120_000)
    save = browser_page.evaluate("() => window.inkgraph.graph._nodes.find(n => n.type === 'SaveImage').id")
    browser_page.wait_for_function(f"""() => {{
        const node = window.inkgraph.graph.getNodeById({save});
        return node.imgs && node.imgs[0].complete && node.imgs[0].naturalWidth > 0 }}""", timeout=60_000)
    name = browser_page.evaluate(f"() => window.inkgraph.graph.getNodeById({save}).outputImages[0].filename")
    assert any(f"filename={name}" in key and status == 200 for key, status in traffic.responses.items())
    browser_page.wait_for_selector("#ink-panel [data-list=history] .ink-row.success")
    assert traffic.failures == []


def test_a_wrong_connection_is_refused_while_dragging(page: tuple[Any, Traffic]) -> None:
    browser_page, _ = page
    ids = browser_page.evaluate("""() => {
        const app = window.inkgraph;
        app.graph.clear();
        const mask = LiteGraphCreate('SolidMask', [100, 100]), invert = LiteGraphCreate('ImageInvert', [500, 100]);
        function LiteGraphCreate(type, pos) {
            const node = window.inkgraph.graph.add(window.inkgraph.createNode(type)); node.pos = pos; return node; }
        app.fitView();
        return [mask.id, invert.id];
    }""")
    start = node_screen_position(browser_page, ids[0], 0, False)  # SolidMask's MASK output
    end = node_screen_position(browser_page, ids[1], 0, True)  # ImageInvert's IMAGE input
    browser_page.mouse.move(*start)
    browser_page.mouse.down()
    browser_page.mouse.move((start[0] + end[0]) / 2, end[1], steps=5)
    browser_page.mouse.move(*end, steps=5)
    browser_page.mouse.up()
    assert browser_page.evaluate(f"() => window.inkgraph.graph.getNodeById({ids[1]}).inputs[0].link") is None
    # the same drag between compatible types connects
    ids = browser_page.evaluate("""() => {
        const app = window.inkgraph, image = app.graph.add(app.createNode('EmptyImage'));
        image.pos = [100, 400]; return [image.id];
    }""") + ids
    start = node_screen_position(browser_page, ids[0], 0, False)
    browser_page.mouse.move(*start)
    browser_page.mouse.down()
    browser_page.mouse.move(*end, steps=10)
    browser_page.mouse.up()
    assert browser_page.evaluate(f"() => window.inkgraph.graph.getNodeById({ids[2]}).inputs[0].link") is not None


def test_validation_error_is_pinned_to_the_node_and_input(page: tuple[Any, Traffic]) -> None:
    browser_page, _ = page
    save = browser_page.evaluate("""() => {
        const app = window.inkgraph;
        app.graph.clear();
        const node = app.graph.add(app.createNode('SaveImage'));  // its images input left unconnected
        return node.id;
    }""")
    browser_page.click("[data-action=queue]")
    browser_page.wait_for_selector(".ink-toast.error", timeout=90_000)  # the first validation imports torch
    assert "Prompt outputs failed validation" in browser_page.locator(".ink-toast.error").first.inner_text()
    pinned = browser_page.evaluate(f"""() => {{
        const error = window.inkgraph.state.errors.get('{save}');
        return error && [...error.inputs.keys()];
    }}""")
    assert pinned == ["images"]


def test_save_and_reload_round_trip(page: tuple[Any, Traffic], server: Server) -> None:
    browser_page, _ = page
    browser_page.evaluate("() => window.inkgraph.loadDefault()")  # awaited: the button's load is asynchronous
    first = browser_page.evaluate("() => JSON.stringify(window.inkgraph.serializeWorkflow())")
    with browser_page.expect_download() as download_info:
        browser_page.once("dialog", lambda dialog: dialog.accept("round-trip"))
        browser_page.keyboard.press("Control+s")
    saved = download_info.value.path()
    data = json.loads(open(saved, encoding="utf-8").read())
    assert data["version"] == 0.4 and {"nodes", "links", "last_node_id", "last_link_id"} <= data.keys()
    assert data == json.loads(first)
    assert data["extra"]["ds"]["scale"] > 0  # the view is saved, as ComfyUI saves it
    browser_page.click("[data-action=clear]")
    browser_page.evaluate("() => { window.inkgraph.canvas.ds.scale = 0.3; }")
    with browser_page.expect_file_chooser() as chooser:
        browser_page.click("[data-action=open]")
    chooser.value.set_files(saved)
    browser_page.wait_for_function("() => window.inkgraph.graph._nodes.length > 0")
    again = browser_page.evaluate("() => JSON.stringify(window.inkgraph.serializeWorkflow())")
    assert json.loads(again) == json.loads(first)
    # and the server converts the saved file to the same prompt the canvas queues
    prompt = browser_page.evaluate("""async (workflow) => {
        const { graphToPrompt } = await import('/js/prompt.js');
        const mine = graphToPrompt(window.inkgraph.graph).output;
        const theirs = (await window.inkgraph.api.convert(workflow, 'api')).prompt;
        return [mine, theirs];
    }""", data)
    strip = [{k: {"class_type": v["class_type"], "inputs": v["inputs"]} for k, v in side.items()} for side in prompt]
    assert strip[0] == strip[1]
