"""Video and audio on Inkgraph's canvas in headless Chromium: LoadVideo shows the input video on its node,
a SaveVideo output plays on its node and as the history thumbnail, a SaveAudio output is named on its
node and plays when clicked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.media import write_video

from .conftest import Server, Traffic, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("canvas-media")
    (base / "input").mkdir()
    write_video(base / "input" / "clip.mp4", frames=8, fps=8, width=32, height=24)
    running = start_server(base)
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


PLAYING = """(id) => {
    const media = window.inkgraph.graph.getNodeById(id)?.imgs?.[0];
    return media instanceof HTMLVideoElement && media.readyState >= 2 && media.videoWidth === 32 }"""


def test_video_and_audio_play_on_their_nodes_and_in_history(page: tuple[Any, Traffic]) -> None:
    browser_page, traffic = page
    ids = browser_page.evaluate("""() => {
        const app = window.inkgraph;
        app.graph.clear();
        const add = (type, pos) => { const n = app.graph.add(app.createNode(type)); n.pos = pos; return n; };
        const load = add('LoadVideo', [50, 50]), slice = add('Video Slice', [380, 50]);
        const save = add('SaveVideo', [700, 50]), parts = add('GetVideoComponents', [380, 420]);
        const sound = add('SaveAudio', [700, 420]);
        load.connect(0, slice, 0); slice.connect(0, save, 0); load.connect(0, parts, 0); parts.connect(1, sound, 0);
        slice.widgets.find((w) => w.name === 'duration').value = 0.5;
        app.fitView();
        return { load: load.id, save: save.id, sound: sound.id };
    }""")
    chosen = browser_page.evaluate(f"() => window.inkgraph.graph.getNodeById({ids['load']}).widgets[0].value")
    assert chosen == "clip.mp4"
    browser_page.wait_for_function(PLAYING, arg=ids["load"], timeout=30_000)  # the input video, on LoadVideo
    browser_page.keyboard.press("Control+Enter")
    browser_page.wait_for_function(PLAYING, arg=ids["save"], timeout=120_000)
    output = browser_page.evaluate(f"() => window.inkgraph.graph.getNodeById({ids['save']}).outputImages[0]")
    assert output == {"filename": "ComfyUI_00001_.mp4", "subfolder": "video", "type": "output"}
    source = browser_page.evaluate(f"() => window.inkgraph.graph.getNodeById({ids['save']}).imgs[0].src")
    assert "filename=ComfyUI_00001_.mp4" in source and "preview" not in source
    sound = browser_page.evaluate(f"() => window.inkgraph.graph.getNodeById({ids['sound']}).outputAudio[0]")
    assert sound == {"filename": "ComfyUI_00001_.flac", "subfolder": "audio", "type": "output"}
    browser_page.wait_for_selector("#ink-panel [data-list=history] .ink-row.success video")
    label = browser_page.locator("#ink-panel [data-list=history] .ink-row.success .label").first.inner_text()
    assert "1 video" in label and "1 audio" in label
    browser_page.wait_for_function("""() => {
        const video = document.querySelector('#ink-panel [data-list=history] .ink-row.success video');
        return video.readyState >= 2 && video.videoWidth === 32 }""", timeout=30_000)
    played = browser_page.evaluate(f"""async () => {{
        const app = window.inkgraph, node = app.graph.getNodeById({ids['sound']});
        app.state.click(node, [10, node.size[1] - 8]);
        await new Promise((resolve) => setTimeout(resolve, 300));
        return node.audioPlayer && node.audioPlayer.src }}""")
    assert "filename=ComfyUI_00001_.flac" in played
    assert traffic.failures == []
