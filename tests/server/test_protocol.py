"""The ComfyUI protocol end to end: prompts, websocket messages, history, queue, jobs, interrupt."""

from __future__ import annotations

import json
import struct
import sys
import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from inkgraph.engine.server.app import PromptServer

from .conftest import chain_prompt, receive_until, wait_until

SAVE_PROMPT = {
    "1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 2, "color": 0xFF0000}},
    "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "api"}},
}


def done_for(prompt_id: str) -> Any:
    return lambda m: m["type"] == "executing" and m["data"]["node"] is None and m["data"]["prompt_id"] == prompt_id


async def test_websockets_api_example_flow(client: TestClient) -> None:
    """ComfyUI's script_examples/websockets_api_example.py, step by step."""
    client_id, prompt_id = str(uuid.uuid4()), str(uuid.uuid4())
    ws = await client.ws_connect(f"/ws?clientId={client_id}")
    hello = await ws.receive_json()
    assert hello == {"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": client_id}}
    response = await client.post("/prompt", json={"prompt": SAVE_PROMPT, "client_id": client_id,
                                                  "prompt_id": prompt_id})
    assert response.status == 200
    assert await response.json() == {"prompt_id": prompt_id, "number": 0, "node_errors": {}}
    texts, _ = await receive_until(ws, done_for(prompt_id))
    types = [m["type"] for m in texts]
    assert types.index("execution_start") < types.index("execution_cached") < types.index("execution_success")
    assert types[-2:] == ["status", "executing"]  # history is stored before the final executing
    executing = [m["data"] for m in texts if m["type"] == "executing" and m["data"]["node"]]
    assert [e["node"] for e in executing] == ["1", "2"]
    assert all(e["display_node"] == e["node"] and e["prompt_id"] == prompt_id for e in executing)
    history = await (await client.get(f"/history/{prompt_id}")).json()
    entry = history[prompt_id]
    assert list(entry) == ["prompt", "outputs", "status", "meta"]
    assert entry["prompt"][:2] == [0, prompt_id] and entry["prompt"][4] == ["2"]
    assert entry["prompt"][3]["client_id"] == client_id and "create_time" in entry["prompt"][3]
    assert entry["status"]["status_str"] == "success" and entry["status"]["completed"] is True
    assert [m[0] for m in entry["status"]["messages"]] == ["execution_start", "execution_cached",
                                                            "execution_success"]
    images = entry["outputs"]["2"]["images"]
    assert [i["filename"] for i in images] == ["api_00001_.png", "api_00002_.png"]
    for image in images:
        view = await client.get("/view", params=image)
        assert view.status == 200 and view.headers["Content-Type"] == "image/png"
        assert (await view.read())[:8] == b"\x89PNG\r\n\x1a\n"
    await ws.close()


async def test_api_prefix_and_prompt_endpoints(client: TestClient) -> None:
    assert await (await client.get("/api/prompt")).json() == {"exec_info": {"queue_remaining": 0}}
    info = await (await client.get("/api/object_info/SaveImage")).json()
    assert info["SaveImage"]["output_node"] is True
    assert await (await client.get("/object_info/Nope")).json() == {}
    everything = await (await client.get("/object_info")).json()
    assert "StubConst" in everything and "LoadImage" in everything
    stats = await (await client.get("/system_stats")).json()
    assert {"os", "ram_total", "ram_free", "python_version", "pytorch_version"} <= set(stats["system"])
    assert stats["system"]["os"] == sys.platform  # what ComfyUI reports on the same machine ("linux", not "posix")
    assert stats["devices"]
    features = await (await client.get("/features")).json()
    assert features["supports_preview_metadata"] is True and features["max_upload_size"] == 100 * 1024 * 1024
    assert "checkpoints" in await (await client.get("/models")).json()
    assert await (await client.get("/models/checkpoints")).json() == ["inkgraph-demo.safetensors"]  # shipped
    assert (await client.get("/models/nope")).status == 404
    assert await (await client.get("/embeddings")).json() == []
    assert isinstance(await (await client.get("/extensions")).json(), list)


