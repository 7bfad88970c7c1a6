"""What a new user sees in Inkgraph's canvas, in headless Chromium against a real ``inkgraph serve``: the
default workflow and its first result inside the visible area at small window sizes, readable; API prompts
laid out without overlapping nodes; links coloured by type; a step bar in the running node; error marks
that stay on their node; tooltips that close; history rows that say "interrupted"; ``_for_testing`` last."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import REPO, Server, start_server

WORKFLOWS = REPO / "workflows"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("canvas-view"))
    yield running
    running.stop()


PAGE_ERRORS: dict[int, list[str]] = {}


def open_page(browser: Any, server: Server, width: int, height: int) -> Any:
    """A fresh page on the default workflow; its script errors collect in ``PAGE_ERRORS[id(page)]``."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors = PAGE_ERRORS.setdefault(id(page), [])
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(server.url + "/", wait_until="networkidle")
    page.wait_for_function("() => window.inkgraph && window.inkgraph.graph._nodes.length > 0")
    page.evaluate("() => window.inkgraph.loadDefault()")
    return page


SCREEN_RECTS = """() => {
    const app = window.inkgraph, canvas = app.canvas, title = 30;  // LiteGraph.NODE_TITLE_HEIGHT
    const box = canvas.canvas.getBoundingClientRect();
    return {canvas: [box.left, box.top, box.right, box.bottom], scale: canvas.ds.scale,
            threshold: canvas.low_quality_zoom_threshold,
            nodes: Object.fromEntries(app.graph._nodes.map(n => {
                const [x, y] = canvas.convertOffsetToCanvas([n.pos[0], n.pos[1] - title]);
                const s = canvas.ds.scale;
                return [n.title, [box.left + x, box.top + y, box.left + x + n.size[0] * s,
                                  box.top + y + (n.size[1] + title) * s]];
            }))};
}"""


def inside(rect: list[float], area: list[float]) -> bool:
    return rect[0] >= area[0] and rect[1] >= area[1] and rect[2] <= area[2] and rect[3] <= area[3]


@pytest.mark.parametrize("size", [(1280, 720), (1400, 860)])
def test_the_default_workflow_and_its_result_are_in_view_and_readable(server: Server, browser: Any,
                                                                      size: tuple[int, int]) -> None:
    page = open_page(browser, server, *size)
    view = page.evaluate(SCREEN_RECTS)
    assert view["scale"] > view["threshold"]  # LiteGraph draws titles and widget text at this zoom
    outside = [name for name, rect in view["nodes"].items() if not inside(rect, view["canvas"])]
    assert outside == []
    assert page.evaluate("() => window.inkgraph.canvas.render_canvas_border") is False
    if size == (1280, 720):
        page.evaluate("""() => { window.__steps = []; window.inkgraph.socket.addEventListener('progress', () => {
            const node = window.inkgraph.graph._nodes.find(n => n.type === 'KSampler');
            window.__steps.push(node.progressLabel); }); }""")
        page.keyboard.press("Control+Enter")
        page.wait_for_function("""() => { const n = window.inkgraph.graph._nodes.find(n => n.type === 'SaveImage');
            return n.imgs && n.imgs[0].complete && n.imgs[0].naturalWidth > 0 }""", timeout=120_000)
        page.wait_for_timeout(300)  # the redraw after the image arrived
        view = page.evaluate(SCREEN_RECTS)
        assert inside(view["nodes"]["Save Image"], view["canvas"]), view
        assert inside(view["nodes"]["Upscale 4x"], view["canvas"]), view
        steps = page.evaluate("() => window.__steps")
        assert "14 / 14" in steps  # the step bar inside the sampler node is labelled
        shot = server.base / f"canvas-{size[0]}x{size[1]}-after-run.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
    assert PAGE_ERRORS[id(page)] == []
    page.close()


OVERLAPS = """() => {
    const title = 30;  // LiteGraph.NODE_TITLE_HEIGHT
    const rects = window.inkgraph.graph._nodes.map(n => {
        const need = n.computeSize();  // what LiteGraph draws, whatever size the file said
        return [n.title, n.pos[0], n.pos[1] - title, n.pos[0] + Math.max(n.size[0], need[0]),
                n.pos[1] + Math.max(n.size[1], need[1])];
    });
    const found = [];
    for (let i = 0; i < rects.length; i++) for (let j = i + 1; j < rects.length; j++) {
        const [a, b] = [rects[i], rects[j]];
        if (a[1] < b[3] && b[1] < a[3] && a[2] < b[4] && b[2] < a[4]) found.push([a[0], b[0]]);
    }
    return found;
}"""


def test_api_prompts_open_without_overlapping_nodes(server: Server, browser: Any) -> None:
    """Every example workflow in API form, opened as a file (the server lays it out), as the history's
    "open" and a dropped PNG of an API prompt do."""
    page = open_page(browser, server, 1400, 860)
    for path in sorted(WORKFLOWS.glob("*.json")):
        if path.name.endswith(".ui.json"):
            continue
        with page.expect_file_chooser() as chooser:
            page.click("[data-action=open]")
        chooser.value.set_files(str(path))
        page.wait_for_function("(n) => window.inkgraph.graph._nodes.length === n",
                               arg=len(json.loads(path.read_text())), timeout=30_000)
        assert page.evaluate(OVERLAPS) == [], path.name
    assert PAGE_ERRORS[id(page)] == []
    page.close()


