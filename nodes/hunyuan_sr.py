"""HunyuanVideo 1.5's super-resolution stage (ComfyUI's ``nodes_hunyuan``): LatentUpscaleModelLoader loads a
latent upsampler from ``models/latent_upscale_models``, HunyuanVideo15LatentUpscaleWithModel resizes a latent
to the target size and refines it with that model, HunyuanVideo15SuperResolution puts the low-resolution latent
(and an optional start image) into the conditioning of the 1080p super-resolution transformer, which
:mod:`.diffusion.families.hunyuan_adapter` feeds as ComfyUI's ``HunyuanVideo15_SR_Distilled`` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from inkgraph.engine import Combo, Conditioning, Context, Float, Int, Output, Socket, node
from inkgraph.engine.core.devices import ModelManager
from inkgraph.engine.core.paths import ModelFiles

from .wan import VideoOutputs, _encode, _resized, set_values

LATENT_UPSCALE_MODEL = "LATENT_UPSCALE_MODEL"
Latent = Annotated[dict[str, Any], Socket(type="LATENT")]
Side = Annotated[int, Int(min=0, max=16384, step=8)]
SCALE = 16  # HunyuanVideo 1.5's latent is 16× down

_models = ModelFiles("latent_upscale_models")


@dataclass(frozen=True)
class LatentUpscaleHandle:
    """A LATENT_UPSCALE_MODEL: the upsampler the model manager holds under ``key``."""

    manager: ModelManager = field(repr=False, compare=False)
    key: tuple[Any, ...]
    kind: str

    def cache_nbytes(self) -> int:
        return 64


@node(display_name="Load Latent Upscale Model", category="loaders")
def LatentUpscaleModelLoader(ctx: Context, model_name: Annotated[str, Combo(options=_models)]
                             ) -> Annotated[Any, Socket(type=LATENT_UPSCALE_MODEL)]:
    """Loads HunyuanVideo 1.5's 720p or 1080p latent upsampler (which one is read from the weights)."""
    from inkgraph.engine.core.devices import module_nbytes, torch_dtype

    from .diffusion.latent_upsamplers import build
    from .diffusion.state_dict import read_state_dict

    path = ctx.folders.model_path("latent_upscale_models", model_name)
    manager = ctx.models
    key = ("latent_upscale", str(path), path.stat().st_mtime_ns, manager.policy.vae_dtype)
    if key not in manager:
        state, _ = read_state_dict(path)
        module = build(state, model_name).to(torch_dtype(manager.policy.vae_dtype))
        manager.add(key, module, nbytes=module_nbytes(module))
    module = manager.get(key, lambda: None)
    return LatentUpscaleHandle(manager, key, str(module.kind))


@node(display_name="Hunyuan Video 15 Latent Upscale With Model", category="latent")
def HunyuanVideo15LatentUpscaleWithModel(
    model: Annotated[Any, Socket(type=LATENT_UPSCALE_MODEL)], samples: Latent,
    upscale_method: Annotated[str, Combo(options=["nearest-exact", "bilinear", "area", "bicubic", "bislerp"])]
    = "bilinear",
    width: Side = 1280, height: Side = 720, *, crop: Annotated[str, Combo(options=["disabled", "center"])],
) -> Annotated[dict[str, Any], Socket(type="LATENT"), Output("LATENT")]:
    """Resizes the latent to width/16 × height/16 (a side of 0 follows the other, keeping the aspect; both 0:
    unchanged), then refines it with the latent upsampler."""
    from .diffusion.latent_upsamplers import resample
    from .image_utils import common_upscale

    if width == 0 and height == 0:
        return samples
    latent = samples["samples"]
    if width == 0:
        height = max(64, height)
        width = max(64, round(latent.shape[-1] * height / latent.shape[-2]))
    elif height == 0:
        width = max(64, width)
        height = max(64, round(latent.shape[-2] * width / latent.shape[-1]))
    else:
        width, height = max(64, width), max(64, height)
    resized = common_upscale(latent.float(), width // SCALE, height // SCALE, upscale_method, crop)
    with model.manager.use(model.key) as (module,):
        return {"samples": resample(module, resized)}


@node(category="sd")
def HunyuanVideo15SuperResolution(
    ctx: Context, positive: Conditioning, negative: Conditioning, latent: Latent,
    noise_augmentation: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 0.70,
    vae: Annotated[Any, Socket(type="VAE", optional=True)] = None,
    start_image: Annotated[Any, Socket(type="IMAGE", optional=True)] = None,
    clip_vision_output: Annotated[Any, Socket(type="CLIP_VISION_OUTPUT", optional=True)] = None,
) -> VideoOutputs:
    """Conditions the super-resolution transformer on the (upscaled) low-resolution latent: 2·C + 2 channels —
    the start image's latent (zeros without one), a zero channel, the latent, a channel of ones — with
    ``noise_augmentation`` for the sampler to noise the latent part by. ComfyUI marks a start image by setting
    channel C + 1 (the latent's first) to 1 on the first frame, and so does this. The latent passes through."""
    import torch

    samples = latent["samples"]
    channels = samples.shape[1]
    cond = torch.zeros([samples.shape[0], 2 * channels + 2, *samples.shape[-3:]])
    cond[:, channels + 1: 2 * channels + 1] = samples.float()
    cond[:, 2 * channels + 1] = 1
    if start_image is not None:
        if vae is None:
            raise ValueError("HunyuanVideo15SuperResolution: input 'start_image' needs the 'vae' input to encode it")
        image = _resized(start_image, samples.shape[-1] * SCALE, samples.shape[-2] * SCALE)
        encoded = _encode(ctx, vae, image)
        cond[:, :channels, : encoded.shape[2]] = encoded.float()
        cond[:, channels + 1, 0] = 1  # as ComfyUI: the latent's first channel on the first frame, not the flag
    values: dict[str, Any] = {"concat_latent_image": cond, "noise_augmentation": noise_augmentation}
    positive, negative = set_values(positive, values), set_values(negative, values)
    if clip_vision_output is not None:
        values = {"clip_vision_output": clip_vision_output}
        positive, negative = set_values(positive, values), set_values(negative, values)
    return positive, negative, latent


NODES = [LatentUpscaleModelLoader, HunyuanVideo15LatentUpscaleWithModel, HunyuanVideo15SuperResolution]
