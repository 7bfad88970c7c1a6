"""Media kinds from names (listings, /view content types) and from first bytes (upload checks)."""

from __future__ import annotations

import pytest

from inkgraph.engine.core.media import kind_of_name, media_type, sniff, upload_mismatch

MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01webm"
HTML = b"<!doctype html><script>alert(1)</script>"


@pytest.mark.parametrize(("name", "kind", "mime"), [
    ("clip.mp4", "video", "video/mp4"), ("clip.WEBM", "video", "video/webm"), ("clip.mkv", "video", None),
    ("clip.mov", "video", "video/quicktime"), ("song.flac", "audio", None), ("song.mp3", "audio", "audio/mpeg"),
    ("voice.opus", "audio", None), ("still.webp", "image", "image/webp"), ("still.png", "image", "image/png"),
    ("notes.txt", None, "text/plain"), ("noext", None, None),
])
def test_kinds_and_types_by_name(name: str, kind: str | None, mime: str | None) -> None:
    assert kind_of_name(name) == kind
    if mime is not None:
        assert media_type(name) == mime
    elif kind is not None:
        assert (media_type(name) or "").startswith(f"{kind}/")


@pytest.mark.parametrize(("data", "kinds"), [
    (MP4, {"video", "audio"}), (WEBM, {"video", "audio"}), (b"OggS\x00\x02" + b"\x00" * 20, {"video", "audio"}),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", {"audio"}), (b"RIFF\x24\x00\x00\x00AVI LIST", {"video", "audio"}),
    (b"RIFF\x24\x00\x00\x00WEBPVP8L", {"image"}), (b"fLaC\x00\x00\x00\x22", {"audio"}), (b"ID3\x04\x00", {"audio"}),
    (b"\xff\xfb\x90\x64", {"audio"}), (b"\x89PNG\r\n\x1a\n", {"image"}), (b"\x00\x00\x00\x1cftypavif", {"image"}),
    (HTML, set()), (b"", set()), (b"#!/bin/sh\nrm -rf /", set()),
])
def test_sniffing_first_bytes(data: bytes, kinds: set[str]) -> None:
    assert sniff(data) == kinds


def test_upload_mismatch_only_judges_media_names() -> None:
    assert upload_mismatch("clip.mp4", MP4) is None
    assert upload_mismatch("clip.webm", WEBM) is None
    assert upload_mismatch("song.m4a", MP4) is None  # an MP4 container holding sound
    assert upload_mismatch("clip.mp4", HTML) == ("'clip.mp4' is named as video (video/mp4) but its content is not "
                                                 "a known video format.")
    assert "not a known audio format" in (upload_mismatch("song.mp3", HTML) or "")
    assert upload_mismatch("clip.mp4", b"\x89PNG\r\n\x1a\n....") is not None  # an image is not a video either
    assert upload_mismatch("a.png", HTML) is None  # images are decoded (and refused) by the nodes that read them
