"""A server on the aiohttp test client, with the built-in nodes plus the engine's stub pack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from inkgraph.engine.core.settings import Settings
from inkgraph.engine.runtime import Runtime
from inkgraph.engine.runtime.packs import default_registry
from inkgraph.engine.server.app import PromptServer, ServerConfig
from tests.engine.stub_nodes import STUB_NODES


def make_server(base: Path, **config: Any) -> PromptServer:
    registry = default_registry(entry_points=False)
    registry.load_pack("stub", "tests", lambda: STUB_NODES)
    runtime = Runtime.create(Settings(base_dir=base), registry=registry)
    return PromptServer(ServerConfig(settings=Settings(base_dir=str(base)), **config), runtime=runtime)


@pytest.fixture
async def server(tmp_path: Path) -> PromptServer:
    return make_server(tmp_path)


@pytest.fixture
async def client(aiohttp_client: Callable[..., Any], server: PromptServer) -> AsyncIterator[TestClient]:
    yield await aiohttp_client(server.make_app())


def chain_prompt(slow_steps: int = 0, delay: float = 0.01, label: str = "x") -> dict[str, Any]:
    prompt: dict[str, Any] = {"1": {"class_type": "StubConst", "inputs": {"value": 3}}}
    source = ["1", 0]
    if slow_steps:
        prompt["2"] = {"class_type": "StubSlow", "inputs": {"value": source, "steps": slow_steps, "delay": delay}}
        source = ["2", 0]
    prompt["9"] = {"class_type": "StubOutput", "inputs": {"value": source, "label": label}}
    return prompt


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def receive_until(ws: Any, done: Callable[[dict[str, Any]], bool], timeout: float = 15.0,
                        ) -> tuple[list[dict[str, Any]], list[bytes]]:
    """Collect text messages (parsed) and binary frames until ``done(message)`` is true."""
    texts: list[dict[str, Any]] = []
    frames: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        msg = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        if msg.type == WSMsgType.TEXT:
            message = json.loads(msg.data)
            texts.append(message)
            if done(message):
                return texts, frames
        elif msg.type == WSMsgType.BINARY:
            frames.append(msg.data)
        else:
            raise AssertionError(f"websocket closed: {msg}")
