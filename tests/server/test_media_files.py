"""Videos and audio through the server: upload (a real MP4 is accepted, a disguised non-video refused),
the ``executed`` message and history entries of every save node in ComfyUI's shapes, and /view serving
the files with their media types (and byte ranges, which players seek with)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from inkgraph.engine.server.app import PromptServer
from tests.fixtures.media import write_video

from .conftest import receive_until


def form(data: bytes, filename: str, content_type: str = "video/mp4", **fields: str) -> FormData:
    body = FormData()
    body.add_field("image", data, filename=filename, content_type=content_type)
    for key, value in fields.items():
        body.add_field(key, value)
    return body


async def test_upload_accepts_a_video_and_refuses_a_disguised_one(client: TestClient, server: PromptServer,
                                                                  tmp_path: Path) -> None:
    write_video(tmp_path / "made.mp4", frames=2)
    response = await client.post("/upload/image", data=form((tmp_path / "made.mp4").read_bytes(), "clip.mp4"))
    assert response.status == 200 and await response.json() == {"name": "clip.mp4", "subfolder": "", "type": "input"}
    assert (server.runtime.folders.input / "clip.mp4").read_bytes() == (tmp_path / "made.mp4").read_bytes()
    info = await (await client.get("/object_info/LoadVideo")).json()
    assert info["LoadVideo"]["input"]["required"]["file"][0] == ["clip.mp4"]
    for name, data in (("evil.mp4", b"<html><script>alert(1)</script></html>"), ("song.mp3", b"#!/bin/sh\n"),
                       ("clip.webm", b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)):
        refused = await client.post("/upload/image", data=form(data, name))
        assert refused.status == 400
        body = await refused.json()
        assert "is not the media its name says" in body["error"]["message"] and name in body["error"]["details"]
        assert not (server.runtime.folders.input / name).exists()
    escape = await client.post("/upload/image", data=form((tmp_path / "made.mp4").read_bytes(), "x.mp4",
                                                          subfolder="../../outside"))
    assert escape.status == 400 and not (tmp_path / "outside").exists()


SAVE_NODES: dict[str, tuple[str, dict[str, Any]]] = {
    "10": ("SaveVideo", {"video": ["2", 0], "filename_prefix": "video/ComfyUI", "format": "auto", "codec": "auto"}),
    "11": ("SaveWEBM", {"images": ["3", 0], "filename_prefix": "ComfyUI", "codec": "vp9", "fps": 8.0, "crf": 32.0}),
    "12": ("SaveAnimatedWEBP", {"images": ["3", 0], "filename_prefix": "ComfyUI", "fps": 6.0, "lossless": False,
                                "quality": 80, "method": "fastest"}),
    "13": ("SaveAnimatedPNG", {"images": ["3", 0], "filename_prefix": "ComfyUI", "fps": 6.0, "compress_level": 1}),
    "14": ("SaveAudio", {"audio": ["3", 1], "filename_prefix": "audio/ComfyUI"}),
    "15": ("SaveAudioMP3", {"audio": ["3", 1], "filename_prefix": "audio/ComfyUI", "quality": "128k"}),
    "16": ("SaveAudioOpus", {"audio": ["3", 1], "filename_prefix": "audio/ComfyUI", "quality": "64k"}),
    "17": ("PreviewAudio", {"audio": ["3", 1]}),
}


def comfyui_ui(node_id: str, temp_name: str) -> dict[str, Any]:
    """What ComfyUI's save nodes return as ``ui`` (comfy_api/latest/_ui.py), once JSON-encoded:
    PreviewVideo → images + animated [true]; SavedImages → images (+ animated [true] past one frame);
    SavedAudios / PreviewAudio → audio."""
    out = {"subfolder": "", "type": "output"}
    return {
        "10": {"images": [{"filename": "ComfyUI_00001_.mp4", "subfolder": "video", "type": "output"}],
               "animated": [True]},
        "11": {"images": [{"filename": "ComfyUI_00001_.webm", **out}], "animated": [True]},
        "12": {"images": [{"filename": "ComfyUI_00002_.webp", **out}], "animated": [True]},
        "13": {"images": [{"filename": "ComfyUI_00003_.png", **out}], "animated": [True]},
        "14": {"audio": [{"filename": "ComfyUI_00001_.flac", "subfolder": "audio", "type": "output"}]},
        "15": {"audio": [{"filename": "ComfyUI_00002_.mp3", "subfolder": "audio", "type": "output"}]},
        "16": {"audio": [{"filename": "ComfyUI_00003_.opus", "subfolder": "audio", "type": "output"}]},
        "17": {"audio": [{"filename": temp_name, "subfolder": "", "type": "temp"}]},
    }[node_id]


async def test_save_nodes_report_comfyui_shapes_in_executed_and_history(client: TestClient, server: PromptServer
                                                                        ) -> None:
    server.runtime.folders.input.mkdir(parents=True, exist_ok=True)
    write_video(server.runtime.folders.input / "clip.mp4", frames=4, fps=8)
    prompt: dict[str, Any] = {
        "1": {"class_type": "LoadVideo", "inputs": {"file": "clip.mp4"}},
        "2": {"class_type": "Video Slice", "inputs": {"video": ["1", 0], "start_time": 0.0, "duration": 0.25,
                                                      "strict_duration": True}},
        "3": {"class_type": "GetVideoComponents", "inputs": {"video": ["1", 0]}},
        **{node_id: {"class_type": kind, "inputs": inputs} for node_id, (kind, inputs) in SAVE_NODES.items()},
    }
    client_id, prompt_id = str(uuid.uuid4()), str(uuid.uuid4())
    ws = await client.ws_connect(f"/ws?clientId={client_id}")
    await ws.receive_json()
    response = await client.post("/prompt", json={"prompt": prompt, "client_id": client_id, "prompt_id": prompt_id})
    assert response.status == 200, await response.text()
    texts, _ = await receive_until(ws, lambda m: m["type"] == "executing" and m["data"]["node"] is None, timeout=60)
    await ws.close()
    assert not [m for m in texts if m["type"] == "execution_error"]
    executed = {m["data"]["node"]: m["data"] for m in texts if m["type"] == "executed"}
    assert sorted(executed) == sorted(SAVE_NODES)
    history = (await (await client.get(f"/history/{prompt_id}")).json())[prompt_id]
    temp_name = executed["17"]["output"]["audio"][0]["filename"]
    for node_id in SAVE_NODES:
        expected = comfyui_ui(node_id, temp_name)
        assert executed[node_id]["output"] == expected, node_id
        assert executed[node_id]["display_node"] == node_id and executed[node_id]["prompt_id"] == prompt_id
        assert history["outputs"][node_id] == expected, node_id
    types = {"10": "video/mp4", "11": "video/webm", "12": "image/webp", "13": "image/png", "14": "audio/flac",
             "15": "audio/mpeg", "16": "audio/ogg", "17": "audio/flac"}
    for node_id, content_type in types.items():
        item = history["outputs"][node_id].get("images", history["outputs"][node_id].get("audio"))[0]
        view = await client.get("/view", params=item)
        assert view.status == 200 and view.headers["Content-Type"] == content_type, node_id
        assert view.headers["Content-Disposition"] == f'filename="{item["filename"]}"'
    video = history["outputs"]["10"]["images"][0]
    ranged = await client.get("/view", params=video, headers={"Range": "bytes=0-7"})
    assert ranged.status == 206 and (await ranged.read())[4:8] == b"ftyp"
    previewed = await client.get("/view", params={**video, "preview": "webp;90", "channel": "rgb"})
    assert previewed.status == 200 and previewed.headers["Content-Type"] == "video/mp4"  # not re-encoded as a picture
