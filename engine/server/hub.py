"""Websocket clients: connection handshake, ComfyUI's message routing, and bounded per-client buffers.

Each client has its own buffer and sender task, so a slow client never stalls execution or the others.
A buffer is bounded by bytes as well as by messages (one execution error can be megabytes): when it is
full, previews go first (they are superseded by the next one anyway); a client whose buffer is full of
messages that cannot be dropped is disconnected with a close reason, and on reconnect receives the
current status.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from ..core import jsonsafe
from ..core.events import BinaryEventTypes

log = logging.getLogger(__name__)

BUFFER_LIMIT = 2048  # messages per client before previews are dropped / the client is cut off
BUFFER_BYTES = 32 * 1024 * 1024  # bytes per client, likewise (the message being sent is not counted)
CLOSE_TIMEOUT = 2.0  # seconds a dropped client gets to take its close frame before the connection is cut
BEHIND = b"too far behind: the server's buffer for this client is full; reconnect to resume"
REPLACED = b"replaced by a newer connection with the same clientId"
IMAGE_TYPES = {"JPEG": 1, "PNG": 2}


@dataclass(slots=True)
class Preview:
    """An encoded preview; the frame layout depends on what the receiving client declared."""

    image: bytes
    image_format: str
    metadata: dict[str, Any]

    def frame(self, with_metadata: bool) -> bytes:
        if with_metadata:
            meta = json.dumps({**self.metadata, "image_type": f"image/{self.image_format.lower()}"}).encode()
            return struct.pack(">II", BinaryEventTypes.PREVIEW_IMAGE_WITH_METADATA, len(meta)) + meta + self.image
        return struct.pack(">II", BinaryEventTypes.PREVIEW_IMAGE, IMAGE_TYPES[self.image_format]) + self.image


@dataclass(slots=True)
class TextFrame:
    """A node's progress text: binary frame type 3, ``[3][node id length][node id][utf-8 text]``.

    Sent only to clients that did the feature-flags handshake (ComfyUI's frontend, our canvas). Plain
    clients, which most ComfyUI client libraries are, take every binary frame for an image; stock ComfyUI
    sends them none for the same workflows, so they get none here either.
    """

    node_id: str
    text: str

    def frame(self) -> bytes:
        node = self.node_id.encode()
        return struct.pack(">II", BinaryEventTypes.TEXT, len(node)) + node + self.text.encode()


Message = str | bytes | Preview | TextFrame


def _size(message: Message) -> int:
    """Bytes a buffered message holds (server JSON is ASCII: one byte per character)."""
    if isinstance(message, Preview):
        return len(message.image) + 256
    if isinstance(message, TextFrame):
        return len(message.node_id) + len(message.text.encode()) + 8
    return len(message)


def _over(count: int, held: int, size: int) -> bool:
    """Would one more message of ``size`` bytes overfill a buffer holding ``count`` messages of ``held`` bytes?"""
    return count >= BUFFER_LIMIT or (count > 0 and held + size > BUFFER_BYTES)


@dataclass(eq=False)
class Client:
    sid: str
    ws: web.WebSocketResponse
    feature_flags: dict[str, Any] = field(default_factory=dict)
    negotiated: bool = False  # sent a feature_flags handshake: it decodes every binary frame type
    buffer: deque[tuple[Message, bool]] = field(default_factory=deque)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    buffered_bytes: int = 0
    sender: asyncio.Task[None] | None = None
    transport: asyncio.Transport | None = None

    @property
    def wants_metadata(self) -> bool:
        return bool(self.feature_flags.get("supports_preview_metadata"))

    def offer(self, message: Message, droppable: bool) -> bool:
        """Queue a message; False means the client is hopelessly behind and must be dropped.

        A message larger than the whole bound is still taken into an empty buffer: a client that reads
        gets it; one that does not is dropped at the next message.
        """
        size = _size(message)
        count, held = len(self.buffer), self.buffered_bytes
        if _over(count, held, size):
            if droppable:
                return True
            kept: deque[tuple[Message, bool]] = deque()
            for entry in self.buffer:  # previews make room, oldest first, only as many as needed
                if entry[1] and _over(count, held, size):
                    count, held = count - 1, held - _size(entry[0])
                else:
                    kept.append(entry)
            self.buffer, self.buffered_bytes = kept, held
            if _over(count, held, size):
                return False
        self.buffer.append((message, droppable))
        self.buffered_bytes += size
        self.wake.set()
        return True

    def take(self) -> Message:
        message, _ = self.buffer.popleft()
        self.buffered_bytes -= _size(message)
        return message


class Hub:
    """All connected clients. Every method runs on the event loop thread."""

    def __init__(self, server_flags: Callable[[], dict[str, Any]], on_connect: Callable[[Client], None]) -> None:
        self.clients: dict[str, Client] = {}
        self._server_flags = server_flags
        self._on_connect = on_connect
        self.bytes_sent = 0
        self._closing: set[asyncio.Task[None]] = set()

    # -- sending ------------------------------------------------------------------------------------
    def send_json(self, event: str, data: Any, sid: str | None = None) -> None:
        self.send_text(json.dumps({"type": event, "data": data}), sid)

    def send_text(self, text: str, sid: str | None = None, droppable: bool = False) -> None:
        self._deliver(text, sid, droppable)

    def send_preview(self, preview: Preview, sid: str | None = None) -> None:
        self._deliver(preview, sid, droppable=True)

    def send_bytes(self, data: bytes, sid: str | None = None, droppable: bool = True) -> None:
        self._deliver(data, sid, droppable)

    def send_progress_text(self, text: TextFrame, sid: str | None = None) -> None:
        self._deliver(text, sid, droppable=False)

    def _deliver(self, message: str | bytes | Preview | TextFrame, sid: str | None, droppable: bool) -> None:
        targets = list(self.clients.values()) if sid is None else [c for c in (self.clients.get(sid),) if c]
        for client in targets:
            if isinstance(message, TextFrame) and not client.negotiated:
                continue
            if not client.offer(message, droppable):
                log.warning("websocket client %s is too far behind (%d messages, %d bytes waiting); "
                            "disconnecting it", client.sid, len(client.buffer), client.buffered_bytes)
                self._drop(client, BEHIND)

    def _drop(self, client: Client, reason: bytes | None = None) -> None:
        """Forget a client; with a ``reason``, also close its connection (it may be stuck not reading)."""
        client.closed = True
        client.buffer.clear()
        client.buffered_bytes = 0
        client.wake.set()
        if self.clients.get(client.sid) is client:
            del self.clients[client.sid]
        if reason is not None:
            if client.sender is not None:
                client.sender.cancel()  # it may be waiting for the client to read
            try:
                task = asyncio.get_running_loop().create_task(self._close(client, reason))
            except RuntimeError:  # no loop (a unit test driving the hub directly): nothing to close
                return
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    async def _close(self, client: Client, reason: bytes) -> None:
        """Send a close frame with the reason; cut the connection if the client will not take it."""
        try:
            await asyncio.wait_for(client.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=reason),
                                   CLOSE_TIMEOUT)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass
        if client.transport is not None and not client.transport.is_closing():
            client.transport.abort()

    async def _sender(self, client: Client) -> None:
        ws = client.ws
        try:
            while not client.closed:
                if not client.buffer:
                    client.wake.clear()
                    await client.wake.wait()
                    continue
                message = client.take()
                if isinstance(message, Preview):
                    message = message.frame(client.wants_metadata)
                elif isinstance(message, TextFrame):
                    message = message.frame()
                if isinstance(message, bytes):
                    await ws.send_bytes(message)
                else:
                    await ws.send_str(message)
                self.bytes_sent += len(message)
        except (ConnectionResetError, RuntimeError, asyncio.CancelledError):
            pass
        finally:
            if not ws.closed and not client.closed:
                await ws.close()

    # -- connections --------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=1 << 20)
        await ws.prepare(request)
        sid = request.query.get("clientId") or uuid.uuid4().hex
        if len(sid) > 200:
            sid = uuid.uuid4().hex
        previous = self.clients.get(sid)
        if previous is not None:  # a reconnect with the same id replaces the old socket
            self._drop(previous, REPLACED)
        client = Client(sid=sid, ws=ws, transport=request.transport)
        self.clients[sid] = client
        sender = client.sender = asyncio.create_task(self._sender(client))
        try:
            self._on_connect(client)
            first = True
            async for msg in ws:
                if msg.type == WSMsgType.TEXT and first:
                    first = False
                    self._handshake(client, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._drop(client)
            await asyncio.gather(sender, return_exceptions=True)  # it may have been cancelled by _drop
        return ws

    def _handshake(self, client: Client, text: str) -> None:
        """Only a first ``feature_flags`` message means anything (ComfyUI ignores the rest)."""
        try:
            message = jsonsafe.loads(text)
        except ValueError:  # not JSON, or JSON no one should send (nested a thousand deep): ignored
            return
        if isinstance(message, dict) and message.get("type") == "feature_flags":
            data = message.get("data")
            client.feature_flags = data if isinstance(data, dict) else {}
            client.negotiated = True
            self.send_json("feature_flags", self._server_flags(), client.sid)
