"""Defects 3, 4, 5, 8, 9 and 11 of issue 15: requests that read outside their folders, slip past the
cross-origin guard, hold memory, or turned into a 500."""

from __future__ import annotations

import json
import sys
import tracemalloc
import types
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient

from inkgraph.engine.server.app import PromptServer

from ..conftest import chain_prompt, make_server
from ..test_files_and_security import form, png
from .util import deep_json, raw_request


def safetensors(metadata: dict[str, str]) -> bytes:
    header = json.dumps({"__metadata__": metadata}).encode()
    return len(header).to_bytes(8, "little") + header


# -- 3: /view_metadata stays in the model folders ---------------------------------------------------------------

async def test_view_metadata_reads_only_known_model_folders(client: TestClient, server: PromptServer) -> None:
    folders = server.runtime.folders
    (folders.base / "outside").mkdir()
    (folders.base / "outside" / "secret.safetensors").write_bytes(safetensors({"secret": "yes"}))
    (folders.models / "loras").mkdir(parents=True, exist_ok=True)
    (folders.models / "loras" / "style.safetensors").write_bytes(safetensors({"ss_name": "style"}))
    ok = await client.get("/view_metadata/loras", params={"filename": "style.safetensors"})
    assert ok.status == 200 and await ok.json() == {"ss_name": "style"}
    for folder in ("..%2F..%2Foutside", "..%2Foutside", "%2F" + str(folders.base / "outside").lstrip("/"),
                   "outside", "loras%2F..%2F..%2F..%2Foutside"):
        response = await client.get(f"/view_metadata/{folder}?filename=secret.safetensors")
        assert response.status in (400, 403, 404), folder
        assert "yes" not in await response.text()
    escape = await client.get("/view_metadata/loras", params={"filename": "../../outside/secret.safetensors"})
    assert escape.status in (400, 403, 404) and "yes" not in await escape.text()


# -- 4: cross-origin guard ------------------------------------------------------------------------------------

async def post_text_prompt(client: TestClient, headers: dict[str, str]) -> int:
    """A 'simple' cross-site request: text/plain needs no preflight, so a web page can send it."""
    body = json.dumps({"prompt": chain_prompt()})
    response = await client.post("/prompt", data=body, headers={"Content-Type": "text/plain", **headers})
    return response.status


async def test_loopback_server_refuses_foreign_origins_and_hosts(client: TestClient) -> None:
    own = f"{client.host}:{client.port}"
    refused = [{"Origin": "null"}, {"Origin": "file://"}, {"Origin": "http://evil.example"},
               {"Host": f"localhost.:{client.port}"}, {"Host": f"foo.localhost:{client.port}"},
               {"Host": f"0.0.0.0:{client.port}"}, {"Host": f"127.1:{client.port}"},
               {"Host": f"evil.example:{client.port}", "Origin": f"http://evil.example:{client.port}"},
               {"Origin": f"http://{own}.evil.example"}, {"Origin": f"http://localhost:{client.port}"}]
    for headers in refused:
        assert await post_text_prompt(client, headers) == 403, headers
    for method, path in (("GET", "/ws"), ("GET", "/userdata?dir=workflows"), ("POST", "/settings"),
                         ("POST", "/upload/image"), ("POST", "/userdata/x.json")):
        response = await client.request(method, path, headers={"Origin": "null"}, data=b"{}")
        assert response.status == 403, (method, path)
    allowed = [{}, {"Origin": f"http://{own}"}, {"Host": f"localhost:{client.port}",
                                                  "Origin": f"http://localhost:{client.port}"},
               {"Host": f"[::1]:{client.port}", "Origin": f"http://[::1]:{client.port}"}]
    for headers in allowed:
        assert await post_text_prompt(client, headers) == 200, headers
    ws = await client.ws_connect("/ws", headers={"Origin": f"http://{own}"})
    assert (await ws.receive_json())["type"] == "status"
    await ws.close()


async def test_token_server_takes_any_host_but_only_its_own_origin(aiohttp_client: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path, listen="0.0.0.0", auth_token="s3cret")
    client = await aiohttp_client(server.make_app())
    auth = {"Authorization": "Bearer s3cret"}
    assert await post_text_prompt(client, {**auth, "Host": "gpu-box.lan:8188"}) == 200
    assert await post_text_prompt(client, {**auth, "Host": "gpu-box.lan:8188",
                                           "Origin": "http://gpu-box.lan:8188"}) == 200
    assert await post_text_prompt(client, {**auth, "Host": "gpu-box.lan:8188",
                                           "Origin": "http://evil.example"}) == 403


