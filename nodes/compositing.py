"""Alpha compositing (ComfyUI's ``comfy_extras/nodes_compositing.py``): PorterDuffImageComposite,
SplitImageWithAlpha and JoinImageWithAlpha.

ComfyUI's alpha inputs and outputs are MASKs in its mask convention, 1 − alpha (LoadImage's mask is 1 where
the image is transparent); an RGBA IMAGE carries alpha itself in its fourth channel. The Porter-Duff
operators work on alpha-premultiplied colour and are divided back afterwards (0 where the result is
transparent).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from inkgraph.engine import Combo, Image, Mask, Output, Socket, node

CATEGORY = "mask/compositing"

# mode → (alpha, colour) of the result from premultiplied source (s, as) and destination (d, ad)
Op = Callable[[Any, Any, Any, Any], Any]


def _over(top: Any, top_alpha: Any, under: Any) -> Any:
    return top + (1 - top_alpha) * under


def _union(sa: Any, da: Any) -> Any:
    return sa + da - sa * da


def _overlay(s: Any, sa: Any, d: Any, da: Any) -> Any:
    import torch

    return torch.where(2 * d < da, 2 * s * d, sa * da - 2 * (da - s) * (sa - d))


def _modes() -> dict[str, tuple[Op, Op]]:
    import torch

    return {
        "ADD": (lambda s, sa, d, da: (sa + da).clamp(0, 1), lambda s, sa, d, da: (s + d).clamp(0, 1)),
        "CLEAR": (lambda s, sa, d, da: torch.zeros_like(da), lambda s, sa, d, da: torch.zeros_like(d)),
        "DARKEN": (lambda s, sa, d, da: _union(sa, da),
                   lambda s, sa, d, da: (1 - da) * s + (1 - sa) * d + torch.minimum(s, d)),
        "DST": (lambda s, sa, d, da: da, lambda s, sa, d, da: d),
        "DST_ATOP": (lambda s, sa, d, da: sa, lambda s, sa, d, da: sa * d + (1 - da) * s),
        "DST_IN": (lambda s, sa, d, da: sa * da, lambda s, sa, d, da: d * sa),
        "DST_OUT": (lambda s, sa, d, da: (1 - sa) * da, lambda s, sa, d, da: (1 - sa) * d),
        "DST_OVER": (lambda s, sa, d, da: _over(da, da, sa), lambda s, sa, d, da: _over(d, da, s)),
        "LIGHTEN": (lambda s, sa, d, da: _union(sa, da),
                    lambda s, sa, d, da: (1 - da) * s + (1 - sa) * d + torch.maximum(s, d)),
        "MULTIPLY": (lambda s, sa, d, da: sa * da, lambda s, sa, d, da: s * d),
        "OVERLAY": (lambda s, sa, d, da: _union(sa, da), _overlay),
        "SCREEN": (lambda s, sa, d, da: _union(sa, da), lambda s, sa, d, da: s + d - s * d),
        "SRC": (lambda s, sa, d, da: sa, lambda s, sa, d, da: s),
        "SRC_ATOP": (lambda s, sa, d, da: da, lambda s, sa, d, da: da * s + (1 - sa) * d),
        "SRC_IN": (lambda s, sa, d, da: sa * da, lambda s, sa, d, da: s * da),
        "SRC_OUT": (lambda s, sa, d, da: (1 - da) * sa, lambda s, sa, d, da: (1 - da) * s),
        "SRC_OVER": (lambda s, sa, d, da: _over(sa, sa, da), lambda s, sa, d, da: _over(s, sa, d)),
        "XOR": (lambda s, sa, d, da: (1 - da) * sa + (1 - sa) * da,
                lambda s, sa, d, da: (1 - da) * s + (1 - sa) * d),
    }


MODES = ("ADD", "CLEAR", "DARKEN", "DST", "DST_ATOP", "DST_IN", "DST_OUT", "DST_OVER", "LIGHTEN", "MULTIPLY",
         "OVERLAY", "SCREEN", "SRC", "SRC_ATOP", "SRC_IN", "SRC_OUT", "SRC_OVER", "XOR")  # ComfyUI's order


def porter_duff(source: Any, source_mask: Any, destination: Any, destination_mask: Any, mode: str
                ) -> tuple[Any, Any]:
    """One composite of [H, W, C] colours with [H, W, 1] masks (ComfyUI's convention): the colour and the
    mask of the result."""
    import torch

    sa, da = 1 - source_mask, 1 - destination_mask
    s, d = source * sa, destination * da
    alpha_of, colour_of = _modes()[mode]
    alpha, colour = alpha_of(s, sa, d, da), colour_of(s, sa, d, da)
    colour = torch.where(alpha > 1e-5, colour / alpha, torch.zeros_like(colour)).clamp(0, 1)
    return colour, 1 - alpha


def _fit(tensor: Any, height: int, width: int) -> Any:
    """An [H, W, C] tensor resized to height×width as ComfyUI does here (bicubic, centre crop)."""
    from .image_utils import common_upscale

    return common_upscale(tensor.movedim(-1, 0).unsqueeze(0), width, height, "bicubic", "center")[0].movedim(0, -1)


@node(display_name="Porter-Duff Image Composite", category=CATEGORY)
def PorterDuffImageComposite(
    source: Image,
    source_alpha: Mask,
    destination: Image,
    destination_alpha: Mask,
    mode: Annotated[str, Combo(options=MODES, default="DST")] = "DST",
) -> tuple[Annotated[Any, Socket(type="IMAGE"), Output()], Annotated[Any, Socket(type="MASK"), Output()]]:
    """Composites each source over (or in, out, atop …) its destination image; the batch is the shortest
    of the four inputs. The destination's mask is fitted to its image, the source and its mask to the
    destination's size."""
    import torch

    if mode not in MODES:
        raise ValueError(f"PorterDuffImageComposite: input 'mode' must be one of {', '.join(MODES)}, got {mode!r}")
    count = min(len(source), len(source_alpha), len(destination), len(destination_alpha))
    images, masks = [], []
    for i in range(count):
        src, dst = source[i], destination[i]
        if src.shape[2] != dst.shape[2]:
            raise ValueError(f"PorterDuffImageComposite: 'source' has {src.shape[2]} channels and 'destination' "
                             f"{dst.shape[2]}; they must have the same number")
        src_mask, dst_mask = source_alpha[i].unsqueeze(2), destination_alpha[i].unsqueeze(2)
        height, width = dst.shape[0], dst.shape[1]
        if dst_mask.shape[:2] != dst.shape[:2]:
            dst_mask = _fit(dst_mask, height, width)
        if src.shape != dst.shape:
            src = _fit(src, height, width)
        if src_mask.shape != dst_mask.shape:
            src_mask = _fit(src_mask, dst_mask.shape[0], dst_mask.shape[1])
        colour, mask = porter_duff(src, src_mask, dst, dst_mask, mode)
        images.append(colour)
        masks.append(mask.squeeze(2))
    return torch.stack(images), torch.stack(masks)


@node(display_name="Split Image with Alpha", category=CATEGORY)
def SplitImageWithAlpha(
    image: Image,
) -> tuple[Annotated[Any, Socket(type="IMAGE"), Output()], Annotated[Any, Socket(type="MASK"), Output()]]:
    """The RGB channels and the alpha channel as a mask (1 − alpha; an opaque mask of zeros for RGB images)."""
    import torch

    alpha = image[..., 3] if image.shape[-1] > 3 else torch.ones_like(image[..., 0])
    return image[..., :3], 1.0 - alpha


@node(display_name="Join Image with Alpha", category=CATEGORY)
def JoinImageWithAlpha(image: Image, alpha: Mask) -> Image:
    """An RGBA image: the RGB channels with 1 − mask as alpha (the mask resized bilinearly to the image);
    the batch is the shorter of the two."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    count = min(len(image), len(alpha))
    planes = alpha.reshape(-1, 1, alpha.shape[-2], alpha.shape[-1]).float()
    resized = F.interpolate(planes, size=(image.shape[1], image.shape[2]), mode="bilinear").squeeze(1)
    return torch.cat((image[:count, ..., :3], (1.0 - resized[:count]).unsqueeze(-1).to(image.dtype)), dim=-1)


NODES = [PorterDuffImageComposite, SplitImageWithAlpha, JoinImageWithAlpha]
