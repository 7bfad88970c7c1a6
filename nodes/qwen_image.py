"""Qwen-Image's own nodes, with ComfyUI's names, inputs and behaviour: TextEncodeQwenImageEdit,
TextEncodeQwenImageEditPlus (up to three images) and EmptyQwenImageLayeredLatentImage.

The Edit encoders give Qwen2.5-VL the images to look at (resized to about 1024² pixels, or 384² for the
Plus node's vision input) and, with a VAE, attach the images' latents as reference latents (about 1024²,
sides multiples of 8 for the Plus node) — which the Qwen-Image model places after the generated image.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from inkgraph.engine import Clip, Context, Int, Output, Socket, String, node

from . import MAX_RESOLUTION
from .conditioning import encode_with

Prompt = Annotated[str, String(multiline=True, dynamic_prompts=True)]
OptionalVae = Annotated[Any, Socket(type="VAE", optional=True)]
OptionalImage = Annotated[Any, Socket(type="IMAGE", optional=True)]
ConditioningOut = Annotated[list[Any], Socket(type="CONDITIONING")]
EDIT_PIXELS = 1024 * 1024  # TextEncodeQwenImageEdit's image, and the Plus node's reference latents
VISION_PIXELS = 384 * 384  # the Plus node's images as Qwen2.5-VL sees them
PLUS_TEMPLATE = ("<|im_start|>system\nDescribe the key features of the input image (color, shape, size, texture, "
                 "objects, background), then explain how the user's text instruction should alter or modify the "
                 "image. Generate a new image that meets the user's requirements while maintaining consistency "
                 "with the original input where appropriate.<|im_end|>\n<|im_start|>user\n{}<|im_end|>\n"
                 "<|im_start|>assistant\n")


def _scaled(image: Any, total: int, multiple: float = 1.0) -> Any:
    """``image`` resized ("area") to about ``total`` pixels, aspect kept, sides rounded to ``multiple``."""
    from .image_utils import common_upscale

    samples = image.movedim(-1, 1)
    scale = math.sqrt(total / (samples.shape[3] * samples.shape[2]))
    width = round(samples.shape[3] * scale / multiple) * multiple
    height = round(samples.shape[2] * scale / multiple) * multiple
    return common_upscale(samples, int(width), int(height), "area", "disabled").movedim(1, -1)


def _encode_latent(ctx: Context, vae: Any, pixels: Any) -> Any:
    from .diffusion.vae_ops import encode

    with vae.use() as model:
        return encode(model, pixels[..., :3], ctx.check_interrupted)


def _with_references(conditioning: list[Any], latents: list[Any]) -> list[Any]:
    if not latents:
        return conditioning
    return [[e, {**o, "reference_latents": [*o.get("reference_latents", []), *latents]}] for e, o in conditioning]


@node(category="advanced/conditioning")
def TextEncodeQwenImageEdit(ctx: Context, clip: Clip, prompt: Prompt, vae: OptionalVae = None,
                            image: OptionalImage = None) -> ConditioningOut:
    """Encodes an edit instruction with the image it is about (Qwen-Image Edit): Qwen2.5-VL reads the image
    (about 1024² pixels); with a VAE, the image's latent becomes the reference latent."""
    images, latents = [], []
    if image is not None:
        scaled = _scaled(image, EDIT_PIXELS)[..., :3]
        images.append(scaled)
        if vae is not None:
            latents.append(_encode_latent(ctx, vae, scaled))
    conditioning = encode_with(ctx, "TextEncodeQwenImageEdit", clip, text=prompt, images=images)
    return _with_references(conditioning, latents)


@node(category="advanced/conditioning")
def TextEncodeQwenImageEditPlus(ctx: Context, clip: Clip, prompt: Prompt, vae: OptionalVae = None,
                                image1: OptionalImage = None, image2: OptionalImage = None,
                                image3: OptionalImage = None) -> ConditioningOut:
    """Encodes an edit instruction with up to three images (Qwen-Image Edit 2509/2511): each is shown to
    Qwen2.5-VL at about 384² pixels as "Picture N"; with a VAE, each becomes a reference latent at about
    1024² pixels (sides multiples of 8)."""
    images, latents = [], []
    pictures = ""
    for number, image in enumerate((image1, image2, image3), start=1):
        if image is None:
            continue
        images.append(_scaled(image, VISION_PIXELS))
        if vae is not None:
            latents.append(_encode_latent(ctx, vae, _scaled(image, EDIT_PIXELS, 8.0)))
        pictures += f"Picture {number}: <|vision_start|><|image_pad|><|vision_end|>"
    conditioning = encode_with(ctx, "TextEncodeQwenImageEditPlus", clip, text=pictures + prompt, images=images,
                               llama_template=PLUS_TEMPLATE)
    return _with_references(conditioning, latents)


@node(category="latent/qwen")
def EmptyQwenImageLayeredLatentImage(
    width: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)] = 640,
    height: Annotated[int, Int(min=16, max=MAX_RESOLUTION, step=16)] = 640,
    layers: Annotated[int, Int(min=0, max=MAX_RESOLUTION, step=1)] = 3,
    batch_size: Annotated[int, Int(min=1, max=4096)] = 1,
) -> Annotated[dict[str, Any], Socket(type="LATENT"), Output("LATENT")]:
    """An empty latent for Qwen-Image Layered: the composite image and ``layers`` layers, one frame each
    ([batch, 16, layers + 1, height/8, width/8])."""
    import torch

    return {"samples": torch.zeros(batch_size, 16, layers + 1, height // 8, width // 8)}


NODES = [TextEncodeQwenImageEdit, TextEncodeQwenImageEditPlus, EmptyQwenImageLayeredLatentImage]