# -- 5: oversized bodies ------------------------------------------------------------------------------------

async def test_oversized_body_is_refused_before_it_is_read(aiohttp_client: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path, max_upload_mb=1)
    client = await aiohttp_client(server.make_app())
    for path, kind in (("/upload/image", "multipart/form-data; boundary=B"), ("/prompt", "application/json"),
                       ("/userdata/big.json", "application/json")):
        head = (f"POST {path} HTTP/1.1\r\nHost: {client.host}:{client.port}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {200 * 1024 * 1024}")
        status, _ = await raw_request(client, head, b"--B\r\n", timeout=3.0)  # the rest never comes
        assert status == 413, path


async def chunks(total: int, size: int = 1 << 16) -> AsyncIterator[bytes]:
    block = b"\x89PNG" + b"x" * (size - 4)
    for _ in range(total // size):
        yield block


async def test_streamed_upload_is_bounded_while_streaming(aiohttp_client: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path, max_upload_mb=4)
    client = await aiohttp_client(server.make_app())
    body = FormData()
    body.add_field("image", chunks(24 << 20), filename="big.png", content_type="image/png")
    tracemalloc.start()
    try:
        response = await client.post("/upload/image", data=body)  # chunked: no Content-Length to refuse on
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status == 413
    assert peak < 3 << 20, f"{peak / 2**20:.1f} MiB held while refusing a 24 MiB upload"
    assert [p.name for p in server.runtime.folders.input.iterdir()] == []
    small = FormData()
    small.add_field("image", chunks(2 << 20), filename="ok.png", content_type="image/png")
    response = await client.post("/upload/image", data=small)
    assert response.status == 200
    assert (server.runtime.folders.input / "ok.png").stat().st_size == 2 << 20


# -- 8: what was a 500 is a 400 or 401 --------------------------------------------------------------------------

JSON_ROUTES = [("POST", "/prompt"), ("POST", "/queue"), ("POST", "/history"), ("POST", "/interrupt"),
               ("POST", "/free"), ("POST", "/workflow/convert"), ("POST", "/settings"), ("POST", "/settings/x"),
               ("POST", "/api/jobs/cancel"), ("PATCH", "/internal/logs/subscribe")]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
async def test_deep_json_is_a_400_at_every_json_route(client: TestClient, method: str, path: str) -> None:
    for text in (deep_json(990), '{"a": ' + deep_json(5000) + "}", '{"x": ' + deep_json(200) + "}"):
        response = await client.request(method, path, data=text.encode(),
                                        headers={"Content-Type": "application/json"})
        assert response.status == 400, (path, len(text), await response.text())
    assert (await client.get("/settings")).status == 200


async def test_deep_original_ref_is_a_400(client: TestClient) -> None:
    response = await client.post("/upload/mask", data=form(png(), "m.png", original_ref=deep_json(990)))
    assert response.status == 400


async def test_lone_surrogates_are_a_400(client: TestClient) -> None:
    body = json.dumps({"prompt": chain_prompt(), "prompt_id": "\ud800"})  # json escapes it as \\ud800
    response = await client.post("/prompt", data=body, headers={"Content-Type": "application/json"})
    assert response.status == 400
    for path, payload in (("/queue", {"delete": ["\udfff"]}), ("/history", {"delete": ["a\ud800b"]}),
                          ("/api/jobs/cancel", {"job_ids": ["\ud800"]})):
        response = await client.post(path, data=json.dumps(payload), headers={"Content-Type": "application/json"})
        assert response.status == 400, path
    ok = await client.post("/prompt", json={"prompt": chain_prompt(), "prompt_id": "emoji-\U0001f600"})
    assert ok.status == 200  # a proper pair is fine


async def test_history_paging_beyond_sqlite_integers_is_a_400(client: TestClient) -> None:
    for query in ("max_items=99999999999999999999", "offset=99999999999999999999", "offset=-99999999999999999999",
                  "max_items=1e3", "offset=" + "9" * 5000):
        response = await client.get(f"/history?{query}")
        assert response.status == 400, query
    assert (await client.get("/history?max_items=9223372036854775807&offset=5")).status == 200


async def test_view_transcoding_failures_are_a_400(client: TestClient, server: PromptServer) -> None:
    output = server.runtime.folders.output
    (output / "notes.txt").write_text("not an image")
    (output / "pic.png").write_bytes(png())
    cases = [{"filename": "notes.txt", "preview": "webp;90"}, {"filename": "notes.txt", "channel": "rgb"},
             {"filename": "pic.png", "preview": "webp;1000"}, {"filename": "pic.png", "preview": "jpeg;\u00b2"},
             {"filename": "pic.png", "preview": "jpeg;-1"}, {"filename": "pic.png", "preview": "jpeg;" + "9" * 5000}]
    for params in cases:
        response = await client.get("/view", params=params)
        assert response.status == 400, params
        assert await response.text()
    good = await client.get("/view", params={"filename": "pic.png", "preview": "jpeg;80"})
    assert good.status == 200 and good.headers["Content-Type"] == "image/jpeg"


async def test_non_ascii_token_is_a_401(aiohttp_client: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path, auth_token="s3cret")
    client = await aiohttp_client(server.make_app())
    for token in ("s3cr\u00e9t", "\u00e9", "\ud800"):
        head = (f"GET /prompt HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n"
                f"Authorization: Bearer {token.encode('utf-8', 'surrogatepass').decode('latin-1')}")
        status, _ = await raw_request(client, head)
        assert status == 401, token
    response = await client.get("/prompt", params={"token": "\u00e9t\u00e9"})
    assert response.status == 401
    assert (await client.get("/prompt", headers={"Authorization": "Bearer s3cret"})).status == 200


# -- 9: /system_stats while torch imports ------------------------------------------------------------------------

async def test_system_stats_answers_while_torch_is_half_imported(client: TestClient,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    half = types.ModuleType("torch")  # what sys.modules holds while `import torch` runs: no .cuda yet
    half.__spec__ = types.SimpleNamespace(_initializing=True, name="torch")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "torch", half)
    response = await client.get("/system_stats")
    assert response.status == 200
    assert (await response.json())["devices"]
    assert (await client.get("/workers")).status == 200


# -- 11: model previews follow /view's symlink rule --------------------------------------------------------------

async def test_model_preview_link_out_of_models_is_not_served(client: TestClient, server: PromptServer) -> None:
    folders = server.runtime.folders
    loras = folders.models / "loras"
    loras.mkdir(parents=True, exist_ok=True)
    (folders.base / "private.png").write_bytes(png((9, 9, 9, 255)))
    (loras / "a.safetensors").write_bytes(safetensors({}))
    (loras / "a.png").symlink_to(folders.base / "private.png")
    (loras / "b.safetensors").write_bytes(safetensors({}))
    (loras / "b.png").write_bytes(png())
    (loras / "c.safetensors").write_bytes(safetensors({}))
    (loras / "c.png").write_text("not an image")
    assert (await client.get("/experiment/models/preview/loras/0/b.safetensors")).status == 200
    assert (await client.get("/experiment/models/preview/loras/0/a.safetensors")).status == 404
    assert (await client.get("/experiment/models/preview/loras/0/c.safetensors")).status == 404


# -- found by the fuzzing ----------------------------------------------------------------------------------------

async def test_names_no_file_system_takes_are_refused_not_500(client: TestClient) -> None:
    """A 256-byte name made ``stat`` raise ENAMETOOLONG (a 500) wherever a route asked if a file exists."""
    long = "x" * 256
    for method, path in (("GET", f"/userdata/{long}"), ("DELETE", f"/userdata/{long}"),
                         ("POST", f"/userdata/{long}"), ("GET", f"/view?filename={long}"),
                         ("GET", f"/view?filename=a&subfolder={'d/' * 2100}"),
                         ("GET", f"/view_metadata/loras?filename={long}.safetensors"),
                         ("GET", f"/experiment/models/preview/loras/0/{long}"), ("GET", f"/userdata?dir={long}")):
        response = await client.request(method, path, data=b"{}")
        assert 400 <= response.status < 500, (method, path[:40], response.status)


async def test_static_files_take_hostile_names(client: TestClient) -> None:
    """The canvas' static files: aiohttp's own handler answered 500 for a 256-byte name."""
    assert (await client.get("/index.html")).status == 200
    for path in ("/" + "x" * 256, "/a/" + "y" * 300 + "/b.js", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc"):
        response = await client.get(path)
        assert response.status == 404, path
