"""``comfy.utils`` for ComfyUI packs: the progress bar (reported through the running node's context, so it
shows in the canvas and honours interrupts), image resizing, tensor files (loading pickles safely), and the
tensor helpers of :mod:`.tensors`. ComfyUI's other names in this module (its model-format converters) are
stand-ins until the model facades exist (:mod:`..stubs`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...core.context import Interrupted, current_context
from ..stubs import comfy_attribute
from .tensors import (
    calculate_parameters,
    copy_to_param,
    get_attr,
    get_tiled_scale_steps,
    reshape_mask,
    resize_list_to_batch_size,
    resize_to_batch_size,
    set_attr,
    set_attr_param,
    state_dict_key_replace,
    state_dict_prefix_replace,
    tiled_scale,
    tiled_scale_multidim,
    weight_dtype,
)

PROGRESS_BAR_ENABLED = True
# A pack may install a hook of its own (value, total, preview, node_id=…); it is called besides ours.
PROGRESS_BAR_HOOK: Callable[..., Any] | None = None
MMAP_TORCH_FILES = False
DISABLE_MMAP = False
ALWAYS_SAFE_LOAD = True  # Inkgraph never unpickles code: torch.load always runs with weights_only


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.utils", name)


def set_progress_bar_enabled(enabled: bool) -> None:
    global PROGRESS_BAR_ENABLED
    PROGRESS_BAR_ENABLED = enabled


def set_progress_bar_global_hook(function: Callable[..., Any] | None) -> None:
    global PROGRESS_BAR_HOOK
    PROGRESS_BAR_HOOK = function


class ProgressBar:
    """ComfyUI's ProgressBar: ``update(n)`` / ``update_absolute(value, total, preview)``; raises when the
    prompt is interrupted, as ComfyUI's hook does."""

    def __init__(self, total: int, node_id: str | None = None) -> None:
        self.total = total
        self.current = 0
        self.node_id = node_id
        self._ctx = current_context()
        self.hook = PROGRESS_BAR_HOOK

    def update_absolute(self, value: float, total: float | None = None, preview: Any = None) -> None:
        if total is not None:
            self.total = int(total)
        self.current = min(int(value), self.total) if self.total else int(value)
        if self.hook is not None:
            self.hook(self.current, self.total, preview, node_id=self.node_id)
        ctx = self._ctx or current_context()
        if ctx is None:
            return
        image, fmt = None, "JPEG"
        if isinstance(preview, tuple) and len(preview) >= 2:  # ("JPEG" | "PNG", PIL image, max size)
            fmt, image = preview[0], preview[1]
        ctx.progress(self.current, self.total, preview=image, preview_format="PNG" if fmt == "PNG" else "JPEG")

    def update(self, value: float) -> None:
        self.update_absolute(self.current + value)


def common_upscale(samples: Any, width: int, height: int, upscale_method: str, crop: str) -> Any:
    """Resize [B, C, H, W] tensors like ComfyUI (crop "center" or "disabled"; nearest-exact, bilinear,
    area, bicubic, bislerp, lanczos)."""
    from inkgraph.nodes.image_utils import common_upscale as upscale

    return upscale(samples, width, height, upscale_method, crop)


def repeat_to_batch_size(tensor: Any, batch_size: int, dim: int = 0) -> Any:
    from inkgraph.nodes.image_utils import repeat_to_batch_size as repeat

    return repeat(tensor, batch_size, dim)


def lanczos(samples: Any, width: int, height: int) -> Any:
    from inkgraph.nodes.image_utils import lanczos as resize

    return resize(samples, width, height)


def bislerp(samples: Any, width: int, height: int) -> Any:
    from inkgraph.nodes.image_utils import bislerp as resize

    return resize(samples, width, height)


def load_torch_file(path: str, safe_load: bool = True, device: Any = None, return_metadata: bool = False) -> Any:
    """A .safetensors file, or a pickled checkpoint read with ``weights_only`` (no code runs)."""
    import torch

    if str(path).lower().endswith((".safetensors", ".sft")):
        from safetensors import safe_open
        from safetensors.torch import load_file

        state = load_file(str(path), device=str(device or "cpu"))
        if return_metadata:
            with safe_open(str(path), "pt") as handle:
                return state, handle.metadata()
        return state
    data = torch.load(str(path), map_location=device or "cpu", weights_only=True)
    if isinstance(data, dict) and "state_dict" in data:
        data = data["state_dict"]
    return (data, None) if return_metadata else data


def save_torch_file(sd: dict[str, Any], ckpt: str, metadata: dict[str, str] | None = None) -> None:
    """Write a state dict as a .safetensors file (with string ``metadata``)."""
    from safetensors.torch import save_file

    save_file(sd, str(ckpt), metadata=metadata)


__all__ = ["ALWAYS_SAFE_LOAD", "DISABLE_MMAP", "MMAP_TORCH_FILES", "PROGRESS_BAR_ENABLED", "PROGRESS_BAR_HOOK",
           "Interrupted", "ProgressBar", "bislerp", "calculate_parameters", "common_upscale", "copy_to_param",
           "get_attr", "get_tiled_scale_steps", "lanczos", "load_torch_file", "repeat_to_batch_size",
           "reshape_mask", "resize_list_to_batch_size", "resize_to_batch_size", "save_torch_file", "set_attr",
           "set_attr_param", "set_progress_bar_enabled", "set_progress_bar_global_hook", "state_dict_key_replace",
           "state_dict_prefix_replace", "tiled_scale", "tiled_scale_multidim", "weight_dtype"]
