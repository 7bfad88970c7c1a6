"""Helpers the adversarial tests share: hostile payloads and raw HTTP, where aiohttp's client would be too polite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.runtime.packs import default_registry
from inkgraph.engine.server.app import PromptServer, ServerConfig
from tests.engine.stub_nodes import STUB_NODES


def deep_json(depth: int, leaf: str = "0") -> str:
    """``[[[…0…]]]`` nested ``depth`` levels: what made Python's JSON code recurse past its limit."""
    return "[" * depth + leaf + "]" * depth


def deep_object(depth: int) -> str:
    """``{"a": {"a": … {} …}}`` nested ``depth`` levels, as JSON text."""
    return '{"a": ' * depth + "{}" + "}" * depth


def image_prompt(prefix: str = "ComfyUI", width: int = 8, height: int = 8, batch: int = 1,
                 color: int = 0) -> dict[str, Any]:
    """EmptyImage → SaveImage: the smallest prompt that writes a file (another ``color`` runs it again)."""
    return {"1": {"class_type": "EmptyImage", "inputs": {"width": width, "height": height, "batch_size": batch,
                                                         "color": color}},
            "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": prefix}}}


async def raw_request(client: TestClient, head: str, body: bytes = b"", timeout: float = 5.0) -> tuple[int, bytes]:
    """Send ``head`` (request line and headers, no blank line) and ``body`` on a new connection; the status and
    whatever came back before the server closed or ``timeout`` passed."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(head.encode("latin-1") + b"\r\n\r\n" + body)
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        rest = b""
        try:
            rest = await asyncio.wait_for(reader.read(65536), 1.0)
        except (TimeoutError, ConnectionError):
            pass
        return int(line.split()[1]), rest
    finally:
        writer.close()


async def run_to_end(client: TestClient, prompt: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Queue ``prompt`` and wait for its history entry."""
    response = await client.post("/prompt", json={"prompt": prompt})
    assert response.status == 200, await response.text()
    prompt_id = (await response.json())["prompt_id"]
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        found = await (await client.get(f"/history/{prompt_id}")).json()
        if prompt_id in found:
            entry: dict[str, Any] = found[prompt_id]
            return entry
        await asyncio.sleep(0.05)
    raise AssertionError(f"prompt {prompt_id} did not finish in {timeout} s")


def make_budget_server(base: Path, max_batch_pixels: int, **config: Any) -> PromptServer:
    """:func:`make_server` with an allocation budget (and the built-in nodes plus the stub pack)."""
    registry = default_registry(entry_points=False)
    registry.load_pack("stub", "tests", lambda: STUB_NODES)
    settings = Settings(base_dir=base, max_batch_pixels=max_batch_pixels)
    return PromptServer(ServerConfig(settings=settings, **config), runtime=Runtime.create(settings, registry=registry))


def strict_json(text: str) -> Any:
    """JSON as a browser reads it: ``NaN`` and ``Infinity`` are errors."""
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)
