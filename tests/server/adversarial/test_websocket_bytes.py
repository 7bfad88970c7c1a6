"""Defect 7 of issue 15: a websocket client's buffer is bounded by bytes; previews go first, then the client,
with a close reason, so a client that never reads cannot grow the server."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from inkgraph.engine.server import hub
from inkgraph.engine.server.hub import Client, Hub, Preview

from ..conftest import make_server, wait_until


class FakeSocket:
    """Records how the hub closed it."""

    def __init__(self) -> None:
        self.closed = False
        self.close_args: dict[str, Any] = {}

    async def close(self, **kwargs: Any) -> bool:
        self.closed = True
        self.close_args = kwargs
        return True


def test_buffer_is_bounded_by_bytes_previews_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "BUFFER_BYTES", 1000)
    c = Client(sid="s", ws=None)  # type: ignore[arg-type]
    preview = Preview(b"p" * 300, "JPEG", {})
    assert c.offer("a" * 300, False) and c.offer(preview, True) and c.offer("b" * 300, False)
    assert c.offer("c" * 300, False)  # over by bytes: the preview makes room
    assert [m for m, _ in c.buffer] == ["a" * 300, "b" * 300, "c" * 300]
    assert c.offer(preview, True) and len(c.buffer) == 3  # no room: a new preview is simply dropped
    assert not c.offer("d" * 300, False)  # nothing left to drop: the client must go
    lone = Client(sid="t", ws=None)  # type: ignore[arg-type]
    assert lone.offer("x" * 5000, False)  # one message larger than the bound still reaches a reading client


def test_only_as_many_previews_as_needed_make_room(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "BUFFER_BYTES", 1000)
    c = Client(sid="s", ws=None)  # type: ignore[arg-type]
    first, second = Preview(b"1" * 200, "JPEG", {}), Preview(b"2" * 200, "JPEG", {})
    assert c.offer(first, True) and c.offer(second, True) and c.offer("a" * 250, False)  # 456 + 456 + 250
    assert c.offer("b" * 100, False)  # one preview (the oldest) makes room, the other stays
    assert [m for m, _ in c.buffer] == [second, "a" * 250, "b" * 100]
    assert c.buffered_bytes == 456 + 250 + 100


async def test_dropped_client_is_closed_with_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "BUFFER_BYTES", 100)
    h = Hub(lambda: {}, lambda c: None)
    ws = FakeSocket()
    c = Client(sid="s", ws=ws)  # type: ignore[arg-type]
    h.clients = {"s": c}
    h.send_text("x" * 80, "s")
    h.send_text("y" * 80, "s")
    assert "s" not in h.clients and c.closed
    await wait_until(lambda: ws.closed, 2)
    assert ws.close_args["code"] == 1008 and b"behind" in ws.close_args["message"]


async def test_a_client_that_never_reads_is_dropped(aiohttp_client: Any, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "BUFFER_BYTES", 2 << 20)
    server = make_server(tmp_path)
    client = await aiohttp_client(server.make_app())
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (client.host, client.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws?clientId=slow HTTP/1.1\r\nHost: {client.host}:{client.port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    await writer.drain()
    assert b"101" in await reader.readline()
    await wait_until(lambda: "slow" in server.hub.clients)
    message = "e" * (256 << 10)  # a large execution_error, say
    for _ in range(64):  # 16 MiB for a client that reads nothing
        server.hub.send_text(message, "slow")
        await asyncio.sleep(0.005)
    await wait_until(lambda: "slow" not in server.hub.clients, 5)
    received = 0
    try:
        while chunk := await asyncio.wait_for(reader.read(1 << 16), 10):  # the server ends the connection
            received += len(chunk)
    except ConnectionResetError:
        pass
    assert received < 8 << 20
    writer.close()
    assert (await client.get("/queue")).status == 200


def test_log_console_keeps_lines_bounded() -> None:
    """The frontend's log console keeps 300 lines; a node's error message in one could be megabytes."""
    import logging

    from inkgraph.engine.server.routes_frontend import LogBuffer

    buffer = LogBuffer()
    buffer.emit(logging.LogRecord("x", logging.ERROR, __file__, 1, "boom: %s", ("e" * (4 << 20),), None))
    assert len(buffer.entries[0]["m"]) < 17 * 1024 and "more characters not kept" in buffer.entries[0]["m"]
