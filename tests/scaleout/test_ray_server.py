"""``serve --ray`` on a local Ray with two CPU workers (a custom resource): concurrency, model affinity, a
worker killed mid-prompt, the websocket stream against a local server, and ComfyUI's API example flow."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import textwrap
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.scaleout.pool import RayOptions
from inkgraph.engine.server.app import PromptServer, ServerConfig
from tests.server.conftest import receive_until, wait_until

ray = pytest.importorskip("ray")
REPO = Path(__file__).resolve().parents[2]
RESOURCE = "inkgraph_test_worker"
PACK = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from typing import Annotated, Any
from inkgraph.engine import Context, Socket, node
from tests.engine.stub_nodes import STUB_NODES

Number = Annotated[Any, Socket(type="NUMBER")]


@node(category="stub")
def RayTagged(ctx: Context, value: Number, model: str = "") -> Number:
    \"\"\"Names a model file, as a loader would: what affinity compares.\"\"\"
    return value


NODES = [*STUB_NODES, RayTagged]
"""


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, resources={RESOURCE: 2}, include_dashboard=False, configure_logging=False,
             object_store_memory=100 * 1024 * 1024)
    yield
    ray.shutdown()


def write_pack(base: Path) -> None:
    pack = base / "custom_nodes" / "ray_stub_pack"
    pack.mkdir(parents=True)
    (pack / "__init__.py").write_text(textwrap.dedent(PACK))


def server_with_pack(base: Path, ray_options: RayOptions | None) -> PromptServer:
    """A server whose custom_nodes/ holds the test pack (workers load it from there too)."""
    write_pack(base)
    return PromptServer(ServerConfig(settings=Settings(base_dir=str(base)), ray=ray_options))


def ray_server(base: Path) -> PromptServer:
    return server_with_pack(base, RayOptions(workers=2, resource=RESOURCE, max_restarts=2))


@pytest.fixture
async def ray_client(local_ray: None, aiohttp_client: Callable[..., Any], tmp_path: Path,
                     ) -> AsyncIterator[TestClient]:
    server = ray_server(tmp_path)
    client = await aiohttp_client(server.make_app())
    client.server_object = server  # type: ignore[attr-defined]
    yield client


def tagged(model: str, steps: int = 1, delay: float = 0.01, label: str = "x", value: int = 3) -> dict[str, Any]:
    return {"1": {"class_type": "StubConst", "inputs": {"value": value}},
            "2": {"class_type": "StubSlow", "inputs": {"value": ["1", 0], "steps": steps, "delay": delay}},
            "3": {"class_type": "RayTagged", "inputs": {"value": ["2", 0], "model": model}},
            "9": {"class_type": "StubOutput", "inputs": {"value": ["3", 0], "label": label}}}


