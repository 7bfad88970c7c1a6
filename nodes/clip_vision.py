"""Image prompts: CLIP vision encoders, unCLIP conditioning and style models (ComfyUI's CLIPVisionLoader,
CLIPVisionEncode, unCLIPConditioning, unCLIPCheckpointLoader, ImageOnlyCheckpointLoader, StyleModelLoader,
StyleModelApply).

An image encoded by CLIP vision either conditions an unCLIP model (SD2.1 unCLIP, SDXL "revision": the image
embedding replaces or joins the text's pooled embedding) or, through a style model (Flux Redux), becomes tokens
appended to the text conditioning.
"""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import Combo, Conditioning, Context, Float, Image, Model, Socket, Vae, node
from inkgraph.engine.core.paths import ModelFiles

CLIP_VISION = Annotated[Any, Socket(type="CLIP_VISION")]
CLIP_VISION_OUTPUT = Annotated[Any, Socket(type="CLIP_VISION_OUTPUT")]
STYLE_MODEL = Annotated[Any, Socket(type="STYLE_MODEL")]

_clip_vision = ModelFiles("clip_vision")
_style_models = ModelFiles("style_models")
_checkpoints = ModelFiles("checkpoints")


@node(display_name="Load CLIP Vision", category="loaders")
def CLIPVisionLoader(ctx: Context, clip_name: Annotated[str, Combo(options=_clip_vision)]) -> CLIP_VISION:
    """Loads an image encoder (models/clip_vision): CLIP ViT-L/H/bigG, SigLIP (Flux Redux)."""
    from .diffusion.clip_vision import load

    return load(ctx.models, ctx.folders.model_path("clip_vision", clip_name))


@node(display_name="CLIP Vision Encode", category="conditioning")
def CLIPVisionEncode(clip_vision: CLIP_VISION, image: Image,
                     crop: Annotated[str, Combo(options=("center", "none"))]) -> CLIP_VISION_OUTPUT:
    """Encodes an image with a CLIP vision model: "center" scales the shorter side to the model's size and
    crops the middle, "none" squashes the whole image to a square."""
    return clip_vision.encode_image(image, crop=crop == "center")


@node(category="conditioning")
def unCLIPConditioning(
    conditioning: Conditioning, clip_vision_output: CLIP_VISION_OUTPUT,
    strength: Annotated[float, Float(min=-10.0, max=10.0, step=0.01)] = 1.0,
    noise_augmentation: Annotated[float, Float(min=0.0, max=1.0, step=0.01)] = 0.0,
) -> Conditioning:
    """Adds an image embedding to the conditioning for unCLIP models (SD2.1 unCLIP, SDXL revision); noise
    augmentation lets the model stray further from the image."""
    if strength == 0:
        return conditioning
    entry = {"clip_vision_output": clip_vision_output, "strength": strength, "noise_augmentation": noise_augmentation}
    return [[embedding, {**options, "unclip_conditioning": [*options.get("unclip_conditioning", []), entry]}]
            for embedding, options in conditioning]


@node(display_name="Load Style Model", category="loaders")
def StyleModelLoader(ctx: Context, style_model_name: Annotated[str, Combo(options=_style_models)]) -> STYLE_MODEL:
    """Loads a style model (models/style_models): Flux Redux."""
    from .diffusion.unclip import load_style_model

    return load_style_model(ctx.models, ctx.folders.model_path("style_models", style_model_name))


