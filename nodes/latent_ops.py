"""Latent arithmetic, compositing, transforms, slicing and operations (ComfyUI's ``nodes_latent`` and the
latent nodes of its ``nodes.py``).

A LATENT is a dict (``samples`` [B, C, h, w], optional ``noise_mask`` and ``batch_index``); every node
copies the dict and replaces ``samples``, so keys it does not know about travel on untouched, as in
ComfyUI. A LATENT_OPERATION is a callable ``op(latent=tensor) -> tensor`` (ComfyUI's convention), so
operations made here work in ComfyUI-style packs and the other way round.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from inkgraph.engine import Boolean, Float, Int, Latent, Mask, Model, Output, Socket, node

from . import MAX_RESOLUTION

LatentOperation = Annotated[Any, Socket(type="LATENT_OPERATION")]
LatentOperationOut = Annotated[Any, Output(type="LATENT_OPERATION")]
Offset8 = Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=8)]


def _samples(latent: Any, node_name: str, input_name: str) -> Any:
    """``latent["samples"]``, or an error that names the node and the input (a wrong link, a bad value)."""
    if not isinstance(latent, dict) or "samples" not in latent:
        raise ValueError(f"{node_name}: input {input_name!r} must be a LATENT (a dict with 'samples'), "
                         f"got {type(latent).__name__}")
    return latent["samples"]


def reshape_latent_to(target_shape: Any, latent: Any, repeat_batch: bool = True) -> Any:
    """Bring ``latent`` to ``target_shape``: bilinear resize with centre crop when the channel or spatial
    shape differs, then (optionally) repeat or cut the batch, as ComfyUI's latent arithmetic does."""
    from .image_utils import common_upscale, repeat_to_batch_size

    if tuple(latent.shape[1:]) != tuple(target_shape[1:]):
        latent = common_upscale(latent, target_shape[-1], target_shape[-2], "bilinear", "center")
    return repeat_to_batch_size(latent, target_shape[0]) if repeat_batch else latent


def _with(latent: dict[str, Any], samples: Any) -> dict[str, Any]:
    out = dict(latent)
    out["samples"] = samples
    return out


@node(category="latent/advanced")
def LatentAdd(samples1: Latent, samples2: Latent) -> Latent:
    """samples1 + samples2 (samples2 resized and batch-matched to samples1)."""
    s1 = _samples(samples1, "LatentAdd", "samples1")
    return _with(samples1, s1 + reshape_latent_to(s1.shape, _samples(samples2, "LatentAdd", "samples2")))


@node(category="latent/advanced")
def LatentSubtract(samples1: Latent, samples2: Latent) -> Latent:
    """samples1 − samples2 (samples2 resized and batch-matched to samples1)."""
    s1 = _samples(samples1, "LatentSubtract", "samples1")
    return _with(samples1, s1 - reshape_latent_to(s1.shape, _samples(samples2, "LatentSubtract", "samples2")))


@node(category="latent/advanced")
def LatentMultiply(samples: Latent,
                   multiplier: Annotated[float, Float(min=-10.0, max=10.0, step=0.01)] = 1.0) -> Latent:
    """Scales every latent value by a constant."""
    return _with(samples, _samples(samples, "LatentMultiply", "samples") * multiplier)


@node(category="latent/advanced")
def LatentInterpolate(samples1: Latent, samples2: Latent,
                      ratio: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 1.0) -> Latent:
    """Blends directions and lengths of the per-pixel latent vectors separately, so a blend of two
    latents keeps their typical magnitude instead of shrinking towards zero as a plain lerp does.

    ratio 1 gives samples1, 0 gives samples2. Norms are taken over channels per pixel (ComfyUI since 0.9;
    0.8.0's norm only broadcast correctly for a batch of one).
    """
    import torch

    s1 = _samples(samples1, "LatentInterpolate", "samples1")
    s2 = reshape_latent_to(s1.shape, _samples(samples2, "LatentInterpolate", "samples2"))
    m1 = torch.linalg.vector_norm(s1, dim=1, keepdim=True)
    m2 = torch.linalg.vector_norm(s2, dim=1, keepdim=True)
    t = torch.nan_to_num(s1 / m1) * ratio + torch.nan_to_num(s2 / m2) * (1.0 - ratio)
    direction = torch.nan_to_num(t / torch.linalg.vector_norm(t, dim=1, keepdim=True))
    return _with(samples1, direction * (m1 * ratio + m2 * (1.0 - ratio)))


