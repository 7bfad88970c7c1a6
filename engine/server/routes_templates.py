"""The official frontend's template browser (``/templates/…``): Inkgraph's example workflows first, then
ComfyUI's own templates when the ``comfyui-workflow-templates`` package is installed.

The frontend reads ``/templates/index.json`` (a list of categories, each with its templates), then opens
``/templates/<name>.json`` and shows ``/templates/<name>-1.<mediaSubtype>`` as the thumbnail. ComfyUI
serves those files from the templates package (each asset resolved through its manifest); Inkgraph adds a
category of its own whose workflows are the shipped examples in UI form, with a thumbnail drawn from the
workflow's layout (they have no pictures of their own).
"""

from __future__ import annotations

import io
import json
import logging
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..core.formats import api_to_ui, is_ui_workflow
from ..core.resources import workflows_folder
from ..core.workflow import unwrap_prompt

if TYPE_CHECKING:
    from .app import PromptServer

log = logging.getLogger(__name__)

PREFIX = "inkgraph-"  # Inkgraph's template names: never the same as one of ComfyUI's
WORDS = {"txt2img": "Text to image", "img2img": "Image to image", "sd15": "SD1.5", "sdxl": "SDXL",
         "hires": "Hires", "fix": "fix", "with": "with", "model": "model", "upscale": "Upscale"}
DEMO_MODELS = {"inkgraph-demo.safetensors", "inkgraph-demo-4x.safetensors"}
LINK_COLOURS = {"MODEL": "#B39DDB", "CLIP": "#FFD500", "VAE": "#FF6E6E", "CONDITIONING": "#FFA931",
                "LATENT": "#FF9CF9", "IMAGE": "#64B5F6", "MASK": "#81C784"}


def comfyui_templates() -> dict[str, Path]:
    """ComfyUI's template files by the name the frontend asks for, as ComfyUI serves them: through the
    manifest of ``comfyui-workflow-templates`` (0.3 and later), else its ``templates`` folder; empty when
    the package is not installed."""
    try:
        import comfyui_workflow_templates as package  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return {}
    return _asset_map(package)


@cache
def _asset_map(package: Any) -> dict[str, Path]:
    """Resolved once per process: the manifest lists hundreds of assets."""
    assets: dict[str, Path] = {}
    iter_templates = getattr(package, "iter_templates", None)
    get_asset_path = getattr(package, "get_asset_path", None)
    if iter_templates is not None and get_asset_path is not None:
        for entry in iter_templates():
            for asset in entry.assets:
                try:
                    assets[asset.filename] = Path(get_asset_path(entry.template_id, asset.filename))
                except (FileNotFoundError, KeyError):  # a media bundle that is not installed
                    continue
        return assets
    folder = files(package) / "templates"
    if isinstance(folder, Path) and folder.is_dir():
        assets = {p.name: p for p in folder.iterdir() if p.is_file()}
    return assets


def _title(stem: str) -> str:
    words = [WORDS.get(part, part) for part in stem.split("-")]
    title = " ".join(words)
    return title[:1].upper() + title[1:]


def _models(prompt: dict[str, Any]) -> list[str]:
    names = []
    for node in prompt.values():
        for key in ("ckpt_name", "model_name", "vae_name", "lora_name", "unet_name", "clip_name"):
            value = (node.get("inputs") or {}).get(key)
            if isinstance(value, str):
                names.append(value)
    return names


class InkgraphTemplates:
    """The shipped example workflows as templates: metadata, UI form, thumbnail."""

    def __init__(self, server: PromptServer) -> None:
        self.spec_of = server.runtime.registry.get

    @staticmethod
    def examples() -> dict[str, Path]:
        folder = workflows_folder()
        if folder is None:
            return {}
        return {PREFIX + p.stem: p for p in sorted(folder.glob("*.json")) if not p.name.endswith(".ui.json")}

    def workflow(self, name: str) -> dict[str, Any] | None:
        """The UI form: ``NAME.ui.json`` where the example has one, else the API prompt laid out."""
        path = self.examples().get(name)
        if path is None:
            return None
        ui = path.with_name(path.stem + ".ui.json")
        data = unwrap_prompt(json.loads((ui if ui.is_file() else path).read_text(encoding="utf-8")))
        return data if is_ui_workflow(data) else api_to_ui(data, self.spec_of)

    def category(self) -> dict[str, Any]:
        templates = []
        for name, path in self.examples().items():
            prompt = unwrap_prompt(json.loads(path.read_text(encoding="utf-8")))
            models = _models(prompt)
            needs = [m for m in models if m not in DEMO_MODELS]
            description = (f"Needs {', '.join(needs)} in your models folder." if needs else
                           "Runs as it is: the embedded demo model, or built-in nodes only.")
            templates.append({
                "name": name, "title": _title(path.stem), "description": description, "mediaType": "image",
                "mediaSubtype": "png", "tags": ["Inkgraph"], "models": models, "openSource": True,
                "username": "Inkgraph"})
        return {"moduleName": "default", "category": "Inkgraph", "title": "Inkgraph examples",
                "icon": "icon-[lucide--image]", "type": "image", "templates": templates}

    def thumbnail(self, name: str) -> bytes | None:
        path = self.examples().get(name)
        if path is None:
            return None
        return _thumbnail(name, path.stat().st_mtime_ns, json.dumps(self.workflow(name)))


