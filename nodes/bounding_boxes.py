"""ComfyUI's Create Bounding Boxes node: boxes drawn in the canvas (or given upstream) become pixel boxes,
layout "elements" for layout-aware prompts (Ideogram-style: bbox as [ymin, xmin, ymax, xmax] on a 0…1000
grid, type, text, description, colour palette) and a preview image.

Box formats accepted upstream: pixel boxes ``{x, y, width, height[, metadata]}`` (one, a list, or a list of
frames), elements ``{bbox, type, text, desc, color_palette}``, or either as JSON text.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from inkgraph.engine import Int, NodeOutput, Output, Socket, node

PREVIEW_LONG_EDGE = 1024
PREVIEW_DIM = 0.25


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    digits = value.lstrip("#")
    try:
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)) if len(digits) == 6 \
            else (255, 255, 255)
    except ValueError:
        return (255, 255, 255)


def readable_color(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    """The colour lightened just enough to read on the dimmed preview."""
    r, g, b = rgb
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    if luma >= 130:
        return rgb
    t = (130 - luma) / (255 - luma)
    return (round(r + (255 - r) * t), round(g + (255 - g) * t), round(b + (255 - b) * t))


def normalize_palette(colors: Any) -> list[str]:
    if isinstance(colors, dict):
        colors = colors.values()
    return [c.upper() for c in colors or () if isinstance(c, str) and c]


def _pixel_box(box: dict[str, Any]) -> dict[str, Any]:
    out = {key: box.get(key, 0) for key in ("x", "y", "width", "height")}
    if isinstance(box.get("metadata"), dict):
        out["metadata"] = box["metadata"]
    return out


def _from_elements(elements: list[Any], width: int, height: int) -> list[dict[str, Any]]:
    boxes = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        bbox = element.get("bbox")
        if not (isinstance(bbox, (list, tuple)) and len(bbox) == 4):
            raise ValueError("CreateBoundingBoxes: input 'bboxes': an element is missing a valid 'bbox' "
                             "[ymin, xmin, ymax, xmax]")
        try:
            ymin, xmin, ymax, xmax = (float(v) / 1000.0 for v in bbox)
        except (TypeError, ValueError):
            raise ValueError("CreateBoundingBoxes: input 'bboxes': an element's 'bbox' must hold four numbers") \
                from None
        kind = "text" if element.get("type") == "text" else "obj"
        boxes.append({"x": round(min(xmin, xmax) * width), "y": round(min(ymin, ymax) * height),
                      "width": round(abs(xmax - xmin) * width), "height": round(abs(ymax - ymin) * height),
                      "metadata": {"type": kind, "text": element.get("text", "") if kind == "text" else "",
                                   "desc": element.get("desc", ""),
                                   "palette": element.get("color_palette", []) or []}})
    return boxes


def boxes_from_input(data: Any, width: int, height: int) -> list[dict[str, Any]]:
    """Upstream boxes in any accepted form → pixel boxes; a clear error for anything else."""
    if data is None:
        return []
    if isinstance(data, str):
        if not data.strip():
            return []
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ValueError(f"CreateBoundingBoxes: input 'bboxes' is not valid JSON: {exc}") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError("CreateBoundingBoxes: input 'bboxes' must be bounding boxes, elements or JSON text, "
                         f"got {type(data).__name__}")
    if not data:
        return []
    first = data[0]
    if isinstance(first, list):  # frames of boxes: the first frame
        return [_pixel_box(b) for b in first if isinstance(b, dict)]
    if not isinstance(first, dict):
        raise ValueError(f"CreateBoundingBoxes: input 'bboxes' must hold boxes or elements, got "
                         f"{type(first).__name__}")
    if isinstance(first.get("bbox"), (list, tuple)):
        return _from_elements(data, width, height)
    if all(key in first for key in ("x", "y", "width", "height")):
        return [_pixel_box(b) for b in data if isinstance(b, dict)]
    raise ValueError("CreateBoundingBoxes: input 'bboxes' items must be boxes (x, y, width, height) or elements "
                     "(with a 'bbox')")


def boxes_to_regions(boxes: Any, width: int, height: int) -> list[dict[str, Any]]:
    """Pixel boxes → regions in fractions of the canvas, with their metadata flattened in."""
    w, h = width or 1, height or 1
    regions = []
    for box in boxes if isinstance(boxes, list) else []:
        if not isinstance(box, dict):
            continue
        meta = box.get("metadata")
        meta = meta if isinstance(meta, dict) else {}
        regions.append({"x": box.get("x", 0) / w, "y": box.get("y", 0) / h, "w": box.get("width", 0) / w,
                        "h": box.get("height", 0) / h, "type": meta.get("type", "obj"), "text": meta.get("text", ""),
                        "desc": meta.get("desc", ""), "palette": meta.get("palette", [])})
    return regions


def regions_to_frame(regions: list[dict[str, Any]], width: int, height: int) -> list[list[dict[str, int]]]:
    """Regions → one frame of pixel boxes (negative sizes flipped), or no frame when there are none."""
    pixels = []
    for region in regions:
        x, y, w, h = region["x"], region["y"], region["w"], region["h"]
        if w < 0:
            x, w = x + w, -w
        if h < 0:
            y, h = y + h, -h
        pixels.append({"x": round(x * width), "y": round(y * height), "width": round(w * width),
                       "height": round(h * height)})
    return [pixels] if pixels else []


def build_elements(regions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Regions → layout elements: bbox [ymin, xmin, ymax, xmax] on a 0…1000 grid, at most 5 palette colours."""
    def grid(value: float) -> int:
        return max(0, min(1000, round(value * 1000)))

    elements = []
    for region in regions:
        kind = "text" if region.get("type") == "text" else "obj"
        ys = sorted((grid(region["y"]), grid(region["y"] + region["h"])))
        xs = sorted((grid(region["x"]), grid(region["x"] + region["w"])))
        element: dict[str, Any] = {"type": kind, "bbox": [ys[0], xs[0], ys[1], xs[1]]}
        if kind == "text":
            element["text"] = region.get("text", "")
        element["desc"] = region.get("desc", "")
        palette = normalize_palette(region.get("palette", []))
        if palette:
            element["color_palette"] = palette[:5]
        elements.append(element)
    return elements