async def test_prompt_errors_have_comfyui_shapes(client: TestClient) -> None:
    response = await client.post("/prompt", json={"client_id": "x"})
    assert response.status == 400
    assert await response.json() == {"error": {"type": "no_prompt", "message": "No prompt provided",
                                               "details": "No prompt provided", "extra_info": {}},
                                     "node_errors": []}
    response = await client.post("/prompt", data=b"{not json")
    assert response.status == 400 and (await response.json())["error"]["type"] == "invalid_request"
    response = await client.post("/prompt", json={"prompt": {"1": {"class_type": "StubConst", "inputs": {}}}})
    assert (await response.json())["error"]["type"] == "prompt_no_outputs"
    bad = chain_prompt()
    bad["1"]["inputs"]["value"] = 99999
    body = await (await client.post("/prompt", json={"prompt": bad})).json()
    assert body["error"]["type"] == "prompt_outputs_failed_validation"
    assert body["node_errors"]["1"]["errors"][0]["type"] == "value_bigger_than_max"
    assert body["node_errors"]["1"]["dependent_outputs"] == ["9"]
    response = await client.post("/prompt", json={"prompt": chain_prompt(), "number": "soon"})
    assert response.status == 400 and "number" in (await response.json())["error"]["details"]


async def test_history_queries(client: TestClient, server: PromptServer) -> None:
    ids = []
    for label in ("a", "b", "c"):
        body = await (await client.post("/prompt", json={"prompt": chain_prompt(label=label)})).json()
        ids.append(body["prompt_id"])
    await wait_until(lambda: server.queue.history_count() == 3)
    assert list(await (await client.get("/history")).json()) == ids
    assert list(await (await client.get("/history?max_items=2")).json()) == ids[1:]
    assert list(await (await client.get("/history?max_items=1&offset=1")).json()) == ids[1:2]
    assert (await client.get("/history?max_items=-1")).status == 400
    assert await (await client.get("/history/unknown")).json() == {}
    await client.post("/history", json={"delete": [ids[0]]})
    assert list(await (await client.get("/history")).json()) == ids[1:]
    await client.post("/history", json={"clear": True})
    assert await (await client.get("/history")).json() == {}


async def test_queue_delete_clear_and_priority(client: TestClient, server: PromptServer) -> None:
    blocker = await (await client.post("/prompt", json={"prompt": chain_prompt(slow_steps=400)})).json()
    await wait_until(lambda: server.worker.current is not None)
    later = await (await client.post("/prompt", json={"prompt": chain_prompt(label="later")})).json()
    first = await (await client.post("/prompt", json={"prompt": chain_prompt(label="first"), "front": True})).json()
    explicit = await (await client.post("/prompt", json={"prompt": chain_prompt(label="x2"), "number": 0.5})).json()
    assert first["number"] < 0 and explicit["number"] == 0.5
    queue = await (await client.get("/queue")).json()
    assert [i[1] for i in queue["queue_running"]] == [blocker["prompt_id"]]
    assert [i[1] for i in queue["queue_pending"]] == [first["prompt_id"], explicit["prompt_id"],
                                                      later["prompt_id"]]
    assert len(queue["queue_pending"][0]) == 5
    await client.post("/queue", json={"delete": [later["prompt_id"], blocker["prompt_id"]]})
    queue = await (await client.get("/queue")).json()
    assert [i[1] for i in queue["queue_running"]] == [blocker["prompt_id"]]  # running items are not deleted
    assert len(queue["queue_pending"]) == 2
    await client.post("/queue", json={"clear": True})
    assert (await (await client.get("/queue")).json())["queue_pending"] == []
    await client.post("/interrupt", json={})
    await wait_until(lambda: server.queue.tasks_remaining() == 0)


async def test_interrupt_a_running_prompt(client: TestClient, server: PromptServer) -> None:
    client_id = "watcher"
    ws = await client.ws_connect(f"/ws?clientId={client_id}")
    await ws.receive_json()
    body = await (await client.post("/prompt", json={"prompt": chain_prompt(slow_steps=1000), "client_id": client_id})
                  ).json()
    await receive_until(ws, lambda m: m["type"] == "progress")
    assert (await client.post("/interrupt", json={"prompt_id": "not-this-one"})).status == 200
    assert server.worker.current is not None
    await client.post("/interrupt", json={"prompt_id": body["prompt_id"]})
    texts, _ = await receive_until(ws, done_for(body["prompt_id"]))
    interrupted = [m["data"] for m in texts if m["type"] == "execution_interrupted"]
    assert interrupted and interrupted[0]["node_id"] == "2" and interrupted[0]["node_type"] == "StubSlow"
    entry = (await (await client.get(f"/history/{body['prompt_id']}")).json())[body["prompt_id"]]
    assert entry["status"]["status_str"] == "error" and entry["status"]["messages"][-1][0] == "execution_interrupted"
    await ws.close()