def test_links_are_coloured_by_type_as_in_comfyui(server: Server, browser: Any) -> None:
    page = open_page(browser, server, 1400, 860)
    colours = page.evaluate("""() => ({link: window.inkgraph.canvas.constructor.link_type_colors,
                                      slot: window.inkgraph.canvas.default_connection_color_byType.IMAGE})""")
    assert colours["link"]["CLIP"] == "#FFD500" and colours["link"]["LATENT"] == "#FF9CF9"
    assert colours["slot"] == "#64B5F6"
    page.close()


def test_an_error_mark_stays_on_its_node_and_tooltips_close(server: Server, browser: Any) -> None:
    page = open_page(browser, server, 1400, 860)
    page.evaluate("""() => {
        const app = window.inkgraph; app.graph.clear();
        const left = app.graph.add(app.createNode('EmptyImage')); left.pos = [100, 100];
        const save = app.graph.add(app.createNode('SaveImage')); save.pos = [100 + left.size[0] + 20, 100];
        app.canvas.ds.scale = 1; app.canvas.ds.offset = [0, 0]; app.canvas.setDirty(true, true);
        window.__left = left.id; window.__save = save.id;
    }""")
    page.wait_for_timeout(200)
    left = page.evaluate("""() => { const n = window.inkgraph.graph.getNodeById(window.__left);
        const box = window.inkgraph.canvas.canvas.getBoundingClientRect();
        return {x: box.left + n.pos[0], y: box.top + n.pos[1] - 30, width: n.size[0], height: n.size[1] + 30}; }""")
    before = page.screenshot(clip=left)
    page.click("[data-action=queue]")
    page.wait_for_function("() => window.inkgraph.state.errors.size > 0", timeout=90_000)
    page.wait_for_timeout(300)
    assert page.screenshot(clip=left) == before  # the neighbour is drawn exactly as before
    # the message is in the tooltip over the failing input
    point = page.evaluate("""() => { const app = window.inkgraph, n = app.graph.getNodeById(window.__save);
        const box = app.canvas.canvas.getBoundingClientRect(), pos = n.getConnectionPos(true, 0);
        return [box.left + pos[0] + 10, box.top + pos[1]]; }""")
    page.mouse.move(*point)
    tip = page.locator("#ink-tooltip")
    tip.wait_for(state="visible")
    assert "Required input is missing" in tip.inner_text()
    page.mouse.move(1300, 400)  # over the side panel: the pointer left the canvas
    tip.wait_for(state="hidden")
    page.close()


def test_search_lists_for_testing_nodes_last(server: Server, browser: Any) -> None:
    page = open_page(browser, server, 1400, 860)
    page.keyboard.press("/")
    categories = page.locator(".ink-search-item .category").all_inner_texts()
    testing = [i for i, c in enumerate(categories) if c.startswith("_for_testing")]
    # the unfiltered list is capped (200 rows): testing nodes, when any are in it, are its last rows
    assert categories and testing == list(range(len(categories) - len(testing), len(categories)))
    page.keyboard.type("vae")
    categories = page.locator(".ink-search-item .category").all_inner_texts()
    assert categories[0] != "_for_testing" and categories[-1] == "_for_testing"
    page.close()


def test_a_stopped_prompt_is_interrupted_in_the_history(server: Server, browser: Any) -> None:
    page = open_page(browser, server, 1400, 860)
    page.evaluate("""() => new Promise((resolve) => {
        window.inkgraph.socket.addEventListener('progress', () => { window.inkgraph.api.interrupt(); resolve(); },
                                                {once: true});
        window.inkgraph.graph._nodes.find(n => n.type === 'KSampler').widgets
            .find(w => w.name === 'seed').value = 7;  // not cached from another test's run
        window.inkgraph.queue(false);
    })""")
    row = page.locator("#ink-panel [data-list=history] .ink-row.interrupted").first
    row.wait_for(timeout=60_000)
    assert row.locator(".state").inner_text() == "interrupted"
    label = row.locator(".label")
    assert label.evaluate("(e) => e.scrollWidth <= e.clientWidth + 1")  # shown whole, not cut off
    assert label.inner_text().endswith(" · no outputs")  # a stopped prompt wrote nothing: the label says so
    page.close()


def test_a_node_without_widget_values_queues_its_widget_defaults(server: Server, browser: Any) -> None:
    """As ComfyUI's frontend and the server's conversion: SaveImage with no widgets_values sends "ComfyUI"."""
    from tests.engine.test_formats import SPARSE_UI

    page = open_page(browser, server, 1400, 860)
    prompt = page.evaluate("""async (workflow) => {
        window.inkgraph.loadWorkflow(workflow);
        const { graphToPrompt } = await import('/js/prompt.js');
        return graphToPrompt(window.inkgraph.graph).output;
    }""", SPARSE_UI)
    assert prompt["2"]["inputs"] == {"filename_prefix": "ComfyUI", "images": ["1", 0]}
    assert prompt["1"]["inputs"] == {"width": 16, "height": 8, "batch_size": 1, "color": 0}
    page.close()
