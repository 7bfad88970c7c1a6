"""What kind of media a file is: by its name (listings, ``/view`` content types) and by its first bytes
(uploads). Pure Python: no PyAV, no torch, so the server and the node listings can ask cheaply.

The name decides what ComfyUI lists (``LoadVideo`` shows files whose type is ``video/*``, ``LoadAudio``
those of ``audio/*`` or ``video/*``). The bytes decide whether an upload named ``clip.mp4`` really is a
media container: a page or a script renamed to ``.mp4`` is refused before it reaches ``input/``.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePath
from typing import Literal

MediaKind = Literal["image", "video", "audio"]

# Types that the platform's mimetypes table lacks on some systems (no /etc/mime.types, old Windows).
_FALLBACK_TYPES = {
    ".webp": "image/webp", ".apng": "image/apng", ".avif": "image/avif",
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".webm": "video/webm",
    ".mkv": "video/x-matroska", ".avi": "video/x-msvideo", ".flv": "video/x-flv", ".ts": "video/mp2t",
    ".mpg": "video/mpeg", ".mpeg": "video/mpeg", ".wmv": "video/x-ms-wmv", ".ogv": "video/ogg",
    ".3gp": "video/3gpp", ".flac": "audio/flac", ".mp3": "audio/mpeg", ".opus": "audio/ogg",
    ".ogg": "audio/ogg", ".oga": "audio/ogg", ".wav": "audio/wav", ".m4a": "audio/mp4", ".aac": "audio/aac",
}


def media_type(name: str) -> str | None:
    """The MIME type of a file name (``clip.webm`` → ``video/webm``), or None when unknown."""
    suffix = PurePath(name).suffix.lower()
    guessed, _ = mimetypes.guess_type(name, strict=False)
    if suffix in (".ts",):  # mimetypes says Qt translation files; ComfyUI's users mean MPEG-TS here
        return _FALLBACK_TYPES[suffix]
    return guessed or _FALLBACK_TYPES.get(suffix)


def kind_of_name(name: str) -> MediaKind | None:
    """``image``, ``video`` or ``audio`` from a file name, as ComfyUI's ``filter_files_content_types``."""
    kind = (media_type(name) or "").partition("/")[0]
    return kind if kind in ("image", "video", "audio") else None  # type: ignore[return-value]


_IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"hevc", b"mif1", b"msf1"}


def sniff(data: bytes) -> frozenset[MediaKind]:
    """The kinds of media the first bytes of a file could be (empty: no media format we know).

    Containers that carry either (MP4/QuickTime, Matroska/WebM, Ogg) answer both ``video`` and ``audio``.
    """
    head = data[:64]
    both: frozenset[MediaKind] = frozenset({"video", "audio"})
    if len(head) >= 12 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"):
        if head[4:8] == b"ftyp" and head[8:12] in _IMAGE_BRANDS:
            return frozenset({"image"})
        return both
    if head.startswith(b"\x1a\x45\xdf\xa3") or head.startswith(b"OggS"):  # Matroska/WebM, Ogg
        return both
    if head.startswith(b"RIFF") and len(head) >= 12:
        form = head[8:12]
        if form == b"AVI ":
            return both
        if form == b"WAVE":
            return frozenset({"audio"})
        if form == b"WEBP":
            return frozenset({"image"})
        return frozenset()
    if head.startswith((b"FLV\x01", b"\x00\x00\x01\xba", b"\x30\x26\xb2\x75\x8e\x66\xcf\x11")):  # FLV, MPEG-PS, ASF
        return both
    if len(data) > 188 and data[0] == 0x47 and data[188] == 0x47:  # MPEG transport stream packets
        return both
    if head.startswith((b"fLaC", b"ID3", b"FORM", b"#!AMR", b"MAC ")):
        return frozenset({"audio"})
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # MPEG audio / ADTS AAC frame sync
        return frozenset({"audio"})
    if head.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")):
        return frozenset({"image"})
    return frozenset()


def upload_mismatch(filename: str, data: bytes) -> str | None:
    """Why an upload whose name says video or audio is refused (its bytes are not such media), or None."""
    claimed = kind_of_name(filename)
    if claimed not in ("video", "audio"):
        return None
    if claimed in sniff(data):
        return None
    return (f"{PurePath(filename).name!r} is named as {claimed} ({media_type(filename)}) but its content is not "
            f"a known {claimed} format.")