async def test_a_reconnecting_client_is_told_its_running_node(client: TestClient, server: PromptServer) -> None:
    """ComfyUI's reconnect: the prompt's own client gets ``executing`` with the running node; others do not."""
    ws = await client.ws_connect("/ws?clientId=owner")
    await ws.receive_json()
    body = await (await client.post("/prompt", json={"prompt": chain_prompt(slow_steps=1000), "client_id": "owner"})
                  ).json()
    await receive_until(ws, lambda m: m["type"] == "progress")
    await ws.close()
    again = await client.ws_connect("/ws?clientId=owner")
    assert (await again.receive_json())["type"] == "status"
    assert await again.receive_json() == {"type": "executing", "data": {"node": "2"}}
    other = await client.ws_connect("/ws?clientId=someone-else")
    assert (await other.receive_json())["type"] == "status"
    await client.post("/interrupt", json={"prompt_id": body["prompt_id"]})
    texts, _ = await receive_until(other, lambda m: m["type"] == "status")
    assert not [m for m in texts if m["type"] == "executing"]
    await receive_until(again, done_for(body["prompt_id"]))
    assert server.last_node_id is None and not server._executing
    await again.close()
    await other.close()


async def test_execution_error_is_reported_to_its_client(client: TestClient) -> None:
    ws = await client.ws_connect("/ws?clientId=c1")
    await ws.receive_json()
    prompt = {"1": {"class_type": "StubConst", "inputs": {"value": 1}},
              "2": {"class_type": "StubFail", "inputs": {"value": ["1", 0], "message": "bad thing"}},
              "3": {"class_type": "StubOutput", "inputs": {"value": ["2", 0], "label": ""}}}
    body = await (await client.post("/prompt", json={"prompt": prompt, "client_id": "c1"})).json()
    texts, _ = await receive_until(ws, done_for(body["prompt_id"]))
    error = [m["data"] for m in texts if m["type"] == "execution_error"][0]
    assert error["node_id"] == "2" and error["exception_type"] == "RuntimeError"
    job = await (await client.get(f"/api/jobs/{body['prompt_id']}")).json()
    assert job["status"] == "failed" and job["execution_error"]["exception_message"].startswith("bad thing")
    assert job["workflow"]["prompt"] == prompt and job["execution_status"]["status_str"] == "error"
    await ws.close()


async def test_messages_without_client_id_follow_comfyui_routing(client: TestClient, server: PromptServer) -> None:
    ws = await client.ws_connect("/ws")
    await ws.receive_json()
    prompt = {"1": {"class_type": "StubConst", "inputs": {"value": 1}},
              "2": {"class_type": "StubPreview", "inputs": {"value": ["1", 0], "steps": 2}},
              "9": {"class_type": "StubOutput", "inputs": {"value": ["2", 0], "label": ""}}}
    body = await (await client.post("/prompt", json={"prompt": prompt})).json()
    await wait_until(lambda: server.queue.history(body["prompt_id"]) != {})
    texts, frames = await receive_until(ws, lambda m: m["type"] == "status"
                                        and m["data"]["status"]["exec_info"]["queue_remaining"] == 0)
    types = {m["type"] for m in texts}
    assert "progress" in types and "progress_state" in types  # broadcast
    assert not types & {"executing", "executed", "execution_start", "execution_success"}  # only to a client
    assert frames and struct.unpack(">II", frames[0][:8]) == (1, 1) and frames[0][8:11] == b"\xff\xd8\xff"
    await ws.close()


