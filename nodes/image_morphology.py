"""Edge detection, grey-scale morphology and YUV conversion (ComfyUI's ``nodes_canny`` and
``nodes_morphology``).

ComfyUI computes these with kornia; here they are written with plain torch operations that follow
kornia 0.9's definitions (flat square structuring element, geodesic borders, Minkowski dilation; Canny with a
5×5 σ=1 Gaussian, unnormalised Sobel, OpenCV-style tie-breaking in the non-maximum suppression, hysteresis),
so results equal kornia's (the tests compare them when kornia is installed) without the dependency.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from inkgraph.engine import Float, Image, Int, Output, node


def _image(value: Any, node_name: str, input_name: str) -> Any:
    if not hasattr(value, "shape") or len(value.shape) != 4:
        shape = tuple(value.shape) if hasattr(value, "shape") else type(value).__name__
        raise ValueError(f"{node_name}: input {input_name!r} must be an IMAGE [batch, height, width, channels], "
                         f"got {shape}")
    return value


def _window_max(x: Any, size: int, before: int) -> Any:
    """Max over a size×size window starting ``before`` pixels above/left of each pixel; pixels outside the
    image never win (a geodesic border)."""
    import torch.nn.functional as F  # noqa: N812

    after = size - before - 1
    padded = F.pad(x, (before, after, before, after), mode="constant", value=-float("inf"))
    return F.max_pool2d(padded, kernel_size=size, stride=1)


def dilate(x: Any, size: int) -> Any:
    """Grey dilation by a flat size×size square (NCHW): a Minkowski dilation, whose reflected element puts
    the window's origin at ``size // 2`` counted from the far side (matters for even sizes only)."""
    return _window_max(x, size, size - size // 2 - 1)


def erode(x: Any, size: int) -> Any:
    """Grey erosion by the same element: the minimum over the window with its origin at ``size // 2``."""
    return -_window_max(-x, size, size // 2)


def morphology(x: Any, operation: str, size: int) -> Any:
    """One of ComfyUI's Morphology operations on NCHW ``x`` with a flat size×size element."""
    if operation == "erode":
        return erode(x, size)
    if operation == "dilate":
        return dilate(x, size)
    if operation == "open":
        return dilate(erode(x, size), size)
    if operation == "close":
        return erode(dilate(x, size), size)
    if operation == "gradient":
        return dilate(x, size) - erode(x, size)
    if operation == "top_hat":
        return x - dilate(erode(x, size), size)
    if operation == "bottom_hat":
        return erode(dilate(x, size), size) - x
    raise ValueError(f"Morphology: input 'operation' must be one of erode, dilate, open, close, gradient, "
                     f"bottom_hat, top_hat; got {operation!r}")


@node(display_name="ImageMorphology", category="image/postprocessing")
def Morphology(
    image: Image,
    *,
    operation: Literal["erode", "dilate", "open", "close", "gradient", "bottom_hat", "top_hat"],
    kernel_size: Annotated[int, Int(min=3, max=999, step=1)] = 3,
) -> Image:
    """Grey-scale morphology with a kernel_size² square: erode/dilate shrink/grow bright areas, open/close
    remove small bright/dark specks, gradient outlines shapes, the hats keep only the small details."""
    image = _image(image, "Morphology", "image")
    return morphology(image.movedim(-1, 1), operation, kernel_size).movedim(1, -1)


def rgb_to_ycbcr(rgb: Any) -> Any:
    """Y, Cb, Cr in 0..1 (chroma centred on 0.5) from RGB, channels last (kornia's coefficients)."""
    import torch

    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 0.299 * r + 0.587 * g + 0.114 * b
    return torch.stack([y, (b - y) * 0.564 + 0.5, (r - y) * 0.713 + 0.5], dim=-1)


def ycbcr_to_rgb(ycc: Any) -> Any:
    import torch

    y, cb, cr = ycc[..., 0], ycc[..., 1] - 0.5, ycc[..., 2] - 0.5  # the exact inverse of rgb_to_ycbcr
    rgb = torch.stack([y + 1.4025245442 * cr, y - 0.7144034731 * cr - 0.3443401356 * cb, y + 1.7730496454 * cb],
                      dim=-1)
    return rgb.clamp(0, 1)


@node(category="image/batch")
def ImageRGBToYUV(image: Image) -> tuple[Annotated[Any, Output("Y", type="IMAGE")],
                                         Annotated[Any, Output("U", type="IMAGE")],
                                         Annotated[Any, Output("V", type="IMAGE")]]:
    """Splits an image into its luma (Y) and chroma (U = Cb, V = Cr) planes, each as a grey image."""
    image = _image(image, "ImageRGBToYUV", "image")
    if image.shape[-1] < 3:
        raise ValueError(f"ImageRGBToYUV: input 'image' needs 3 colour channels, got {image.shape[-1]}")
    image = image[..., :3]
    out = rgb_to_ycbcr(image)
    y, u, v = (out[..., i:i + 1].expand_as(image) for i in range(3))
    return y, u, v


@node(category="image/batch")
def ImageYUVToRGB(Y: Image, U: Image, V: Image) -> Image:  # noqa: N803 - ComfyUI's input names
    """Joins Y, U and V planes (each averaged over its channels) back into an RGB image."""
    import torch

    planes = [_image(p, "ImageYUVToRGB", n).mean(dim=-1, keepdim=True) for p, n in ((Y, "Y"), (U, "U"), (V, "V"))]
    return ycbcr_to_rgb(torch.cat(planes, dim=-1))


def _gaussian_blur_5x5(x: Any) -> Any:
    """kornia's gaussian_blur2d((5, 5), (1, 1)) with reflected borders, NCHW single channel."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    taps = torch.arange(5, dtype=x.dtype, device=x.device) - 2
    kernel = torch.exp(-(taps ** 2) / 2.0)
    kernel = kernel / kernel.sum()
    padded = F.pad(x, (2, 2, 2, 2), mode="reflect")
    padded = F.conv2d(padded, kernel.reshape(1, 1, 1, 5))
    return F.conv2d(padded, kernel.reshape(1, 1, 5, 1))


# (dy, dx) of the neighbour in gradient direction k = 0…7 (0 = right, counting towards down in 45° steps).
_DIRECTIONS = ((0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1))


def canny(image: Any, low_threshold: float, high_threshold: float) -> Any:
    """Canny edges of NCHW images in 0..1 as 0/1 maps [B, 1, H, W], as kornia (≥ 0.9) computes them.

    Grey (Rec. 601 weights) → 5×5 σ=1 Gaussian (reflected border) → unnormalised Sobel (replicated border)
    → non-maximum suppression along the gradient rounded to 45°, where across a horizontal (vertical)
    gradient the left (upper) pixel of an equal pair is kept, as OpenCV does → thresholds on the magnitude
    (strict) → hysteresis through the 8 neighbours until nothing changes.
    """
    import math

    import torch
    import torch.nn.functional as F  # noqa: N812

    if low_threshold > high_threshold:
        raise ValueError(f"Canny: low_threshold ({low_threshold}) must not exceed high_threshold "
                         f"({high_threshold})")
    x = image.float()
    if x.shape[1] == 3:
        x = 0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]
    elif x.shape[1] != 1:
        raise ValueError(f"Canny: input 'image' must have 1 or 3 channels, got {x.shape[1]}")
    blurred = _gaussian_blur_5x5(x)
    sobel_x = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=x.device)
    padded = F.pad(blurred, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, sobel_x.reshape(1, 1, 3, 3))
    gy = F.conv2d(padded, sobel_x.t().reshape(1, 1, 3, 3))
    eps = 1e-6
    border = torch.sqrt(F.pad(gx, (1, 1, 1, 1)) ** 2 + F.pad(gy, (1, 1, 1, 1)) ** 2 + eps)
    height, width = gx.shape[-2:]
    magnitude = border[..., 1:1 + height, 1:1 + width]
    neighbours = torch.stack([border[..., 1 + dy:1 + dy + height, 1 + dx:1 + dx + width] for dy, dx in _DIRECTIONS], 2)
    direction = (torch.nan_to_num(torch.atan2(gy, gx)) * (4 / math.pi)).round()
    keep = magnitude > math.sqrt(eps)  # no gradient, no edge
    for index in ((direction % 8).long(), ((direction + 4) % 8).long()):
        neighbour = torch.gather(neighbours, 2, index.unsqueeze(2)).squeeze(2)
        tie_ok = (index == 0) | (index == 2)
        keep = keep & ((magnitude > neighbour) | (tie_ok & (magnitude == neighbour)))
    magnitude = magnitude * keep
    edges = ((magnitude > low_threshold).float() + (magnitude > high_threshold).float()) * 0.5
    ring = torch.ones(1, 1, 3, 3, device=x.device)
    ring[0, 0, 1, 1] = 0.0
    previous = -torch.ones_like(edges)
    while bool((previous != edges).any()):  # weak pixels become strong next to a strong one
        previous = edges
        strong = (edges == 1).float()
        weak = (edges == 0.5).float()
        touching = (F.conv2d(strong, ring, padding=1) > 0).float()
        grown = touching * weak + strong
        edges = grown + (grown == 0) * weak * 0.5
    return (edges == 1).float()


@node(category="image/preprocessors")
def Canny(
    image: Image,
    low_threshold: Annotated[float, Float(min=0.01, max=0.99, step=0.01)] = 0.4,
    high_threshold: Annotated[float, Float(min=0.01, max=0.99, step=0.01)] = 0.8,
) -> Image:
    """Canny edge map (white edges on black), for edge ControlNets. Thresholds apply to the Sobel gradient
    magnitude of the blurred grey image; weak edges survive only when connected to strong ones."""
    image = _image(image, "Canny", "image")
    edges = canny(image.movedim(-1, 1)[:, :3], low_threshold, high_threshold)
    return edges.repeat(1, 3, 1, 1).movedim(1, -1).to(image.dtype)


NODES = [Morphology, ImageRGBToYUV, ImageYUVToRGB, Canny]
