"""Per-client buffers: a slow client loses previews first, and is cut off rather than growing forever."""

from __future__ import annotations

from typing import Any

from inkgraph.engine.server import hub
from inkgraph.engine.server.hub import Client, Hub, Preview


def client() -> Client:
    return Client(sid="s", ws=None)  # type: ignore[arg-type]


def test_previews_are_dropped_first(monkeypatch: Any) -> None:
    monkeypatch.setattr(hub, "BUFFER_LIMIT", 4)
    c = client()
    preview = Preview(b"jpeg", "JPEG", {})
    assert c.offer("a", False) and c.offer(preview, True) and c.offer("b", False) and c.offer("c", False)
    assert c.offer(preview, True) and len(c.buffer) == 4  # full: a new preview is simply dropped
    assert c.offer("d", False)  # full: the oldest preview makes room
    assert [m for m, _ in c.buffer] == ["a", "b", "c", "d"]
    assert not c.offer("e", False)  # full of messages that matter: the client must go


def test_hub_drops_a_hopeless_client(monkeypatch: Any) -> None:
    monkeypatch.setattr(hub, "BUFFER_LIMIT", 2)
    h = Hub(lambda: {}, lambda c: None)
    slow, other = client(), Client(sid="t", ws=None)  # type: ignore[arg-type]
    h.clients = {"s": slow, "t": other}
    for n in range(2):
        h.send_text(f"m{n}", "s")
    h.send_text("m2", "s")
    assert "s" not in h.clients and slow.closed
    h.send_text("hello")  # others unaffected
    assert [m for m, _ in other.buffer] == ["hello"]


def test_preview_frames() -> None:
    preview = Preview(b"\xff\xd8data", "JPEG", {"node_id": "3"})
    assert preview.frame(False) == b"\x00\x00\x00\x01\x00\x00\x00\x01\xff\xd8data"
    framed = preview.frame(True)
    assert framed[:4] == b"\x00\x00\x00\x04" and framed.endswith(b"\xff\xd8data")
    assert b'"image_type": "image/jpeg"' in framed