async def test_preview_frames_with_metadata_for_clients_that_ask(client: TestClient) -> None:
    ws = await client.ws_connect("/ws?clientId=meta")
    await ws.receive_json()
    await ws.send_str(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
    reply = await ws.receive_json()
    assert reply["type"] == "feature_flags" and reply["data"]["supports_preview_metadata"] is True
    prompt = {"1": {"class_type": "StubConst", "inputs": {"value": 1}},
              "2": {"class_type": "StubPreview", "inputs": {"value": ["1", 0], "steps": 1}},
              "9": {"class_type": "StubOutput", "inputs": {"value": ["2", 0], "label": ""}}}
    body = await (await client.post("/prompt", json={"prompt": prompt, "client_id": "meta"})).json()
    _, frames = await receive_until(ws, done_for(body["prompt_id"]))
    event, length = struct.unpack(">II", frames[0][:8])
    meta = json.loads(frames[0][8:8 + length])
    assert event == 4 and meta == {"node_id": "2", "prompt_id": body["prompt_id"], "display_node_id": "2",
                                   "parent_node_id": None, "real_node_id": "2", "image_type": "image/jpeg"}
    assert frames[0][8 + length:8 + length + 3] == b"\xff\xd8\xff"
    await ws.close()


async def test_jobs_api(client: TestClient, server: PromptServer) -> None:
    done = await (await client.post("/prompt", json={"prompt": SAVE_PROMPT})).json()
    await wait_until(lambda: server.queue.history(done["prompt_id"]) != {})
    blocker = await (await client.post("/prompt", json={"prompt": chain_prompt(slow_steps=400)})).json()
    await wait_until(lambda: server.worker.current is not None)
    waiting = await (await client.post("/prompt", json={"prompt": chain_prompt(label="j3")})).json()
    listing = await (await client.get("/api/jobs?sort_order=asc")).json()
    assert [(j["id"], j["status"]) for j in listing["jobs"]] == [
        (done["prompt_id"], "completed"), (blocker["prompt_id"], "in_progress"), (waiting["prompt_id"], "pending")]
    assert listing["pagination"] == {"offset": 0, "limit": None, "total": 3, "has_more": False}
    completed = listing["jobs"][0]
    assert completed["outputs_count"] == 2 and completed["execution_start_time"] <= completed["execution_end_time"]
    assert completed["preview_output"] == {"filename": "api_00001_.png", "subfolder": "", "type": "output",
                                           "nodeId": "2", "mediaType": "images"}
    page = await (await client.get("/api/jobs?status=pending,in_progress&limit=1")).json()
    assert page["pagination"] == {"offset": 0, "limit": 1, "total": 2, "has_more": True}
    for query, message in (("status=done", "Invalid status value(s): done. Valid values: pending, in_progress, "
                                           "completed, failed, cancelled"),
                           ("sort_by=name", "sort_by must be 'created_at' or 'execution_duration'"),
                           ("limit=0", "limit must be a positive integer"), ("limit=x", "limit must be an integer")):
        response = await client.get(f"/api/jobs?{query}")
        assert response.status == 400 and await response.json() == {"error": message}
    assert (await client.get("/api/jobs/nope")).status == 404
    assert await (await client.post(f"/api/jobs/{waiting['prompt_id']}/cancel")).json() == {"cancelled": True}
    assert await (await client.post("/api/jobs/cancel", json={"job_ids": [blocker["prompt_id"]]})).json() == {
        "cancelled": True}
    assert await (await client.post("/api/jobs/nope/cancel")).json() == {"cancelled": False}
    bad = await client.post("/api/jobs/cancel", json={"job_ids": [3]})
    assert bad.status == 400 and (await bad.json())["invalid_ids"] == ["3"]
    await wait_until(lambda: server.queue.tasks_remaining() == 0)


async def test_workflow_conversion_route(client: TestClient) -> None:
    prompt = {"1": {"class_type": "StubConst", "inputs": {"value": 3}},
              "9": {"class_type": "StubOutput", "inputs": {"value": ["1", 0], "label": "x"}}}
    ui = await (await client.post("/workflow/convert", json={"workflow": prompt, "to": "ui"})).json()
    workflow = ui["workflow"]
    assert workflow["version"] == 0.4 and workflow["links"] == [[1, 1, 0, 9, 0, "NUMBER"]]
    back = await (await client.post("/api/workflow/convert", json={"workflow": workflow, "to": "api"})).json()
    assert {k: v["inputs"] for k, v in back["prompt"].items()} == {k: v["inputs"] for k, v in prompt.items()}
    without_values = {**workflow, "nodes": [{k: v for k, v in n.items() if k != "widgets_values"}
                                            for n in workflow["nodes"]]}
    back = await (await client.post("/workflow/convert", json={"workflow": without_values, "to": "api"})).json()
    assert back["prompt"]["9"]["inputs"] == {"value": ["1", 0], "label": "out"}  # the widget default, as the UI
    bad = await client.post("/workflow/convert", json={"workflow": "nope"})
    assert bad.status == 400 and "workflow" in (await bad.json())["error"]["details"]