SAVE = {"1": {"class_type": "EmptyImage", "inputs": {"width": 32, "height": 32, "batch_size": 2, "color": 255}},
        "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "api"}}}


async def queue(client: TestClient, prompt: dict[str, Any], client_id: str | None = None) -> str:
    body: dict[str, Any] = {"prompt": prompt}
    if client_id:
        body["client_id"] = client_id
    reply = await client.post("/prompt", json=body)
    assert reply.status == 200, await reply.text()
    return str((await reply.json())["prompt_id"])


async def finished(client: TestClient, prompt_id: str, timeout: float = 60.0) -> dict[str, Any]:
    for _ in range(int(timeout / 0.1)):
        history = await (await client.get(f"/history/{prompt_id}")).json()
        if prompt_id in history:
            entry: dict[str, Any] = history[prompt_id]
            return entry
        await asyncio.sleep(0.1)
    raise AssertionError(f"prompt {prompt_id} did not finish in {timeout} s")


def stamps(entry: dict[str, Any]) -> dict[str, int]:
    return {name: data["timestamp"] for name, data in entry["status"]["messages"]}


async def workers(client: TestClient) -> dict[str, dict[str, Any]]:
    reply = await (await client.get("/workers")).json()
    assert reply["backend"] == "ray"
    return {w["name"]: w for w in reply["workers"]}


async def test_two_prompts_run_at_the_same_time(ray_client: TestClient) -> None:
    first = await queue(ray_client, tagged("a.safetensors", steps=20, delay=0.1, label="one"))
    second = await queue(ray_client, tagged("b.safetensors", steps=20, delay=0.1, label="two"))
    one, two = await finished(ray_client, first), await finished(ray_client, second)
    assert one["status"]["status_str"] == two["status"]["status_str"] == "success"
    assert one["outputs"]["9"] == {"values": [3], "label": ["one"]}
    # the second started before the first ended: both ran at once, on different workers
    assert stamps(two)["execution_start"] < stamps(one)["execution_success"]
    described = await workers(ray_client)
    assert sorted(w["completed"] for w in described.values()) == [1, 1]
    assert all(w["health"] == "ok" and w["device"] == "cpu" for w in described.values())
    stats = await (await ray_client.get("/system_stats")).json()
    assert {w["name"] for w in stats["workers"]} == set(described)


async def test_model_affinity_sends_a_prompt_to_the_worker_that_loaded_its_model(ray_client: TestClient) -> None:
    await finished(ray_client, await queue(ray_client, tagged("a.safetensors")))
    described = await workers(ray_client)
    (holder,) = [name for name, w in described.items() if w["model_files"] == ["a.safetensors"]]
    # nothing in common with what ran (another constant, so no cached nodes either): the other worker
    await finished(ray_client, await queue(ray_client, tagged("b.safetensors", value=4)))
    described = await workers(ray_client)
    (other,) = [name for name in described if name != holder]
    assert described[other]["model_files"] == ["b.safetensors"]
    for value in (5, 6):  # both idle, no cached nodes: the one holding a.safetensors is chosen every time
        await finished(ray_client, await queue(ray_client, tagged("a.safetensors", value=value)))
    described = await workers(ray_client)
    assert described[holder]["completed"] == 3 and described[other]["completed"] == 1
    server: PromptServer = ray_client.server_object  # type: ignore[attr-defined]
    pool = server.worker.pool  # type: ignore[union-attr]
    assert (pool.hits, pool.placements) == (2, 4)


async def test_a_killed_worker_requeues_its_prompt_and_nothing_is_lost(ray_client: TestClient) -> None:
    client_id = str(uuid.uuid4())
    ws = await ray_client.ws_connect(f"/ws?clientId={client_id}")
    prompt_id = await queue(ray_client, tagged("a.safetensors", steps=40, delay=0.1, label="survivor"), client_id)
    victim: dict[str, Any] = {}

    async def running() -> bool:
        for worker in (await workers(ray_client)).values():
            if worker["prompt_id"] == prompt_id:
                victim.update(worker)
                return True
        return False

    # mid-prompt: its run has begun on the worker (a worker can hold a prompt before its run begins)
    before, _ = await receive_until(ws, lambda m: m["type"] == "execution_start", timeout=60)
    for _ in range(200):
        if await running():
            break
        await asyncio.sleep(0.1)
    assert victim, "the prompt never started"
    os.kill(victim["pid"], signal.SIGKILL)  # the worker process dies mid-prompt, as on an OOM kill
    after, _ = await receive_until(ws, lambda m: m["type"] == "executing" and m["data"]["node"] is None
                                   and m["data"]["prompt_id"] == prompt_id, timeout=90)
    texts = before + after
    entry = await finished(ray_client, prompt_id)
    assert entry["status"]["status_str"] == "success"
    assert [t["type"] for t in texts].count("execution_start") == 2  # started, lost, started again
    described = await workers(ray_client)
    assert described[victim["name"]]["lost"] == 1
    (survivor,) = [w for name, w in described.items() if name != victim["name"]]
    assert survivor["completed"] == 1
    # the restarted actor comes back into service
    await wait_until(lambda: server_state(ray_client, victim["name"]) == "idle", timeout=60)
    await ws.close()


async def test_interrupt_reaches_the_worker_running_that_prompt(ray_client: TestClient) -> None:
    keep = await queue(ray_client, tagged("a.safetensors", steps=30, delay=0.1, label="keep"))
    stop = await queue(ray_client, tagged("b.safetensors", steps=300, delay=0.1, label="stop", value=9))
    for _ in range(300):
        busy = {w["prompt_id"] for w in (await workers(ray_client)).values()}
        if {keep, stop} <= busy:
            break
        await asyncio.sleep(0.1)
    reply = await ray_client.post("/interrupt", json={"prompt_id": stop})
    assert reply.status == 200
    stopped, kept = await finished(ray_client, stop), await finished(ray_client, keep)
    assert [m[0] for m in stopped["status"]["messages"]][-1] == "execution_interrupted"
    assert kept["status"]["status_str"] == "success"


def server_state(client: TestClient, name: str) -> str:
    server: PromptServer = client.server_object  # type: ignore[attr-defined]
    (handle,) = [w for w in server.worker.pool.workers if w.name == name]  # type: ignore[union-attr]
    return handle.state


def normalised(messages: list[dict[str, Any]], prompt_id: str) -> list[Any]:
    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: "T" if k == "timestamp" else clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return "P" if value == prompt_id else value
    return [clean(m) for m in messages]


async def stream_of(client: TestClient, prompt: dict[str, Any]) -> list[Any]:
    client_id = str(uuid.uuid4())
    ws = await client.ws_connect(f"/ws?clientId={client_id}")
    await ws.receive_json()  # status with the sid
    prompt_id = await queue(client, prompt, client_id)
    texts, _ = await receive_until(ws, lambda m: m["type"] == "executing" and m["data"]["node"] is None
                                   and m["data"]["prompt_id"] == prompt_id, timeout=60)
    await ws.close()
    return normalised(texts, prompt_id)


async def test_websocket_stream_equals_the_local_servers(ray_client: TestClient, aiohttp_client: Any,
                                                         tmp_path: Path) -> None:
    prompt = {**tagged("a.safetensors", steps=3),
              "11": {**SAVE["1"]}, "12": {"class_type": "SaveImage", "inputs": {"images": ["11", 0],
                                                                                "filename_prefix": "same"}}}
    local = await aiohttp_client(server_with_pack(tmp_path / "local", None).make_app())
    expected = await stream_of(local, prompt)
    assert await stream_of(ray_client, prompt) == expected
    types = [m["type"] for m in expected]
    assert types.count("progress") == 3 and types.count("executed") == 2 and "execution_success" in types


async def test_websockets_api_example_flow(ray_client: TestClient) -> None:
    """ComfyUI's script_examples/websockets_api_example.py against a Ray-backed server: the files come
    back from the worker before the client asks for them."""
    client_id = str(uuid.uuid4())
    ws = await ray_client.ws_connect(f"/ws?clientId={client_id}")
    assert (await ws.receive_json())["data"]["sid"] == client_id
    prompt_id = await queue(ray_client, SAVE, client_id)
    texts, _ = await receive_until(ws, lambda m: m["type"] == "executing" and m["data"]["node"] is None
                                   and m["data"]["prompt_id"] == prompt_id, timeout=60)
    executed = [m["data"] for m in texts if m["type"] == "executed"]
    assert [e["node"] for e in executed] == ["2"]
    history = (await (await ray_client.get(f"/history/{prompt_id}")).json())[prompt_id]
    images = history["outputs"]["2"]["images"]
    assert [i["filename"] for i in images] == ["api_00001_.png", "api_00002_.png"] == \
        [i["filename"] for i in executed[0]["output"]["images"]]
    for image in images:
        view = await ray_client.get("/view", params=image)
        assert view.status == 200 and (await view.read())[:8] == b"\x89PNG\r\n\x1a\n"
    # another picture goes to the other worker (nothing cached in common), which numbers its files from 1
    # too: they are stored under the next free names, and the history says so
    other = {"1": {**SAVE["1"], "inputs": {**SAVE["1"]["inputs"], "color": 0}}, "2": SAVE["2"]}
    second = await queue(ray_client, other, client_id)
    again = (await finished(ray_client, second))["outputs"]["2"]["images"]
    assert [i["filename"] for i in again] == ["api_00003_.png", "api_00004_.png"]
    # an uploaded image travels to the worker with the prompt that names it (the worker's input/ is its own)
    form = aiohttp.FormData()
    form.add_field("image", make_png(), filename="cat.png", content_type="image/png")
    uploaded = await (await ray_client.post("/upload/image", data=form)).json()
    load = {"1": {"class_type": "LoadImage", "inputs": {"image": uploaded["name"]}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "loaded"}}}
    entry = await finished(ray_client, await queue(ray_client, load, client_id))
    assert entry["status"]["status_str"] == "success", entry["status"]
    (saved,) = entry["outputs"]["2"]["images"]
    with Image.open(ray_client.server_object.runtime.folders.output / saved["filename"]) as image:  # type: ignore[attr-defined]
        assert image.size == (24, 16) and image.getpixel((0, 0))[:3] == (10, 200, 30)
    await ws.close()


