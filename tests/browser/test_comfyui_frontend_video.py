"""ComfyUI's official frontend shows our video and audio outputs: ``inkgraph serve --frontend comfyui`` runs
LoadVideo → Video Slice → SaveVideo and GetVideoComponents → SaveAudio, queued from the frontend; the
frontend puts a playing <video> of the saved file (and an <audio> of the clip) on the page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.media import write_video

from .conftest import Server, Traffic, start_server

pytest.importorskip("comfyui_frontend_package", reason="pip install 'inkgraph[comfyui-frontend]' (in the test extra)")

PROMPT = {
    "1": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}},
    "2": {"class_type": "Video Slice", "inputs": {"video": ["1", 0], "start_time": 0.0, "duration": 0.5,
                                                  "strict_duration": False}},
    "3": {"class_type": "SaveVideo", "inputs": {"video": ["2", 0], "filename_prefix": "video/ComfyUI",
                                                "format": "auto", "codec": "auto"}},
    "4": {"class_type": "GetVideoComponents", "inputs": {"video": ["1", 0]}},
    "5": {"class_type": "SaveAudio", "inputs": {"audio": ["4", 1], "filename_prefix": "audio/ComfyUI"}},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("frontend-video")
    (base / "input").mkdir()
    write_video(base / "input" / "clip.mp4", frames=8, fps=8, width=32, height=24)
    running = start_server(base, "--frontend", "comfyui")
    yield running
    running.stop()


def test_official_frontend_plays_our_video_and_audio_outputs(server: Server, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    traffic = Traffic(server.url)
    traffic.attach(page)
    page.goto(server.url + "/", wait_until="networkidle", timeout=90_000)
    page.wait_for_function("() => window.app && window.app.graph && window.LiteGraph", timeout=60_000)
    page.keyboard.press("Escape")  # the templates dialog a first start opens
    page.evaluate("""() => {
        window.__events = [];
        for (const type of ['executed', 'execution_success', 'execution_error'])
            window.app.api.addEventListener(type, (e) => window.__events.push([type, e.detail]));
    }""")
    page.evaluate("async (prompt) => { await window.app.loadApiJson(prompt, 'video.json'); }", PROMPT)
    page.evaluate("async () => { await window.app.queuePrompt(0, 1); }")
    page.wait_for_function("() => window.__events.some(e => e[0] === 'execution_success' || e[0] === "
                           "'execution_error')", timeout=120_000)
    events = page.evaluate("() => window.__events")
    assert not [e for e in events if e[0] == "execution_error"], events
    executed = {e[1]["node"]: e[1]["output"] for e in events if e[0] == "executed"}
    assert executed["3"] == {"images": [{"filename": "ComfyUI_00001_.mp4", "subfolder": "video", "type": "output"}],
                             "animated": [True]}
    assert executed["5"] == {"audio": [{"filename": "ComfyUI_00001_.flac", "subfolder": "audio", "type": "output"}]}
    page.wait_for_function("""() => [...document.querySelectorAll('video')].some(v =>
        v.src.includes('ComfyUI_00001_.mp4') && v.readyState >= 2 && v.videoWidth === 32)""", timeout=30_000)
    page.wait_for_function("""() => [...document.querySelectorAll('audio')].some(a =>
        a.src.includes('ComfyUI_00001_.flac'))""", timeout=30_000)
    page.screenshot(path=str(server.base / "official-frontend-video.png"))
    time.sleep(1)
    assert traffic.failures == [], traffic.failures
