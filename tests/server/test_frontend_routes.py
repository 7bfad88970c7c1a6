"""The routes ComfyUI's official frontend uses besides the prompt API: users, settings, userdata (v1 and v2,
confined to the user folder), model browsing, logs, folder listings, templates."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from aiohttp.test_utils import TestClient

from inkgraph.engine.server.app import PromptServer


async def test_settings_round_trip(client: TestClient) -> None:
    assert await (await client.get("/api/users")).json() == {"storage": "server", "migrated": True}
    assert await (await client.get("/api/settings")).json() == {}
    assert (await client.post("/api/settings", json={"Comfy.A": 1, "Comfy.B": "x"})).status == 200
    assert (await client.post("/api/settings/Comfy.A", data=json.dumps(2))).status == 200
    assert await (await client.get("/api/settings")).json() == {"Comfy.A": 2, "Comfy.B": "x"}
    assert await (await client.get("/api/settings/Comfy.B")).json() == "x"
    assert await (await client.get("/api/settings/missing")).json() is None
    assert (await client.post("/api/settings", data="[1, 2]")).status == 400


async def test_userdata_files(client: TestClient, server: PromptServer) -> None:
    listing = "/api/userdata?dir=workflows&recurse=true&split=false&full_info=true"
    assert await (await client.get(listing)).json() == []  # the folder exists from the first start
    saved = await client.post("/api/userdata/workflows%2Fmine%2Fa.json?overwrite=false&full_info=true",
                              data=b'{"nodes": []}')
    info = await saved.json()
    assert saved.status == 200 and info["path"] == "workflows/mine/a.json" and info["size"] == 13
    again = await client.post("/api/userdata/workflows%2Fmine%2Fa.json?overwrite=false", data=b"{}")
    assert again.status == 409
    files = await (await client.get(listing)).json()
    assert [f["path"] for f in files] == ["mine/a.json"]
    assert await (await client.get("/api/userdata?dir=workflows&recurse=true&split=true")).json() == \
        [["mine/a.json", "mine", "a.json"]]
    assert await (await client.get("/api/userdata/workflows%2Fmine%2Fa.json")).read() == b'{"nodes": []}'
    moved = await client.post("/api/userdata/workflows%2Fmine%2Fa.json/move/workflows%2Fb.json")
    assert await moved.json() == "workflows/b.json"
    tree = await (await client.get("/api/v2/userdata?path=workflows")).json()
    assert [(e["name"], e["type"]) for e in tree] == [("mine", "directory"), ("b.json", "file")]
    assert (await client.delete("/api/userdata/workflows%2Fb.json")).status == 204
    assert (await client.get("/api/userdata/workflows%2Fb.json")).status == 404
    for escape in ("..%2F..%2Finkgraph.db", "%2Fetc%2Fpasswd", "..%2Fdefault%2F..%2F..%2Fx"):
        assert (await client.get(f"/api/userdata/{escape}")).status in (403, 404)
        assert (await client.post(f"/api/userdata/{escape}", data=b"x")).status in (403, 404)
    assert not (server.runtime.folders.base / "x").exists()


async def test_models_logs_folders_and_templates(client: TestClient, server: PromptServer) -> None:
    checkpoints = server.runtime.folders.models / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    (checkpoints / "a.safetensors").write_bytes(b"123")
    (checkpoints / ".hidden.safetensors").write_bytes(b"1")
    folders = await (await client.get("/api/experiment/models")).json()
    assert any(f["name"] == "checkpoints" for f in folders)
    models = await (await client.get("/api/experiment/models/checkpoints")).json()
    # the user's file, then the demo model shipped with Inkgraph (a second model folder)
    assert [(m["name"], m["pathIndex"]) for m in models] == [("a.safetensors", 0), ("inkgraph-demo.safetensors", 1)]
    assert models[0]["size"] == 3
    assert (await client.get("/api/experiment/models/nope")).status == 404
    assert (await client.get("/api/experiment/models/preview/checkpoints/0/a.safetensors")).status == 404
    paths = await (await client.get("/internal/folder_paths")).json()
    assert str(checkpoints) in paths["checkpoints"] and "custom_nodes" in paths
    (server.runtime.folders.output / "x.png").write_bytes(b"png")
    assert await (await client.get("/internal/files/output")).json() == ["x.png"]
    assert (await client.get("/internal/files/models")).status == 400
    logging.getLogger("custom_nodes.console_test").warning("a line for the console")
    logs = await (await client.get("/internal/logs/raw")).json()
    assert any("a line for the console" in e["m"] for e in logs["entries"])
    assert (await client.patch("/internal/logs/subscribe", json={"clientId": "c", "enabled": True})).status == 200
    assert await (await client.get("/api/workflow_templates")).json() == {}
    assert await (await client.get("/api/i18n")).json() == {}
    assert await (await client.get("/api/global_subgraphs")).json() == {}
    css = await client.get("/user.css")
    assert css.status == 200 and css.content_type == "text/css"


async def test_templates_list_inkgraphs_examples_first(client: TestClient) -> None:
    index = await (await client.get("/templates/index.json")).json()
    assert [c["title"] for c in index] == ["Inkgraph examples"]  # ComfyUI's package is not installed here
    names = {t["name"]: t for t in index[0]["templates"]}
    assert {"inkgraph-txt2img", "inkgraph-quickstart"} <= names.keys()
    assert not any(name.endswith(".ui") for name in names)
    assert "Runs as it is" in names["inkgraph-txt2img"]["description"]
    assert "v1-5-pruned-emaonly.safetensors" in names["inkgraph-txt2img-sd15"]["description"]
    workflow = await (await client.get("/templates/inkgraph-txt2img.json")).json()
    assert workflow["version"] == 0.4 and len(workflow["nodes"]) == 9  # the UI file, as the canvas opens it
    laid_out = await (await client.get("/templates/inkgraph-quickstart.json")).json()
    assert len(laid_out["nodes"]) == 7  # an API example, laid out
    thumbnail = await client.get("/templates/inkgraph-txt2img-1.png")
    assert thumbnail.status == 200 and (await thumbnail.read())[:8] == b"\x89PNG\r\n\x1a\n"
    assert await (await client.get("/templates/index.fr.json")).json() == index
    assert await (await client.get("/templates/index_logo.json")).json() == {}
    assert (await client.get("/templates/nothing.json")).status == 404
    assert (await client.get("/templates/inkgraph-nothing.json")).status == 404


async def test_templates_add_comfyuis_package_when_installed(client: TestClient, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """ComfyUI serves /templates/<file> through the package's manifest: the same files here, after ours."""
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "index.json").write_text(json.dumps([{"moduleName": "default", "title": "Image",
                                                     "templates": [{"name": "sd15_basic"}]}]))
    (folder / "sd15_basic.json").write_text('{"nodes": [], "links": [], "version": 0.4}')
    (folder / "sd15_basic-1.webp").write_bytes(b"RIFF0000WEBP")
    entry = SimpleNamespace(template_id="sd15_basic", assets=[SimpleNamespace(filename=n) for n in
                                                              ("sd15_basic.json", "sd15_basic-1.webp", "gone.webp")])
    index = SimpleNamespace(template_id="index", assets=[SimpleNamespace(filename="index.json")])

    def get_asset_path(template_id: str, filename: str) -> str:
        if not (folder / filename).exists():
            raise FileNotFoundError(filename)  # a media package that is not installed
        return str(folder / filename)

    package = ModuleType("comfyui_workflow_templates")
    package.iter_templates = lambda: [index, entry]  # type: ignore[attr-defined]
    package.get_asset_path = get_asset_path  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "comfyui_workflow_templates", package)
    listing = await (await client.get("/templates/index.json")).json()
    assert [c["title"] for c in listing] == ["Inkgraph examples", "Image"]
    assert await (await client.get("/templates/sd15_basic.json")).json() == {"nodes": [], "links": [],
                                                                               "version": 0.4}
    assert await (await client.get("/templates/sd15_basic-1.webp")).read() == b"RIFF0000WEBP"
    assert (await client.get("/templates/gone.webp")).status == 404
