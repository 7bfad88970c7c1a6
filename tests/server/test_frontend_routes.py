"""The routes ComfyUI's official frontend uses besides the prompt API: users, settings, userdata (v1 and v2,
confined to the user folder), model browsing, logs, folder listings, templates."""

from __future__ import annotations

import json
import logging

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
    assert await (await client.get("/templates/index.json")).json() == []
    assert await (await client.get("/api/workflow_templates")).json() == {}
    assert await (await client.get("/api/i18n")).json() == {}
    assert await (await client.get("/api/global_subgraphs")).json() == {}
    css = await client.get("/user.css")
    assert css.status == 200 and css.content_type == "text/css"
