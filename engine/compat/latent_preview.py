"""ComfyUI's ``latent_preview`` for node packs: the sampling callback that reports progress and previews.

``prepare_callback(model, steps, x0_output_dict)`` gives ComfyUI's ``callback(step, x0, x, total_steps)``:
progress on the running node, a preview of ``x0`` by the prompt's preview method (latent2rgb, or TAESD when
its decoder is in ``models/vae_approx``) — the previews the built-in samplers send — and the last ``x0`` kept
in ``x0_output_dict["x0"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .stubs import comfy_attribute

MAX_PREVIEW_RESOLUTION = 512


def _previewer(model: Any) -> Callable[[Any], Any] | None:
    from inkgraph.nodes.diffusion.model_api import latent_format_of, preview_kind
    from inkgraph.nodes.diffusion.previews import previewer

    from .comfy._sampling import context
    from .values import to_inkgraph

    ctx = context()
    handle = to_inkgraph(model)
    method = str(ctx.extra_data.get("preview_method", "none"))
    return previewer(ctx, preview_kind(handle), method, latent_format_of(handle))  # type: ignore[no-any-return]


def get_previewer(device: Any, latent_format: Any) -> Any:
    """A previewer object for a latent format (``decode_latent_to_preview_image(fmt, x0)``), or None when the
    prompt asks for no previews."""
    from inkgraph.nodes.diffusion.previews import previewer

    from .comfy._sampling import context

    ctx = context()
    native = latent_format.inkgraph_format() if hasattr(latent_format, "inkgraph_format") else latent_format
    decode = previewer(ctx, "sd", str(ctx.extra_data.get("preview_method", "none")), native)
    return None if decode is None else LatentPreviewer(decode)


class LatentPreviewer:
    """ComfyUI's previewer interface over Inkgraph's preview function."""

    def __init__(self, decode: Callable[[Any], Any] | None = None) -> None:
        self._decode = decode

    def decode_latent_to_preview(self, x0: Any) -> Any:
        if self._decode is None:
            raise NotImplementedError("ComfyUI's latent_preview.LatentPreviewer.decode_latent_to_preview")
        return self._decode(x0)

    def decode_latent_to_preview_image(self, preview_format: str, x0: Any) -> tuple[str, Any, int]:
        return preview_format, self.decode_latent_to_preview(x0), MAX_PREVIEW_RESOLUTION


def prepare_callback(model: Any, steps: int, x0_output_dict: dict[str, Any] | None = None
                     ) -> Callable[[int, Any, Any, int], None]:
    from .comfy._sampling import context

    ctx = context()
    preview = _previewer(model)

    def callback(step: int, x0: Any, x: Any, total_steps: int) -> None:
        if x0_output_dict is not None:
            x0_output_dict["x0"] = x0
        ctx.progress(min(step + 1, total_steps), total_steps, preview=preview(x0) if preview is not None else None)

    return callback


def __getattr__(name: str) -> Any:
    return comfy_attribute("latent_preview", name)