@node(display_name="Latent Blend", category="_for_testing")
def LatentBlend(samples1: Latent, samples2: Latent,
                blend_factor: Annotated[float, Float(min=0, max=1, step=0.01)] = 0.5) -> Latent:
    """samples1·f + samples2·(1−f); samples2 is resized (bicubic, centre crop) when shapes differ."""
    from .image_utils import common_upscale

    s1 = _samples(samples1, "LatentBlend", "samples1")
    s2 = _samples(samples2, "LatentBlend", "samples2")
    if s1.shape != s2.shape:
        s2 = common_upscale(s2, s1.shape[3], s1.shape[2], "bicubic", "center")
    return _with(samples1, s1 * blend_factor + s2 * (1 - blend_factor))


@node(display_name="Latent Composite", category="latent")
def LatentComposite(samples_to: Latent, samples_from: Latent, x: Offset8 = 0, y: Offset8 = 0,
                    feather: Offset8 = 0) -> Latent:
    """Pastes samples_from into samples_to at (x, y) pixels (multiples of 8). ``feather`` pixels of the
    pasted edges that lie inside the destination ramp linearly from the destination to the source."""
    import torch

    x, y, feather = x // 8, y // 8, feather // 8
    dest = _samples(samples_to, "LatentComposite", "samples_to")
    source = _samples(samples_from, "LatentComposite", "samples_from")
    out = dest.clone()
    source = source[:, :, :dest.shape[2] - y, :dest.shape[3] - x]
    height, width = source.shape[2], source.shape[3]
    region = out[:, :, y:y + height, x:x + width]
    if feather == 0:
        out[:, :, y:y + height, x:x + width] = source
        return _with(samples_to, out)
    mask = torch.ones_like(source)
    for t in range(feather):
        weight = (t + 1) / feather
        if y != 0:
            mask[:, :, t:t + 1, :] *= weight
        if y + height < dest.shape[2]:
            mask[:, :, height - 1 - t:height - t, :] *= weight
        if x != 0:
            mask[:, :, :, t:t + 1] *= weight
        if x + width < dest.shape[3]:
            mask[:, :, :, width - 1 - t:width - t] *= weight
    out[:, :, y:y + height, x:x + width] = source * mask + region * (1 - mask)
    return _with(samples_to, out)


