"""LoadImageOutput (ComfyUI's ``nodes.py``): LoadImage for the images a workflow saved — the canvas lists
output/ through ``/internal/files/output`` and sends names annotated ``"name.png [output]"``; the node reads
them as LoadImage does (an unannotated name is looked up in input/, as ComfyUI's annotated paths are).
ComfyUI declares the input as a bare "COMBO" whose options only the route gives; Inkgraph's combos carry a
list, so /object_info shows output/'s images there (the canvas still refreshes from the route)."""

from __future__ import annotations

import os
from typing import Annotated

from inkgraph.engine import Combo, Context, Image, Mask, node
from inkgraph.engine.core.paths import Folders

from .image_io import LoadImage, _load_frames, is_image_name
from .media_io import input_path


def list_output_images(folders: Folders) -> list[str]:
    """Images directly in output/, newest first, annotated ``" [output]"`` (the canvas asks the route for the
    current list; this is the list /object_info shows)."""
    try:
        entries = [e for e in os.scandir(folders.output) if e.is_file() and is_image_name(e.name)]
    except FileNotFoundError:
        return []
    entries.sort(key=lambda e: e.stat().st_mtime, reverse=True)
    return [f"{e.name} [output]" for e in entries]


OUTPUT_LISTING = {"image_upload": True, "image_folder": "output", "remote": {
    "route": "/internal/files/output", "refresh_button": True, "control_after_refresh": "first"}}


@node(display_name="Load Image (from Outputs)", category="image", experimental=True, description=(
    "Load an image from the output folder. When the refresh button is clicked, the node will update the image "
    "list and automatically select the first image, allowing for easy iteration."))
class LoadImageOutput(LoadImage):
    """See the module docstring: LoadImage's reading, fingerprint and validation over output/'s listing."""

    def execute(self, ctx: Context, image: Annotated[str, Combo(options=list_output_images, extra=OUTPUT_LISTING)]
                ) -> tuple[Image, Mask]:
        return _load_frames(input_path(ctx.folders, image))


NODES = [LoadImageOutput]