@cache
def _thumbnail(name: str, mtime: int, workflow_json: str) -> bytes:
    """The workflow's layout in miniature: node boxes with their titles, links coloured by type."""
    from PIL import Image, ImageDraw

    workflow = json.loads(workflow_json)
    width, height, margin = 400, 300, 16
    image = Image.new("RGB", (width, height), "#202020")
    draw = ImageDraw.Draw(image)
    nodes = {n["id"]: n for n in workflow.get("nodes", [])}
    if not nodes:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
        return buffer.getvalue()
    left = min(n["pos"][0] for n in nodes.values())
    top = min(n["pos"][1] - 30 for n in nodes.values())
    right = max(n["pos"][0] + n["size"][0] for n in nodes.values())
    bottom = max(n["pos"][1] + n["size"][1] for n in nodes.values())
    scale = min((width - 2 * margin) / (right - left), (height - 2 * margin) / (bottom - top))

    def at(x: float, y: float) -> tuple[float, float]:
        return margin + (x - left) * scale, margin + (y - top) * scale

    for link in workflow.get("links", []):
        origin, target = nodes.get(link[1]), nodes.get(link[3])
        if origin is None or target is None:
            continue
        start = at(origin["pos"][0] + origin["size"][0], origin["pos"][1] + 10 + 20 * link[2])
        end = at(target["pos"][0], target["pos"][1] + 10 + 20 * link[4])
        draw.line([start, end], fill=LINK_COLOURS.get(str(link[5]), "#9A9"), width=2)
    for node in nodes.values():
        x0, y0 = at(node["pos"][0], node["pos"][1] - 30)
        x1, y1 = at(node["pos"][0] + node["size"][0], node["pos"][1] + node["size"][1])
        draw.rounded_rectangle([x0, y0, x1, y1], radius=4, fill="#353535", outline="#555")
        draw.rectangle([x0 + 1, y0 + 1, x1 - 1, y0 + 30 * scale], fill="#2a2a2a")
        label = str(node.get("title") or node["type"])
        draw.text((x0 + 4, y0 + 2), label[: max(1, int((x1 - x0 - 8) / 6))], fill="#ccc")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def add_routes(routes: web.RouteTableDef, server: PromptServer) -> None:
    ours = InkgraphTemplates(server)

    def index(filename: str) -> web.StreamResponse:
        """``index.json`` or a translation (``index.fr.json``): ours first, then ComfyUI's categories."""
        theirs = comfyui_templates()
        path = theirs.get(filename) or theirs.get("index.json")
        categories: Any = []
        if path is not None:
            try:
                categories = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                log.warning("ComfyUI's templates index %s could not be read: %s", path, exc)
        if not isinstance(categories, list):  # not an index of categories (a schema …): as it is
            return web.json_response(categories)
        mine = ours.category()
        return web.json_response([mine, *categories] if mine["templates"] else categories)

    @routes.get("/templates/{path:.*}")
    async def get_template_file(request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        if path == "index.json" or (path.startswith("index.") and path.endswith(".json") and "/" not in path):
            return index(path)
        if path.startswith(PREFIX):
            stem, _, suffix = path.rpartition(".")
            if suffix == "json":
                workflow = ours.workflow(stem)
                if workflow is not None:
                    return web.json_response(workflow)
            elif suffix == "png" and stem.endswith("-1"):
                picture = ours.thumbnail(stem[:-2])
                if picture is not None:
                    return web.Response(body=picture, content_type="image/png")
        file = comfyui_templates().get(path)
        if file is not None and file.is_file():
            return web.FileResponse(file)
        if path == "index_logo.json":  # the providers' logos: none without ComfyUI's package
            return web.json_response({})
        raise web.HTTPNotFound()
