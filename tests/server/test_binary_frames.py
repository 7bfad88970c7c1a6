"""Which binary frames a websocket client receives.

Most ComfyUI client libraries (comfy-api-simplified, …) take every binary frame for an image. Stock
ComfyUI sends them only previews for the built-in nodes, so a plain client here gets exactly that: no
progress-text frames (type 3) for the checkpoint loader's "loading …" or CLIPTextEncode's warnings. A client
that did the feature-flags handshake, as ComfyUI's frontend and our canvas do, gets them.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from aiohttp.test_utils import TestClient

from .conftest import receive_until

# Loads the shipped demo checkpoint and encodes a prompt naming an embedding that is not there: both make
# a node send text (type 3) in Inkgraph, neither makes stock ComfyUI send a binary frame.
PROMPT: dict[str, Any] = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "inkgraph-demo.safetensors"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "embedding:nowhere a red circle", "clip": ["1", 1]}},
    "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
    "4": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 1, "cfg": 1.0, "sampler_name": "euler",
                                               "scheduler": "normal", "denoise": 1.0, "model": ["1", 0],
                                               "positive": ["2", 0], "negative": ["2", 0],
                                               "latent_image": ["3", 0]}},
    "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["1", 2]}},
    "6": {"class_type": "SaveImage", "inputs": {"images": ["5", 0], "filename_prefix": "frames"}},
}

COMFYUI_TYPES = {"status", "execution_start", "execution_cached", "executing", "progress", "progress_state",
                 "executed", "execution_success"}


def done_for(prompt_id: str) -> Any:
    return lambda m: m["type"] == "executing" and m["data"]["node"] is None and m["data"]["prompt_id"] == prompt_id


async def run(client: TestClient, client_id: str, handshake: bool) -> tuple[list[dict[str, Any]], list[bytes]]:
    ws = await client.ws_connect(f"/ws?clientId={client_id}")
    await ws.receive_json()  # status
    if handshake:  # what ComfyUI's frontend sends first
        await ws.send_str(json.dumps({"type": "feature_flags", "data": {
            "supports_preview_metadata": True, "supports_manager_v4_ui": True,
            "supports_progress_text_metadata": True}}))
        assert (await ws.receive_json())["type"] == "feature_flags"
    response = await client.post("/prompt", json={"prompt": PROMPT, "client_id": client_id})
    assert response.status == 200, await response.text()
    body = await response.json()
    texts, frames = await receive_until(ws, done_for(body["prompt_id"]), timeout=120)
    await ws.close()
    return texts, frames


async def test_a_plain_client_gets_exactly_comfyuis_frames(client: TestClient) -> None:
    texts, frames = await run(client, "plain", handshake=False)
    assert frames == []  # no previews asked for, and no text frames: nothing binary at all
    assert {m["type"] for m in texts} <= COMFYUI_TYPES
    assert [m["type"] for m in texts][-1] == "executing"
    assert any(m["type"] == "executed" and m["data"]["node"] == "6" for m in texts)


async def test_a_client_that_negotiated_feature_flags_gets_progress_text(client: TestClient) -> None:
    _, frames = await run(client, "frontend", handshake=True)
    texts = []
    for frame in frames:
        kind, length = struct.unpack(">II", frame[:8])
        assert kind == 3
        texts.append((frame[8:8 + length].decode(), frame[8 + length:].decode()))
    assert ("1", "loading inkgraph-demo.safetensors") in texts
    assert ("2", "embedding:nowhere does not exist, ignoring") in texts