def composite(destination: Any, source: Any, x: int, y: int, mask: Any = None, multiplier: int = 8,
              resize_source: bool = False) -> Any:
    """Paste NCHW ``source`` into ``destination`` (modified in place) at pixel (x, y); ``multiplier`` is
    pixels per element (8 for latents). Where a mask is given (resized to the source), 1 takes the source."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from .image_utils import repeat_to_batch_size

    source = source.to(destination.device)
    if resize_source:
        source = F.interpolate(source, size=(destination.shape[-2], destination.shape[-1]), mode="bilinear")
    source = repeat_to_batch_size(source, destination.shape[0])
    x = max(-source.shape[-1] * multiplier, min(x, destination.shape[-1] * multiplier))
    y = max(-source.shape[-2] * multiplier, min(y, destination.shape[-2] * multiplier))
    left, top = x // multiplier, y // multiplier
    right, bottom = left + source.shape[-1], top + source.shape[-2]
    if mask is None:
        weight = torch.ones_like(source)
    else:
        weight = mask.to(destination.device, copy=True).reshape((-1, 1, mask.shape[-2], mask.shape[-1]))
        weight = F.interpolate(weight, size=(source.shape[-2], source.shape[-1]), mode="bilinear")
        weight = repeat_to_batch_size(weight, source.shape[0])
    visible_w = destination.shape[-1] - left + min(0, x)
    visible_h = destination.shape[-2] - top + min(0, y)
    weight = weight[:, :, :visible_h, :visible_w]
    portion = destination[..., top:bottom, left:right]
    destination[..., top:bottom, left:right] = (weight * source[..., :visible_h, :visible_w]
                                                + (1 - weight) * portion)
    return destination


@node(category="latent")
def LatentCompositeMasked(destination: Latent, source: Latent, x: Offset8 = 0, y: Offset8 = 0,
                          resize_source: Annotated[bool, Boolean()] = False, mask: Mask = None) -> Latent:
    """Pastes source into destination at (x, y) pixels; with a mask, only where the mask is 1."""
    dest = _samples(destination, "LatentCompositeMasked", "destination").clone()
    src = _samples(source, "LatentCompositeMasked", "source")
    return _with(destination, composite(dest, src, x, y, mask, 8, resize_source))


@node(display_name="Crop Latent", category="latent/transform")
def LatentCrop(
    samples: Latent,
    width: Annotated[int, Int(min=64, max=MAX_RESOLUTION, step=8)] = 512,
    height: Annotated[int, Int(min=64, max=MAX_RESOLUTION, step=8)] = 512,
    x: Offset8 = 0,
    y: Offset8 = 0,
) -> Latent:
    """Crops a width×height pixel region at (x, y); the corner is kept at least 64 pixels inside."""
    source = _samples(samples, "LatentCrop", "samples")
    left = min(x // 8, source.shape[3] - 8)
    top = min(y // 8, source.shape[2] - 8)
    return _with(samples, source[:, :, top:top + height // 8, left:left + width // 8])


@node(display_name="Flip Latent", category="latent/transform")
def LatentFlip(samples: Latent, *, flip_method: Literal["x-axis: vertically", "y-axis: horizontally"]) -> Latent:
    """Mirrors top↔bottom (x-axis) or left↔right (y-axis)."""
    import torch

    source = _samples(samples, "LatentFlip", "samples")
    if flip_method.startswith("x"):
        return _with(samples, torch.flip(source, dims=[2]))
    if flip_method.startswith("y"):
        return _with(samples, torch.flip(source, dims=[3]))
    return dict(samples)


_ROTATIONS = {"none": 0, "90 degrees": 1, "180 degrees": 2, "270 degrees": 3}


@node(display_name="Rotate Latent", category="latent/transform")
def LatentRotate(samples: Latent, *,
                 rotation: Literal["none", "90 degrees", "180 degrees", "270 degrees"]) -> Latent:
    """Rotates clockwise by quarter turns."""
    import torch

    source = _samples(samples, "LatentRotate", "samples")
    return _with(samples, torch.rot90(source, k=_ROTATIONS[rotation], dims=[3, 2]))


@node(category="latent/batch", deprecated=True)
def LatentBatch(samples1: Latent, samples2: Latent) -> Latent:
    """Joins two batches; samples2 is resized to samples1's shape; batch indices (noise seeds) are kept."""
    import torch

    s1 = _samples(samples1, "LatentBatch", "samples1")
    s2 = reshape_latent_to(s1.shape, _samples(samples2, "LatentBatch", "samples2"), repeat_batch=False)
    out = _with(samples1, torch.cat((s1, s2), dim=0))
    out["batch_index"] = (list(samples1.get("batch_index", range(s1.shape[0])))
                          + list(samples2.get("batch_index", range(s2.shape[0]))))
    return out


@node(category="latent/advanced")
def LatentBatchSeedBehavior(samples: Latent,
                            seed_behavior: Literal["random", "fixed"] = "fixed") -> Latent:
    """Noise seeds across the batch: "fixed" gives every latent the first one's seed, "random" each its own."""
    source = _samples(samples, "LatentBatchSeedBehavior", "samples")
    out = dict(samples)
    if seed_behavior == "random":
        out.pop("batch_index", None)
    else:
        first = list(out.get("batch_index", [0]))[0]
        out["batch_index"] = [first] * source.shape[0]
    return out


