"""CLIPVisionLoader and CLIPVisionEncode (ComfyUI's names, inputs and outputs), far enough for the video
models: Wan 2.1 I2V/FLF2V/Fun read the penultimate states of CLIP-H (``clip_vision_h.safetensors``).

Written here because the issue that builds ComfyUI's wider CLIP vision support (unCLIP, style models) had
not landed on this branch; the model code is :mod:`.diffusion.clip_vision`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from inkgraph.engine import Combo, Context, Image, Output, Socket, node
from inkgraph.engine.core.devices import ModelManager
from inkgraph.engine.core.paths import ModelFiles

ClipVision = Annotated[Any, Socket(type="CLIP_VISION")]
ClipVisionOutput = Annotated[Any, Socket(type="CLIP_VISION_OUTPUT")]


@dataclass(frozen=True)
class ClipVisionHandle:
    """A CLIP_VISION value: the weights belong to the model manager."""

    manager: ModelManager = field(repr=False, compare=False)
    key: Any

    def cache_nbytes(self) -> int:
        return 64

    def use(self) -> Any:
        return self.manager.use(self.key)


@node(display_name="Load CLIP Vision", category="loaders")
def CLIPVisionLoader(ctx: Context, clip_name: Annotated[str, Combo(options=ModelFiles("clip_vision"))]) -> ClipVision:
    """Loads a CLIP vision model (models/clip_vision): CLIP-H for Wan's image-to-video, ViT-L, bigG."""
    from inkgraph.engine.core.devices import torch_dtype

    from .diffusion import clip_vision
    from .diffusion.checkpoint import _quiet_libraries
    from .diffusion.loading import _stamp

    path = ctx.folders.model_path("clip_vision", clip_name)
    manager = ctx.models
    dtype = manager.policy.dtype
    key = ("clip_vision", *_stamp(path), dtype)
    if key not in manager:
        _quiet_libraries()
        manager.add(key, clip_vision.load(path, torch_dtype(dtype)))
    return ClipVisionHandle(manager, key)


@node(display_name="CLIP Vision Encode", category="conditioning")
def CLIPVisionEncode(
    ctx: Context, clip_vision: ClipVision, image: Image, crop: Literal["center", "none"],
) -> Annotated[Any, Socket(type="CLIP_VISION_OUTPUT"), Output()]:
    """Encodes an image with a CLIP vision model (centre-cropped to its square, or squashed with "none")."""
    import torch

    from .diffusion.clip_vision import encode

    with clip_vision.use() as (model,), torch.inference_mode():
        return encode(model, image, crop == "center")


NODES = [CLIPVisionLoader, CLIPVisionEncode]
