"""Uploads, /view, path escapes, tokens, the cross-origin guard, and random bodies that must never 500."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from inkgraph.engine.server.app import PromptServer
from inkgraph.engine.server.security import cross_origin

from .conftest import make_server


def png(color: tuple[int, int, int, int] = (255, 0, 0, 255), size: tuple[int, int] = (4, 4),
        text: dict[str, str] | None = None) -> bytes:
    info = PngInfo()
    for key, value in (text or {}).items():
        info.add_text(key, value)
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def form(data: bytes, filename: str = "a.png", **fields: str) -> FormData:
    body = FormData()
    body.add_field("image", data, filename=filename, content_type="image/png")
    for key, value in fields.items():
        body.add_field(key, value)
    return body


async def upload(client: TestClient, data: bytes, filename: str = "a.png", **fields: str) -> Any:
    response = await client.post("/upload/image", data=form(data, filename, **fields))
    return response.status, await response.json() if response.status == 200 else await response.text()


async def test_upload_dedupes_by_content_and_renames(client: TestClient, server: PromptServer) -> None:
    red, blue, green = png((255, 0, 0, 255)), png((0, 0, 255, 255)), png((0, 255, 0, 255))
    names = [(await upload(client, data))[1]["name"] for data in (red, red, blue, green, blue)]
    assert names == ["a.png", "a.png", "a (1).png", "a (2).png", "a (1).png"]
    status, body = await upload(client, green, overwrite="true")
    assert body == {"name": "a.png", "subfolder": "", "type": "input"}
    assert (server.runtime.folders.input / "a.png").read_bytes() == green
    status, body = await upload(client, red, subfolder="pets", type="temp")
    assert body == {"name": "a.png", "subfolder": "pets", "type": "temp"}
    assert (server.runtime.folders.temp / "pets" / "a.png").is_file()


async def test_upload_refuses_paths_outside_its_folder(client: TestClient, server: PromptServer) -> None:
    data = png()
    for fields in ({"subfolder": "../escape"}, {"subfolder": "/etc"}, {"type": "models"}):
        status, _ = await upload(client, data, **fields)
        assert status == 400, fields
    raw = (b'--B\r\nContent-Disposition: form-data; name="image"; filename="../../evil.png"\r\n'
           b"Content-Type: image/png\r\n\r\n" + data + b"\r\n--B--\r\n")
    response = await client.post("/upload/image", data=raw, headers={"Content-Type": "multipart/form-data; boundary=B"})
    assert response.status == 200
    assert (await response.json())["name"] == "evil.png"  # reduced to its base name, kept inside input/
    assert not (server.runtime.folders.base.parent / "evil.png").exists()
    response = await client.post("/upload/image", data=b"x", headers={"Content-Type": "text/plain"})
    assert response.status == 400
    empty = FormData()
    empty.add_field("other", "x")
    assert (await client.post("/upload/image", data=empty)).status == 400


async def test_upload_size_is_bounded(aiohttp_client: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path, max_upload_mb=1)
    client = await aiohttp_client(server.make_app())
    response = await client.post("/upload/image", data=form(b"x" * (2 * 1024 * 1024)))
    assert response.status == 413


async def test_upload_mask_copies_alpha_and_keeps_metadata(client: TestClient, server: PromptServer) -> None:
    original = png((10, 20, 30, 255), text={"workflow": "{}"})
    (server.runtime.folders.input / "photo.png").write_bytes(original)
    mask = png((0, 0, 0, 0))
    ref = json.dumps({"filename": "photo.png", "subfolder": "", "type": "input"})
    response = await client.post("/upload/mask", data=form(mask, "photo-mask.png", original_ref=ref))
    assert response.status == 200
    name = (await response.json())["name"]
    with Image.open(server.runtime.folders.input / name) as result:
        assert result.mode == "RGBA" and result.getpixel((0, 0)) == (10, 20, 30, 0)
        assert result.text["workflow"] == "{}"
    bad = await client.post("/upload/mask", data=form(mask, "m.png", original_ref='{"filename": "../x.png"}'))
    assert bad.status == 400


async def test_view_serves_files_and_refuses_escapes(client: TestClient, server: PromptServer) -> None:
    folders = server.runtime.folders
    (folders.output / "sub").mkdir(parents=True)
    (folders.output / "sub" / "pic.png").write_bytes(png((1, 2, 3, 128)))
    (folders.output / "page.html").write_text("<script>alert(1)</script>")
    (folders.base / "secret.txt").write_text("secret")
    (folders.output / "link.txt").symlink_to(folders.base / "secret.txt")
    ok = await client.get("/view", params={"filename": "pic.png", "subfolder": "sub"})
    assert ok.status == 200 and ok.headers["Content-Disposition"] == 'filename="pic.png"'
    rgb = await client.get("/view", params={"filename": "pic.png", "subfolder": "sub", "channel": "rgb"})
    with Image.open(io.BytesIO(await rgb.read())) as image:
        assert image.mode == "RGB"
    webp = await client.get("/view", params={"filename": "pic.png", "subfolder": "sub", "preview": "webp;50"})
    assert webp.headers["Content-Type"] == "image/webp"
    html = await client.get("/view", params={"filename": "page.html"})
    assert html.headers["Content-Type"] == "application/octet-stream"
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert (await client.get("/view", params={"filename": "pic.png [output]", "subfolder": "sub",
                                               "type": "input"})).status == 200
    cases = [({"filename": "../secret.txt"}, 400), ({"filename": "/etc/passwd"}, 400),
             ({"filename": "secret.txt", "subfolder": ".."}, 403),
             ({"filename": "secret.txt", "subfolder": "%2e%2e"}, 404),
             ({"filename": "link.txt"}, 403), ({"filename": "missing.png"}, 404),
             ({"filename": "pic.png", "type": "models"}, 400), ({}, 400)]
    for params, status in cases:
        response = await client.get("/view", params=params)
        assert response.status == status, (params, response.status)


def test_cross_origin_rule() -> None:
    assert not cross_origin("127.0.0.1:8188", "http://127.0.0.1:8188")
    assert not cross_origin("localhost", "http://localhost")  # default ports on both sides
    assert not cross_origin("example.org", "https://example.org")  # behind a TLS proxy that keeps Host
    assert cross_origin("127.0.0.1:8188", "http://evil.example")
    assert cross_origin("127.0.0.1:8188", "http://127.0.0.1:9999")
    # Issue 15: a browser never leaves a non-default port out of Origin, so a missing one is another origin;
    # and beyond loopback the Origin must still be the server's own (the token is not the only guard).
    assert cross_origin("localhost:8188", "http://localhost")
    assert cross_origin("192.168.1.5:8188", "http://evil.example")
    assert cross_origin("127.0.0.1:8188", "http://127.0.0.1:99999")
    assert cross_origin("127.0.0.1:8188", "null") and cross_origin("127.0.0.1:8188", "file://")


async def test_cross_origin_request_is_refused(client: TestClient) -> None:
    response = await client.post("/prompt", json={"prompt": {}}, headers={"Origin": "http://evil.example"})
    assert response.status == 403
    same = await client.get("/prompt", headers={"Origin": f"http://{client.host}:{client.port}"})
    assert same.status == 200


async def test_token_is_required_beyond_loopback(aiohttp_client: Any, tmp_path: Path) -> None:
    server = make_server(tmp_path, listen="0.0.0.0")
    token = server.config.auth_token
    assert token and server.config.generated_token
    client = await aiohttp_client(server.make_app())
    assert (await client.get("/prompt")).status == 401
    assert (await client.get("/prompt", headers={"Authorization": "Bearer wrong"})).status == 401
    assert (await client.get("/prompt", headers={"Authorization": f"Bearer {token}"})).status == 200
    assert (await client.get(f"/view?filename=x.png&token={token}")).status == 404  # past auth, file missing
    assert (await client.post(f"/prompt?token={token}", json={})).status == 401  # query tokens: GET only
    ws = await client.ws_connect(f"/ws?clientId=a&token={token}")
    assert (await ws.receive_json())["type"] == "status"
    await ws.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20)
prompt_nodes = st.dictionaries(
    st.text(min_size=1, max_size=3),
    st.fixed_dictionaries({"class_type": st.sampled_from(["StubConst", "StubAdd", "StubOutput", "SaveImage",
                                                          "Nope", 5])},
                          optional={"inputs": st.dictionaries(st.sampled_from(["value", "a", "b", "label", "images"]),
                                                              json_values | st.tuples(st.text(max_size=2),
                                                                                      st.integers(-1, 3)).map(list),
                                                              max_size=3)}),
    max_size=4)
bodies = st.fixed_dictionaries({}, optional={"prompt": prompt_nodes | json_values, "client_id": json_values,
                                             "prompt_id": json_values, "extra_data": json_values,
                                             "front": json_values, "number": json_values,
                                             "partial_execution_targets": json_values})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
async def test_random_prompt_bodies_never_cause_a_500(client: TestClient, body: dict[str, Any]) -> None:
    response = await client.post("/prompt", json=body)
    assert response.status in (200, 400), (body, await response.text())
    payload = await response.json()
    if response.status == 400:
        assert "error" in payload
    await client.post("/queue", json={"clear": True})