_AXES = {"x": 1, "y": 2, "t": 3}  # counted from the last dimension


@node(category="latent/advanced")
def LatentConcat(samples1: Latent, samples2: Latent, *,
                 dim: Literal["x", "-x", "y", "-y", "t", "-t"]) -> Latent:
    """Joins two latents along width (x), height (y) or frames (t); a leading minus puts samples2 first."""
    import torch

    from .image_utils import repeat_to_batch_size

    s1 = _samples(samples1, "LatentConcat", "samples1")
    s2 = repeat_to_batch_size(_samples(samples2, "LatentConcat", "samples2"), s1.shape[0])
    pair = (s2, s1) if dim.startswith("-") else (s1, s2)
    axis = -_AXES[dim.lstrip("-")]
    if s1.ndim < -axis + 2:
        raise ValueError(f"LatentConcat: dim {dim!r} needs a video latent [B, C, T, H, W]; "
                         f"samples1 has shape {tuple(s1.shape)}")
    return _with(samples1, torch.cat(pair, dim=axis))


def _axis(source: Any, dim: str, node_name: str) -> int:
    axis = int(source.ndim - _AXES[dim])
    if axis < 0:
        raise ValueError(f"{node_name}: dim {dim!r} does not exist in a latent of shape {tuple(source.shape)}")
    return axis


@node(category="latent/advanced")
def LatentCut(
    samples: Latent,
    *,
    dim: Literal["x", "y", "t"],
    index: Annotated[int, Int(min=-MAX_RESOLUTION, max=MAX_RESOLUTION, step=1)] = 0,
    amount: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 1,
) -> Latent:
    """Keeps ``amount`` slices from ``index`` along x, y or t (negative indices count from the end)."""
    import torch

    source = _samples(samples, "LatentCut", "samples")
    axis = _axis(source, dim, "LatentCut")
    size = source.shape[axis]
    if index >= 0:
        index = min(index, size - 1)
        amount = min(size - index, amount)
    else:
        index = max(index, -size)
        amount = min(-index, amount)
    return _with(samples, torch.narrow(source, axis, index, amount))


