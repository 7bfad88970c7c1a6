"""What ComfyUI's launch flags change in the server: ``--enable-cors-header``, ``--multi-user``,
``--database-url``, ``--front-end-root`` and the folder overrides (``/view`` still refuses escapes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.runtime.packs import default_registry
from inkgraph.engine.server.app import PromptServer, ServerConfig

from .conftest import make_server


async def test_cors_header_answers_other_origins(aiohttp_client: Callable[..., Any], tmp_path: Path) -> None:
    client = await aiohttp_client(make_server(tmp_path, cors_origin="https://app.example").make_app())
    reply = await client.get("/system_stats", headers={"Origin": "https://app.example", "Host": "127.0.0.1:8188"})
    assert reply.status == 200 and reply.headers["Access-Control-Allow-Origin"] == "https://app.example"
    preflight = await client.options("/prompt", headers={"Origin": "https://app.example"})
    assert preflight.status == 200 and "POST" in preflight.headers["Access-Control-Allow-Methods"]
    plain = await aiohttp_client(make_server(tmp_path / "plain").make_app())
    refused = await plain.get("/system_stats", headers={"Origin": "https://evil.example", "Host": "127.0.0.1:8188"})
    assert refused.status == 403 and "Access-Control-Allow-Origin" not in refused.headers


async def test_multi_user_storage(aiohttp_client: Callable[..., Any], tmp_path: Path) -> None:
    server = make_server(tmp_path, multi_user=True)
    client = await aiohttp_client(server.make_app())
    user_id = await (await client.post("/users", json={"username": "Ada L"})).json()
    assert user_id.startswith("Ada-L_")
    assert (await (await client.get("/users")).json()) == {"storage": "server", "users": {user_id: "Ada L"}}
    assert (await client.post("/users", json={"username": "Ada L"})).status == 400
    reply = await client.post("/userdata/workflows%2Fmine.json", data=b"{}", headers={"comfy-user": user_id})
    assert reply.status == 200
    assert (server.runtime.folders.user / user_id / "workflows" / "mine.json").is_file()
    assert (await client.get("/userdata/workflows%2Fmine.json")).status == 404  # the default user has none
    assert (await client.get("/settings", headers={"comfy-user": "nobody"})).status == 400
    single = await aiohttp_client(make_server(tmp_path / "single").make_app())
    assert (await single.post("/users", json={"username": "x"})).status == 400


async def test_database_url_and_moved_folders(aiohttp_client: Callable[..., Any], tmp_path: Path) -> None:
    settings = Settings(base_dir=tmp_path / "base", output_dir=tmp_path / "elsewhere" / "out")
    server = PromptServer(ServerConfig(settings=settings, database_url="sqlite:///:memory:"),
                          runtime=Runtime.create(settings, registry=default_registry(entry_points=False)))
    assert not (tmp_path / "base" / "user" / "inkgraph.db").exists()
    client = await aiohttp_client(server.make_app())
    (tmp_path / "elsewhere" / "out" / "a.txt").write_text("moved")
    view = await client.get("/view", params={"filename": "a.txt", "type": "output"})
    assert view.status == 200 and await view.text() == "moved"
    escape = await client.get("/view", params={"filename": "../out/a.txt", "type": "output", "subfolder": ".."})
    assert escape.status in (400, 403, 404)


async def test_front_end_root(aiohttp_client: Callable[..., Any], tmp_path: Path) -> None:
    front = tmp_path / "front"
    front.mkdir()
    (front / "index.html").write_text("<html>my own frontend</html>")
    client = await aiohttp_client(make_server(tmp_path / "base", front_end_root=front).make_app())
    assert "my own frontend" in await (await client.get("/")).text()
