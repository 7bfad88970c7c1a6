"""Workflow files in every form users have them: API prompts, POST /prompt bodies, UI workflows (0.4 / 1),
and PNG or WebP images whose metadata embeds a prompt or a workflow (as SaveImage writes them).

:func:`read_any` turns a file's content into a :class:`Loaded` (the API prompt to run and, when known, the UI
workflow to embed in outputs); :func:`ui_to_api` and :func:`api_to_ui` convert between the two formats.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..spec import NodeSpec
from ..workflow import unwrap_prompt
from .to_api import ui_to_api
from .to_ui import api_to_ui
from .ui_models import is_ui_workflow

__all__ = ["FormatError", "Loaded", "api_to_ui", "image_metadata", "is_ui_workflow", "read_any", "to_prompt",
           "ui_to_api"]

SpecOf = Callable[[str], NodeSpec | None]
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"RIFF")


class FormatError(ValueError):
    """The content is not a workflow in any known form; the message says what it is instead."""


@dataclass
class Loaded:
    prompt: dict[str, Any]
    workflow: dict[str, Any] | None = None  # the UI form, when the input had one
    source: str = "api"  # "api", "ui", "image-prompt", "image-workflow"
    warnings: list[str] = field(default_factory=list)


def image_metadata(data: bytes) -> dict[str, Any]:
    """``{"prompt": ..., "workflow": ...}`` from a PNG's text chunks or a WebP's EXIF (ComfyUI writes
    "Prompt:{json}" and "Workflow:{json}" there)."""
    from PIL import Image

    found: dict[str, Any] = {}
    with Image.open(io.BytesIO(data)) as image:
        texts = dict(getattr(image, "text", {}) or {})
        for key in ("prompt", "workflow"):
            if key in texts:
                found[key] = texts[key]
        if not found:
            for value in image.getexif().values():
                if isinstance(value, bytes):
                    value = value.decode("utf-8", "replace")
                if isinstance(value, str) and ":" in value:
                    key, _, text = value.partition(":")
                    if key.lower() in ("prompt", "workflow"):
                        found[key.lower()] = text
    parsed: dict[str, Any] = {}
    for key, text in found.items():
        try:
            parsed[key] = json.loads(text)
        except json.JSONDecodeError:
            continue
    return parsed


def to_prompt(data: Any, spec_of: SpecOf) -> Loaded:
    """The API prompt for parsed JSON that is an API prompt, a POST /prompt body or a UI workflow."""
    data = unwrap_prompt(data)
    if is_ui_workflow(data):
        prompt, warnings = ui_to_api(data, spec_of)
        return Loaded(prompt, data, "ui", warnings)
    if not isinstance(data, dict):
        raise FormatError(f"expected a JSON object of nodes, got {type(data).__name__}")
    return Loaded(data)


def read_any(content: bytes, spec_of: SpecOf) -> Loaded:
    """A workflow from a file's bytes: JSON (either format) or an image with embedded metadata.

    An image's embedded ``prompt`` is preferred (it is exactly what ran); its ``workflow`` is kept for
    re-embedding, or converted when no prompt is there.
    """
    if content.startswith(_IMAGE_MAGIC):
        meta = image_metadata(content)
        if isinstance(meta.get("prompt"), dict):
            return Loaded(unwrap_prompt(meta["prompt"]), meta.get("workflow"), "image-prompt")
        if is_ui_workflow(meta.get("workflow")):
            prompt, warnings = ui_to_api(meta["workflow"], spec_of)
            return Loaded(prompt, meta["workflow"], "image-workflow", warnings)
        raise FormatError("the image carries no workflow (no 'prompt' or 'workflow' metadata)")
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FormatError(f"not JSON and not an image with an embedded workflow ({exc})") from exc
    return to_prompt(data, spec_of)