@node(category="latent/advanced")
def LatentCutToBatch(
    samples: Latent,
    *,
    dim: Literal["t", "x", "y"],
    slice_size: Annotated[int, Int(min=1, max=MAX_RESOLUTION, step=1)] = 1,
) -> Latent:
    """Cuts x, y or t into chunks of ``slice_size`` and stacks the chunks along the batch (a remainder
    that does not fill a chunk is dropped)."""
    source = _samples(samples, "LatentCutToBatch", "samples")
    axis = source.ndim - _AXES[dim]
    if axis < 2:
        return samples
    moved = source.movedim(axis, 1)
    size = moved.shape[1]
    if size < slice_size:
        slice_size = size
    elif size % slice_size:
        moved = moved[:, :size // slice_size * slice_size]
    return _with(samples, moved.reshape([-1, slice_size, *moved.shape[2:]]).movedim(1, axis))


@node(category="latent/advanced/operations", experimental=True)
def LatentApplyOperation(samples: Latent, operation: LatentOperation) -> Latent:
    """Runs a latent operation (LatentOperationSharpen, LatentOperationTonemapReinhard …) on the samples."""
    if not callable(operation):
        raise ValueError(f"LatentApplyOperation: input 'operation' must be a LATENT_OPERATION, "
                         f"got {type(operation).__name__}")
    return _with(samples, operation(latent=_samples(samples, "LatentApplyOperation", "samples")))


@node(category="latent/advanced/operations", experimental=True)
def LatentApplyOperationCFG(model: Model, operation: LatentOperation) -> Model:
    """Runs a latent operation on the guidance (positive − negative prediction) at every step, before CFG."""
    from dataclasses import replace

    from .diffusion.patches.guidance_patches import LatentOperationCFG
    from .diffusion.patches.options import model_options_of

    if not callable(operation):
        raise ValueError(f"LatentApplyOperationCFG: input 'operation' must be a LATENT_OPERATION, "
                         f"got {type(operation).__name__}")
    return replace(model, model_options=model_options_of(model).with_pre_cfg_function(LatentOperationCFG(operation)))


class TonemapReinhard:
    """Reinhard tone mapping of latent vector lengths: lengths well above the typical ones (mean + 5σ,
    times ``multiplier``) are compressed, so over-saturated regions calm down; directions are kept."""

    def __init__(self, multiplier: float) -> None:
        self.multiplier = multiplier

    def __call__(self, latent: Any, **kwargs: Any) -> Any:
        import torch

        magnitude = torch.linalg.vector_norm(latent, dim=1, keepdim=True) + 1e-10
        normalized = latent / magnitude
        dims = list(range(1, magnitude.ndim))
        top = (torch.std(magnitude, dim=dims, keepdim=True) * 5
               + torch.mean(magnitude, dim=dims, keepdim=True)) * self.multiplier
        scaled = magnitude / top
        return normalized * (scaled / (scaled + 1.0)) * top

    def __repr__(self) -> str:
        return f"TonemapReinhard(multiplier={self.multiplier})"


class Sharpen:
    """Unsharp masking of the latent's per-pixel directions; vector lengths are left as they are."""

    def __init__(self, radius: int, sigma: float, alpha: float) -> None:
        self.radius, self.sigma, self.alpha = radius, sigma, alpha

    def __call__(self, latent: Any, **kwargs: Any) -> Any:
        import torch
        import torch.nn.functional as F  # noqa: N812

        from .image_utils import gaussian_kernel

        luminance = torch.linalg.vector_norm(latent, dim=1, keepdim=True) + 1e-6
        normalized = latent / luminance
        channels = latent.shape[1]
        size = self.radius * 2 + 1
        kernel = gaussian_kernel(size, self.sigma, device=latent.device) * (self.alpha * -10)
        center = size // 2
        kernel[center, center] = kernel[center, center] - kernel.sum() + 1.0
        padded = F.pad(normalized, (self.radius,) * 4, mode="reflect")
        weight = kernel.to(latent.dtype).repeat(channels, 1, 1).unsqueeze(1)
        return luminance * F.conv2d(padded, weight, groups=channels)

    def __repr__(self) -> str:
        return f"Sharpen(radius={self.radius}, sigma={self.sigma}, alpha={self.alpha})"


@node(category="latent/advanced/operations", experimental=True)
def LatentOperationTonemapReinhard(
    multiplier: Annotated[float, Float(min=0.0, max=100.0, step=0.01)] = 1.0,
) -> LatentOperationOut:
    """A LATENT_OPERATION: Reinhard tone mapping of latent magnitudes."""
    return TonemapReinhard(multiplier)


@node(category="latent/advanced/operations", experimental=True)
def LatentOperationSharpen(
    sharpen_radius: Annotated[int, Int(min=1, max=31, step=1)] = 9,
    sigma: Annotated[float, Float(min=0.1, max=10.0, step=0.1)] = 1.0,
    alpha: Annotated[float, Float(min=0.0, max=5.0, step=0.01)] = 0.1,
) -> LatentOperationOut:
    """A LATENT_OPERATION: sharpens the latent's directions with a Gaussian unsharp mask."""
    return Sharpen(sharpen_radius, sigma, alpha)


NODES = [LatentAdd, LatentSubtract, LatentMultiply, LatentInterpolate, LatentBlend, LatentComposite,
         LatentCompositeMasked, LatentCrop, LatentFlip, LatentRotate, LatentBatch, LatentBatchSeedBehavior,
         LatentConcat, LatentCut, LatentCutToBatch, LatentApplyOperation, LatentApplyOperationCFG,
         LatentOperationTonemapReinhard, LatentOperationSharpen]