@node(display_name="Apply Style Model", category="conditioning/style_model")
def StyleModelApply(
    conditioning: Conditioning, style_model: STYLE_MODEL, clip_vision_output: CLIP_VISION_OUTPUT, *,
    strength: Annotated[float, Float(min=0.0, max=10.0, step=0.001)] = 1.0,
    strength_type: Annotated[str, Combo(options=("multiply", "attn_bias"))],
) -> Conditioning:
    """Appends the style model's tokens for an image to the text conditioning: "multiply" scales the tokens,
    "attn_bias" biases the attention towards them instead (log of the strength)."""
    import torch

    cond = style_model.get_cond(clip_vision_output).flatten(start_dim=0, end_dim=1).unsqueeze(dim=0)
    if strength_type == "multiply":
        cond = cond * strength
    count = cond.shape[1]
    out = []
    for text, options in conditioning:
        options = dict(options)
        if "attention_mask" in options or (strength_type == "attn_bias" and strength != 1.0):
            options.update(_attention_bias(text, options, count, strength if strength_type == "attn_bias" else 1.0))
        out.append([torch.cat((text, cond.to(text.dtype)), dim=1), options])
    return out


def _attention_bias(text: Any, options: dict[str, Any], count: int, strength: float) -> dict[str, Any]:
    """ComfyUI's attention mask for style tokens: the text's and the image's rows attend to the new tokens
    with bias log(strength); an existing mask is kept in its quadrants."""
    import torch

    bias = torch.log(torch.tensor([strength]))
    size = options.get("attention_mask_img_shape", (1, 1))
    n_ref, n_txt = size[0] * size[1], text.shape[1]
    mask = options.get("attention_mask")
    if mask is None:
        mask = torch.zeros((text.shape[0], n_txt + n_ref, n_txt + n_ref), dtype=torch.float16)
    if mask.dtype == torch.bool:
        mask = torch.log(mask.to(dtype=torch.float16))
    new = torch.zeros((text.shape[0], n_txt + count + n_ref, n_txt + count + n_ref), dtype=torch.float16)
    new[:, :n_txt, :n_txt] = mask[:, :n_txt, :n_txt]
    new[:, :n_txt, n_txt + count:] = mask[:, :n_txt, n_txt:]
    new[:, n_txt + count:, :n_txt] = mask[:, n_txt:, :n_txt]
    new[:, n_txt + count:, n_txt + count:] = mask[:, n_txt:, n_txt:]
    new[:, :n_txt, n_txt:n_txt + count] = bias
    new[:, n_txt + count:, n_txt:n_txt + count] = bias
    return {"attention_mask": new, "attention_mask_img_shape": size}


def _vision_of(ctx: Context, path: Any) -> Any:
    from .diffusion.clip_vision import find, load
    from .diffusion.state_dict import index_file

    return load(ctx.models, path, find(index_file(path), path.name))


@node(display_name="Load unCLIP Checkpoint", category="loaders")
def unCLIPCheckpointLoader(ctx: Context, ckpt_name: Annotated[str, Combo(options=_checkpoints)]
                           ) -> tuple[Model, Annotated[Any, Socket(type="CLIP")], Vae, CLIP_VISION]:
    """Loads an unCLIP checkpoint (SD2.1 unCLIP): the model, text encoder and VAE, and the image encoder it
    carries."""
    from .loaders import load_handles

    path = ctx.folders.model_path("checkpoints", ckpt_name)
    model, clip, vae = load_handles(ctx, path)
    return model, clip, vae, _vision_of(ctx, path)


@node(display_name="Image Only Checkpoint Loader (img2vid model)", category="loaders/video_models")
def ImageOnlyCheckpointLoader(ctx: Context, ckpt_name: Annotated[str, Combo(options=_checkpoints)]
                              ) -> tuple[Model, CLIP_VISION, Vae]:
    """Loads a checkpoint conditioned on an image rather than text (img2vid, image-to-3D): the model, the image
    encoder it carries and the VAE."""
    from .diffusion.loading import load_unet, load_vae

    path = ctx.folders.model_path("checkpoints", ckpt_name)
    return load_unet(ctx.models, path), _vision_of(ctx, path), load_vae(ctx.models, path)


NODES = [CLIPVisionLoader, CLIPVisionEncode, unCLIPConditioning, StyleModelLoader, StyleModelApply,
         unCLIPCheckpointLoader, ImageOnlyCheckpointLoader]