def make_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (10, 200, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_run_sweep_fans_out_over_the_workers(local_ray: None, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """``inkgraph run --ray --sweep``: every combination runs, on both workers, with a results table."""
    import json

    from inkgraph.engine.cli import main

    write_pack(tmp_path)
    workflow = tmp_path / "sweep.json"
    workflow.write_text(json.dumps({**tagged("a.safetensors", steps=5, delay=0.05), "11": SAVE["1"],
                                    "12": {"class_type": "SaveImage", "inputs": {"images": ["11", 0],
                                                                                 "filename_prefix": "sweep"}}}))
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("11.color,12.filename_prefix\n0,black\n16777215,white\n")
    common = ["run", str(workflow), "--base-dir", str(tmp_path), "--no-progress", "--ray", "--ray-workers", "2",
              "--ray-resource", RESOURCE]
    assert main([*common, "--sweep", "1.value=1,2", "--sweep", "9.label=x,y"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line[:3].strip().isdigit()]
    assert len(rows) == 4 and all(" success " in row for row in rows)
    assert {row.split()[2] for row in rows} == {"worker-0", "worker-1"}
    assert "1.value=2 9.label=y" in rows[3]
    assert main([*common, "--sweep-csv", str(csv_file)]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line[:3].strip().isdigit()]
    assert len(rows) == 2 and "black_00001_.png" in rows[0] and "white_00001_.png" in rows[1]
    assert (tmp_path / "output" / "white_00002_.png").is_file()
    assert main([*common[:4], "--sweep", "1.value=1"]) == 1  # a sweep without --ray is refused


def test_more_workers_than_the_cluster_holds_is_refused_at_start(local_ray: None) -> None:
    from inkgraph.engine.scaleout.actor import WorkerSettings
    from inkgraph.engine.scaleout.pool import WorkerPool

    with pytest.raises(RuntimeError, match="5 Ray workers need 5 inkgraph_test_worker but the cluster has 2"):
        WorkerPool(RayOptions(workers=5, resource=RESOURCE), WorkerSettings())