def _wrap(draw: Any, text: str, font: Any, max_width: float) -> list[str]:
    lines = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if line and draw.textlength(candidate, font=font) > max_width:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return lines


def render_preview(regions: list[dict[str, Any]], width: int, height: int, background: Any = None) -> Any:
    """A dimmed background (or grey) with each box outlined in its first palette colour, numbered, with its
    palette swatches and wrapped description; at most 1024 pixels on the long edge."""
    import numpy as np
    import torch
    from PIL import Image as PILImage
    from PIL import ImageDraw, ImageEnhance, ImageFont

    from .image_utils import to_pil

    if background is not None:
        base = to_pil(background[0]).convert("RGB")
        scale = min(1.0, PREVIEW_LONG_EDGE / (max(base.size) or 1))
        size = (max(1, round(base.size[0] * scale)), max(1, round(base.size[1] * scale)))
        canvas = ImageEnhance.Brightness(base.resize(size, PILImage.Resampling.LANCZOS)).enhance(PREVIEW_DIM)
        canvas = canvas.convert("RGBA")
    else:
        scale = min(1.0, PREVIEW_LONG_EDGE / (max(width, height) or 1))
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        grey = round(PREVIEW_DIM * 128)
        canvas = PILImage.new("RGBA", size, (grey, grey, grey, 255))
    rw, rh = size
    overlay = PILImage.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    font_size = max(10, round(rh / 64))
    font, tag_font = ImageFont.load_default(font_size), ImageFont.load_default(max(9, font_size - 2))
    for index, region in enumerate(regions):
        palette = [c for c in region.get("palette") or [] if c]
        r, g, b = hex_to_rgb(palette[0]) if palette else (140, 140, 140)
        x1, x2 = sorted(max(0, min(rw, round(v * rw))) for v in (region["x"], region["x"] + region["w"]))
        y1, y2 = sorted(max(0, min(rh, round(v * rh))) for v in (region["y"], region["y"] + region["h"]))
        draw.rectangle([x1, y1, x2, y2], outline=(r, g, b, 255), width=2)
        swatches = palette[:5]
        if swatches and x2 - x1 > 2:
            segment = (x2 - x1) / len(swatches)
            for i, colour in enumerate(swatches):
                left, right = x1 + round(i * segment), x1 + round((i + 1) * segment)
                draw.rectangle([left, y1, right, y1 + max(5, font_size // 2)], fill=hex_to_rgb(colour))
        tag = str(index + 1).zfill(2)
        draw.rectangle([x1, y1, x1 + draw.textlength(tag, font=tag_font) + 6, y1 + font_size + 2], fill=(r, g, b, 255))
        light = 0.299 * r + 0.587 * g + 0.114 * b > 140
        draw.text((x1 + 3, y1 + 1), tag, fill=(0, 0, 0, 255) if light else (255, 255, 255, 255), font=tag_font)
        body = region.get("desc", "") or ""
        if region.get("type") == "text" and region.get("text"):
            body = f'"{region["text"]}"' + (f" — {body}" if body else "")
        if body and x2 - x1 > 8:
            top = y1 + font_size + 5
            for line in _wrap(draw, body, font, x2 - x1 - 8):
                if top > y2:
                    break
                draw.text((x1 + 4, top), line, fill=readable_color((r, g, b)) + (255,), font=font)
                top += font_size + 2
    composed = PILImage.alpha_composite(canvas, overlay).convert("RGB")
    return torch.from_numpy(np.asarray(composed, dtype=np.float32) / 255.0).unsqueeze(0)


@node(display_name="Create Bounding Boxes", category="utilities", output_node=True, experimental=True,
      outputs=[Output("preview", type="IMAGE"), Output("bboxes", type="BOUNDING_BOX"),
               Output("elements", type="ARRAY")],
      description="Draw bounding boxes in a canvas. Outputs Ideogram prompt elements, pixel-space bounding boxes, "
                  "and a preview image.")
def CreateBoundingBoxes(
    width: Annotated[int, Int(min=64, max=16384, step=16, tooltip=(
        "Width of the canvas and the pixel grid for the bounding boxes."))] = 1024,
    height: Annotated[int, Int(min=64, max=16384, step=16, tooltip=(
        "Height of the canvas and the pixel grid for the bounding boxes."))] = 1024,
    *,
    editor_state: Annotated[Any, Socket(type="BOUNDING_BOXES", extra={"default": [], "socketless": False}, tooltip=(
        "Draw bounding boxes and set each box type, text, description, color palette. Start with background "
        "element first and foreground last."))],
    background: Annotated[Any, Socket(type="IMAGE", optional=True, tooltip=(
        "Optional image used as background in the canvas and preview."))] = None,
    bboxes: Annotated[Any, Socket(type="BOUNDING_BOX,ARRAY,STRING", optional=True, tooltip=(
        "Bounding boxes, elements, or a JSON string to initialize the canvas. A new upstream value initializes "
        "the canvas; edits made on the canvas take priority and are kept until the upstream value changes "
        "again."))] = None,
    last_incoming: Annotated[Any, Socket(type="BOUNDING_BOXES", optional=True, extra={"default": [],
                                                                                        "socketless": True},
                                         tooltip=(
        "Internal state managed by the canvas: the upstream bboxes value that last initialized it. Leave empty to "
        "re-initialize the canvas from the bboxes input on the next run."))] = None,
) -> NodeOutput:
    incoming = boxes_from_input(bboxes, width, height)
    applied = last_incoming if isinstance(last_incoming, list) else []
    source = incoming if incoming and incoming != applied else (editor_state or [])
    regions = boxes_to_regions(source, width, height)
    preview = render_preview(regions, width, height, background)
    ui: dict[str, list[Any]] = {"dims": [width, height]}
    if incoming:
        ui["input_bboxes"] = incoming
    return NodeOutput(result=(preview, regions_to_frame(regions, width, height), build_elements(regions)), ui=ui)


NODES = [CreateBoundingBoxes]
