"""Model upscaling: load any single-image super-resolution model spandrel recognises (ESRGAN,
Real-ESRGAN Compact, SwinIR, HAT, …) and upscale images tile by tile (ComfyUI's nodes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from inkgraph.engine import Combo, Context, Image, Socket, UpscaleModel, node
from inkgraph.engine.core.devices import ModelManager
from inkgraph.engine.core.paths import ModelFiles

TILE, OVERLAP, MIN_TILE = 512, 32, 128


@dataclass(frozen=True)
class UpscaleHandle:
    manager: ModelManager = field(repr=False, compare=False)
    key: tuple[Any, ...]
    scale: float

    def cache_nbytes(self) -> int:
        return 64


_models = ModelFiles("upscale_models")


@node(display_name="Load Upscale Model", category="loaders")
def UpscaleModelLoader(ctx: Context, model_name: Annotated[str, Combo(options=_models)]
                       ) -> Annotated[Any, Socket(type="UPSCALE_MODEL")]:
    """Loads an upscale model from models/upscale_models (architecture detected from its weights)."""
    from spandrel import ImageModelDescriptor, ModelLoader

    from .diffusion.state_dict import read_state_dict

    path = ctx.folders.model_path("upscale_models", model_name)
    key = ("upscale", str(path), path.stat().st_mtime_ns)
    manager = ctx.models
    if key not in manager:
        state, _ = read_state_dict(path)
        if "module.layers.0.residual_group.blocks.0.norm1.weight" in state:  # some SwinIR exports
            state = {k.removeprefix("module."): v for k, v in state.items()}
        try:
            descriptor = ModelLoader().load_from_state_dict(state)
        except Exception as exc:
            raise ValueError(f"{model_name} is not an upscale model spandrel recognises ({exc})") from exc
        if not isinstance(descriptor, ImageModelDescriptor):
            raise ValueError(f"{model_name}: an upscale model must be a single-image model")
        descriptor.eval()
        from inkgraph.engine.core.devices import module_nbytes

        manager.add(key, descriptor, nbytes=module_nbytes(descriptor.model))
    descriptor = manager.get(key, lambda: None)
    return UpscaleHandle(manager, key, float(descriptor.scale))


def _upscale(ctx: Context, descriptor: Any, pixels: Any, tile: int, scale: float) -> Any:
    import torch

    from .diffusion.tiling import tile_count, tiled

    device = next(descriptor.model.parameters()).device
    total = pixels.shape[0] * tile_count(pixels.shape[2], pixels.shape[3], tile, OVERLAP)
    done = 0

    def run(piece: torch.Tensor) -> torch.Tensor:
        nonlocal done
        done += 1
        ctx.progress(done, total)
        with torch.inference_mode():
            return descriptor(piece.to(device))

    return torch.cat([tiled(run, frame[None], tile, OVERLAP, scale, 3) for frame in pixels])


@node(display_name="Upscale Image (using Model)", category="image/upscaling")
def ImageUpscaleWithModel(ctx: Context, upscale_model: UpscaleModel, image: Image) -> Image:
    """Upscales with the model in 512-pixel tiles (smaller when the device runs out of memory)."""
    import torch

    with upscale_model.manager.use(upscale_model.key) as (descriptor,):
        tile = TILE
        while True:
            try:
                out = _upscale(ctx, descriptor, image.movedim(-1, 1), tile, upscale_model.scale)
                break
            except torch.OutOfMemoryError:
                tile //= 2
                if tile < MIN_TILE:
                    raise
    return out.movedim(1, -1).clamp(0, 1)


NODES = [UpscaleModelLoader, ImageUpscaleWithModel]
