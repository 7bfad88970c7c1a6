"""ComfyUI V1 and V3 packs through the server: ``/object_info`` of V3 nodes, a V3 workflow over a real
websocket (progress from ``ComfyAPI``), ``/packs`` with each pack's kind, and what packs add to
``PromptServer.instance.app`` and ``.routes`` served under ``/`` (routes under ``/api`` too)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.server.app import PromptServer, ServerConfig

from .conftest import receive_until

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
PACKS = ("comfy_v3_pack", "comfy_subfolder_pack", "comfy_failing_pack", "comfy_failing_v3_pack")


@pytest.fixture
async def packs_client(aiohttp_client: Callable[..., Any], tmp_path: Path) -> AsyncIterator[TestClient]:
    for pack in PACKS:
        shutil.copytree(FIXTURES / pack, tmp_path / "custom_nodes" / pack)
    server = PromptServer(ServerConfig(settings=Settings(base_dir=str(tmp_path))))
    yield await aiohttp_client(server.make_app())


async def test_object_info_and_packs(packs_client: TestClient) -> None:
    body = await (await packs_client.get("/api/object_info/V3Invert")).json()
    assert body == {"V3Invert": {
        "input": {"required": {"value": ["COMFY_MATCHTYPE_V3", {"template": {"template_id": "T",
                                                                             "allowed_types": "IMAGE,MASK"}}]}},
        "input_order": {"required": ["value"]}, "is_input_list": False, "output": ["COMFY_MATCHTYPE_V3"],
        "output_is_list": [False], "output_name": ["inverted"], "output_tooltips": [None],
        "output_matchtypes": ["T"], "name": "V3Invert", "display_name": None, "description": "",
        "python_module": "custom_nodes.comfy_v3_pack", "category": "v3 fixture/values", "output_node": False,
        "deprecated": False, "experimental": False, "dev_only": False, "api_node": False, "price_badge": None,
        "search_aliases": None, "essentials_category": None, "has_intermediate_output": False}}
    everything = await (await packs_client.get("/object_info")).json()
    assert {"V3Widgets", "V3Dynamic", "SubJoin", "SubV3Length", "KSampler"} <= set(everything)
    assert "is_input_list" in everything["SubV3Length"] and "is_input_list" not in everything["SubJoin"]
    packs = {p["name"]: p for p in await (await packs_client.get("/packs")).json()}
    assert {name: (p["kind"], p["loaded"]) for name, p in packs.items() if name in PACKS} == {
        "comfy_v3_pack": ("comfyui-v3", True), "comfy_subfolder_pack": ("comfyui-v1", True),
        "comfy_failing_pack": ("comfyui-v1", False), "comfy_failing_v3_pack": ("comfyui-v3", False)}


async def test_a_v3_workflow_over_the_websocket(packs_client: TestClient) -> None:
    ws = await packs_client.ws_connect("/ws?clientId=v3")
    await ws.receive_json()
    prompt = {"1": {"class_type": "V3Async", "inputs": {"steps": 2}},
              "2": {"class_type": "V3Count", "inputs": {"value": ["1", 0]}},
              "3": {"class_type": "V3MakeImage", "inputs": {"size": 8, "value": 0.5}},
              "4": {"class_type": "V3Save", "inputs": {"images": ["3", 0], "filename_prefix": "ws"}}}
    body = await (await packs_client.post("/prompt", json={"prompt": prompt, "client_id": "v3"})).json()
    texts, _ = await receive_until(ws, lambda m: m["type"] == "executing" and m["data"]["node"] is None
                                   and m["data"]["prompt_id"] == body["prompt_id"])
    progress = [(m["data"]["value"], m["data"]["max"]) for m in texts if m["type"] == "progress"
                and m["data"]["node"] == "1"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    executed = {m["data"]["node"]: m["data"]["output"] for m in texts if m["type"] == "executed"}
    assert executed["2"] == {"text": ["2"]}
    image = executed["4"]["images"][0]
    view = await packs_client.get("/view", params={"filename": image["filename"], "type": "output"})
    assert view.status == 200 and view.content_type == "image/png"
    await ws.close()


async def test_what_packs_add_to_the_server(packs_client: TestClient) -> None:
    static = await packs_client.get("/subfolder_pack_static/hello.txt")  # PromptServer.instance.app
    assert static.status == 200 and "static folder" in await static.text()
    web = await packs_client.get("/extensions/comfy_subfolder_pack/hello.txt")  # nodes.EXTENSION_WEB_DIRS
    assert web.status == 200 and "static folder" in await web.text()
    assert (await packs_client.get("/subfolder_pack_static/../__init__.py")).status in (403, 404)
    for path in ("/subfolder_pack/shout", "/api/subfolder_pack/shout"):  # PromptServer.instance.routes
        reply = await packs_client.get(path, params={"text": "hi"})
        assert reply.status == 200 and await reply.json() == {"text": "HI!"}
