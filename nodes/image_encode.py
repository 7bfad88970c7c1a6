"""Writing PNG (8 and 16 bits per channel) and OpenEXR (32-bit float, uncompressed scanlines) in memory,
with ComfyUI's metadata, for the Save Image (Advanced) node.

Pillow writes 8-bit PNG but neither 16-bit colour PNG nor EXR, and ComfyUI uses FFmpeg (PyAV) for them; the
two formats are simple enough to write directly, which keeps Inkgraph free of a video library for stills.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from typing import Any

import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_COLOR_TYPES = {1: 0, 2: 4, 3: 2, 4: 6}  # channels → grey, grey+alpha, RGB, RGBA
EXR_MAGIC = b"\x76\x2f\x31\x01"
# CIE xy chromaticities (R, G, B, white) of the gamuts EXR files are written in.
CHROMATICITIES = {
    "Rec.709": (0.6400, 0.3300, 0.3000, 0.6000, 0.1500, 0.0600, 0.3127, 0.3290),
    "Rec.2020": (0.7080, 0.2920, 0.1700, 0.7970, 0.1310, 0.0460, 0.3127, 0.3290),
}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def metadata_texts(prompt: Any, extra_pnginfo: Any) -> list[tuple[str, str]]:
    """(key, JSON) pairs ComfyUI embeds: ``prompt`` and each key of ``extra_pnginfo`` (the workflow)."""
    texts = [("prompt", json.dumps(prompt))] if prompt is not None else []
    if isinstance(extra_pnginfo, dict):
        texts += [(key, json.dumps(value)) for key, value in extra_pnginfo.items()]
    return texts


def encode_png(pixels: np.ndarray, texts: list[tuple[str, str]], compress_level: int = 4) -> bytes:
    """A PNG of an [H, W, C] uint8 or uint16 array (C = 1…4); ``texts`` become tEXt chunks after IHDR."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    if channels not in _PNG_COLOR_TYPES:
        raise ValueError(f"PNG takes 1 to 4 channels, got {channels}")
    depth = 16 if pixels.dtype == np.uint16 else 8
    rows = pixels.astype(">u2" if depth == 16 else np.uint8).reshape(height, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)  # filter type 0 on every row
    header = struct.pack(">IIBBBBB", width, height, depth, _PNG_COLOR_TYPES[channels], 0, 0, 0)
    text_chunks = b"".join(_chunk(b"tEXt", key.encode("latin-1") + b"\x00" + value.encode("latin-1", "replace"))
                           for key, value in texts)
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + text_chunks
            + _chunk(b"IDAT", zlib.compress(raw, compress_level)) + _chunk(b"IEND", b""))


def encode_png8(pixels: np.ndarray, texts: list[tuple[str, str]], compress_level: int = 4) -> bytes:
    """8-bit PNG through Pillow (its row filters compress better than :func:`encode_png`)."""
    from PIL import Image as PILImage
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    for key, value in texts:
        info.add_text(key, value)
    out = io.BytesIO()
    PILImage.fromarray(pixels[:, :, 0] if pixels.ndim == 3 and pixels.shape[2] == 1 else pixels).save(
        out, format="PNG", pnginfo=info, compress_level=compress_level)
    return out.getvalue()


def _attribute(name: str, kind: str, value: bytes) -> bytes:
    return name.encode() + b"\x00" + kind.encode() + b"\x00" + struct.pack("<i", len(value)) + value


def encode_exr(pixels: np.ndarray, texts: list[tuple[str, str]], primaries: str = "Rec.709") -> bytes:
    """A single-part scanline OpenEXR file of an [H, W, C] float array (C = 1 → Y, 3 → RGB, 4 → RGBA),
    32-bit float, uncompressed; ``texts`` become ``string`` header attributes (ComfyUI's keys)."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    height, width, channels = pixels.shape
    names = {1: ["Y"], 3: ["R", "G", "B"], 4: ["R", "G", "B", "A"]}.get(channels)
    if names is None:
        raise ValueError(f"EXR takes 1, 3 or 4 channels, got {channels}")
    data = pixels.astype("<f4")
    order = sorted(range(channels), key=lambda i: names[i])  # EXR stores channels alphabetically
    chlist = b"".join(names[i].encode() + b"\x00" + struct.pack("<iB3xii", 2, 0, 1, 1) for i in order) + b"\x00"
    window = struct.pack("<iiii", 0, 0, width - 1, height - 1)
    header = b"".join([
        _attribute("channels", "chlist", chlist),
        _attribute("compression", "compression", b"\x00"),
        _attribute("dataWindow", "box2i", window),
        _attribute("displayWindow", "box2i", window),
        _attribute("lineOrder", "lineOrder", b"\x00"),
        _attribute("pixelAspectRatio", "float", struct.pack("<f", 1.0)),
        _attribute("screenWindowCenter", "v2f", struct.pack("<ff", 0.0, 0.0)),
        _attribute("screenWindowWidth", "float", struct.pack("<f", 1.0)),
        _attribute("chromaticities", "chromaticities", struct.pack("<8f", *CHROMATICITIES[primaries])),
        *(_attribute(key, "string", value.encode()) for key, value in texts),
    ]) + b"\x00"
    line_bytes = width * channels * 4
    start = len(EXR_MAGIC) + 4 + len(header) + 8 * height
    offsets = struct.pack(f"<{height}Q", *(start + y * (8 + line_bytes) for y in range(height)))
    lines = b"".join(struct.pack("<ii", y, line_bytes) + b"".join(data[y, :, i].tobytes() for i in order)
                     for y in range(height))
    return EXR_MAGIC + struct.pack("<i", 2) + header + offsets + lines


def read_exr(blob: bytes) -> tuple[dict[str, tuple[str, bytes]], np.ndarray]:
    """(header attributes, [H, W, C] float32 pixels in RGBA/Y order) of a file :func:`encode_exr` wrote; for
    tests and for loading our own outputs again."""
    if blob[:4] != EXR_MAGIC:
        raise ValueError("not an OpenEXR file")
    pos, attributes = 8, {}
    while blob[pos] != 0:
        name_end = blob.index(b"\x00", pos)
        kind_end = blob.index(b"\x00", name_end + 1)
        size = struct.unpack("<i", blob[kind_end + 1:kind_end + 5])[0]
        attributes[blob[pos:name_end].decode()] = (blob[name_end + 1:kind_end].decode(),
                                                   blob[kind_end + 5:kind_end + 5 + size])
        pos = kind_end + 5 + size
    x0, y0, x1, y1 = struct.unpack("<iiii", attributes["dataWindow"][1])
    width, height = x1 - x0 + 1, y1 - y0 + 1
    chlist, names, cursor = attributes["channels"][1], [], 0
    while chlist[cursor] != 0:
        end = chlist.index(b"\x00", cursor)
        names.append(chlist[cursor:end].decode())
        cursor = end + 1 + 16
    offsets = struct.unpack(f"<{height}Q", blob[pos + 1:pos + 1 + 8 * height])
    planes = np.zeros((height, len(names), width), dtype=np.float32)
    for y, offset in enumerate(offsets):
        line = np.frombuffer(blob, dtype="<f4", count=width * len(names), offset=offset + 8)
        planes[y] = line.reshape(len(names), width)
    wanted = [n for n in ("R", "G", "B", "A", "Y") if n in names]
    return attributes, np.stack([planes[:, names.index(n)] for n in wanted], axis=-1)
