"""``ComfyAPI().execution.set_progress(…)``: V3 nodes report progress (and a preview) through the running
node's context, like ``comfy.utils.ProgressBar``; ``ComfyAPISync`` is the same without ``await``."""

from __future__ import annotations

import inspect
from typing import Any

from ....core.context import current_context
from ..internal import ComfyAPIBase


def _to_pil(preview: Any) -> Any:
    """A PIL image from an IMAGE tensor (the first of a batch), or the PIL image itself."""
    if preview is None or hasattr(preview, "save"):
        return preview
    import numpy as np
    from PIL import Image

    tensor = preview[0] if len(preview.shape) == 4 else preview
    return Image.fromarray((tensor.cpu().numpy().clip(0, 1) * 255).astype(np.uint8))


class _Execution:
    async def set_progress(self, value: float, max_value: float, node_id: str | None = None,
                           preview_image: Any = None, ignore_size_limit: bool = False) -> None:
        """Move the running node's progress bar (``value`` of ``max_value``), optionally with a preview."""
        ctx = current_context()
        if ctx is None:
            if node_id is None:
                raise ValueError("node_id must be provided if not in executing context")
            return  # reported by a node outside any prompt Inkgraph runs: nowhere to show it
        image = _to_pil(preview_image)
        png = getattr(image, "format", None) == "PNG"
        ctx.progress(value, max_value, preview=image, preview_format="PNG" if png else "JPEG")


class ComfyAPI_latest(ComfyAPIBase):  # noqa: N801 - ComfyUI's name
    VERSION = "latest"
    STABLE = False
    Execution = _Execution

    def __init__(self) -> None:
        self.execution = self.Execution()


def _drive(coroutine: Any) -> Any:
    """Run a coroutine that never waits (these API methods) to its end on the calling thread, inside an
    async node too; one that does wait runs on a private loop."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise RuntimeError("ComfyAPISync: this call waits on I/O; use ComfyAPI with await instead")


def make_sync_class(api: type[ComfyAPIBase]) -> type:
    """The synchronous twin of a ComfyAPI class (``ComfyAPISync().execution.set_progress(…)``)."""

    class _SyncExecution:
        def __init__(self) -> None:
            self._async = api().execution

        def __getattr__(self, name: str) -> Any:
            method = getattr(self._async, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                result = method(*args, **kwargs)
                return _drive(result) if inspect.iscoroutine(result) else result

            return call

    class ComfyAPISync:
        VERSION = getattr(api, "VERSION", "latest")

        def __init__(self) -> None:
            self.execution = _SyncExecution()

    ComfyAPISync.__name__ = f"{api.__name__}Sync"
    return ComfyAPISync
