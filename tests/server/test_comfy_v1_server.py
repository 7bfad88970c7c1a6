"""A ComfyUI V1 pack through the server: its routes, its web directory, its websocket messages, and a while
loop watched over a real websocket, ran-versus-cached per node as ComfyUI's execution tests check it."""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.server.app import PromptServer, ServerConfig
from tests.engine.test_comfy_v1 import install, loop_prompt

from .conftest import receive_until


@pytest.fixture
async def v1_client(aiohttp_client: Callable[..., Any], tmp_path: Path) -> AsyncIterator[TestClient]:
    install(tmp_path)
    server = PromptServer(ServerConfig(settings=Settings(base_dir=str(tmp_path))))
    yield await aiohttp_client(server.make_app())


def done_for(prompt_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m["type"] == "executing" and m["data"]["node"] is None and m["data"]["prompt_id"] == prompt_id


async def test_pack_routes_web_directory_and_status(v1_client: TestClient) -> None:
    for path in ("/v1pack/hello", "/api/v1pack/hello"):
        reply = await v1_client.get(path)
        assert reply.status == 200 and "V1WhileClose" in (await reply.json())["nodes"]
    scripts = await (await v1_client.get("/extensions")).json()
    assert "/extensions/comfy_v1_pack/extension.js" in scripts
    script = await v1_client.get("/extensions/comfy_v1_pack/extension.js")
    assert script.status == 200 and "v1pack.extension" in await script.text()
    assert (await v1_client.get("/extensions/comfy_v1_pack/../__init__.py")).status in (403, 404)
    packs = {p["name"]: p for p in await (await v1_client.get("/packs")).json()}
    assert packs["comfy_v1_pack"]["kind"] == "comfyui-v1" and not packs["broken_syntax"]["loaded"]
    info = await (await v1_client.get("/object_info/V1WhileClose")).json()
    assert info["V1WhileClose"]["input"]["required"]["flow_control"] == ["FLOW_CONTROL", {"rawLink": True}]


async def test_while_loop_over_the_websocket_then_cached(v1_client: TestClient) -> None:
    ws = await v1_client.ws_connect("/ws?clientId=v1")
    await ws.receive_json()
    body = await (await v1_client.post("/prompt", json={"prompt": loop_prompt(3), "client_id": "v1"})).json()
    texts, _ = await receive_until(ws, done_for(body["prompt_id"]))
    executing = [m["data"] for m in texts if m["type"] == "executing" and m["data"]["node"]]
    ran = {m["node"] for m in executing}
    assert {"1", "2", "3", "4", "5", "6"} <= ran and any("." in n for n in ran)  # the loop expanded
    assert all(m["display_node"] in {"1", "2", "3", "4", "5", "6"} for m in executing)
    executed = [m["data"] for m in texts if m["type"] == "executed"]
    assert executed[-1]["node"] == "6" and executed[-1]["output"] == {"text": ["3"]}

    body = await (await v1_client.post("/prompt", json={"prompt": loop_prompt(3), "client_id": "v1"})).json()
    texts, _ = await receive_until(ws, done_for(body["prompt_id"]))
    cached = [m["data"]["nodes"] for m in texts if m["type"] == "execution_cached"][0]
    assert set(cached) == {"1", "2", "3", "4", "5", "6"}
    assert not [m for m in texts if m["type"] == "executing" and m["data"]["node"]]  # nothing ran
    assert [m["data"]["output"] for m in texts if m["type"] == "executed"] == [{"text": ["3"]}]
    history = await (await v1_client.get(f"/history/{body['prompt_id']}")).json()
    assert history[body["prompt_id"]]["outputs"]["6"] == {"text": ["3"]}
    await ws.close()


async def test_pack_messages_reach_the_client(v1_client: TestClient) -> None:
    ws = await v1_client.ws_connect("/ws?clientId=saver")
    await ws.receive_json()
    frontend = await v1_client.ws_connect("/ws?clientId=frontend")
    await frontend.receive_json()
    await frontend.send_str(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
    await frontend.receive_json()
    prompt = {"1": {"class_type": "V1StubImage", "inputs": {"content": "NOISE", "height": 8, "width": 8,
                                                             "batch_size": 1}},
              "2": {"class_type": "V1SaveWithUI", "inputs": {"images": ["1", 0], "filename_prefix": "ws"}}}
    body = await (await v1_client.post("/prompt", json={"prompt": prompt, "client_id": "saver"})).json()
    texts, frames = await receive_until(ws, done_for(body["prompt_id"]))
    assert {"type": "v1pack.saved", "data": {"count": 1}} in texts
    assert frames == []  # the pack's progress text is not for a plain client (it would read it as an image)
    body = await (await v1_client.post("/prompt", json={"prompt": prompt, "client_id": "frontend"})).json()
    _, frames = await receive_until(frontend, done_for(body["prompt_id"]))
    assert frames == [struct.pack(">II", 3, 1) + b"2saved 1"]
    await frontend.close()
    image = [m for m in texts if m["type"] == "executed"][0]["data"]["output"]["images"][0]
    view = await v1_client.get("/view", params={"filename": image["filename"], "type": "output"})
    assert view.status == 200 and view.content_type == "image/png"
    await ws.close()
