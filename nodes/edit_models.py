"""Editing and inpainting with the model's own inputs (ComfyUI's nodes): reference latents for edit models
(Flux Kontext), Kontext's preferred image sizes, inpainting conditioning for models that take the masked
image (Flux Fill, SD inpainting models), and Differential Diffusion's soft masks.
"""

from __future__ import annotations

from typing import Annotated, Any

from inkgraph.engine import Boolean, Combo, Conditioning, Context, Float, Image, Mask, Model, Output, Socket, Vae, node

# Flux Kontext's training sizes (ComfyUI's PREFERED_KONTEXT_RESOLUTIONS), width × height
KONTEXT_SIZES = ((672, 1568), (688, 1504), (720, 1456), (752, 1392), (800, 1328), (832, 1248), (880, 1184),
                 (944, 1104), (1024, 1024), (1104, 944), (1184, 880), (1248, 832), (1328, 800), (1392, 752),
                 (1456, 720), (1504, 688), (1568, 672))


@node(category="advanced/conditioning/edit_models",
      description="This node sets the guiding latent for an edit model. If the model supports it you can chain "
                  "multiple to set multiple reference images.")
def ReferenceLatent(conditioning: Conditioning,
                    latent: Annotated[dict[str, Any] | None, Socket(type="LATENT", optional=True)] = None
                    ) -> Conditioning:
    if latent is None:
        return conditioning
    out = []
    for embedding, options in conditioning:
        extra = dict(options)
        extra["reference_latents"] = [*options.get("reference_latents", []), latent["samples"]]
        out.append([embedding, extra])
    return out


@node(category="advanced/conditioning/flux",
      description="This node resizes the image to one that is more optimal for flux kontext.")
def FluxKontextImageScale(image: Image) -> Image:
    from .image_utils import resize_image

    aspect = image.shape[2] / image.shape[1]
    _, width, height = min((abs(aspect - w / h), w, h) for w, h in KONTEXT_SIZES)
    return resize_image(image, width, height, "lanczos", "center")


@node(display_name="Edit Model Reference Method", category="advanced/conditioning/flux")
def FluxKontextMultiReferenceLatentMethod(
    conditioning: Conditioning,
    reference_latents_method: Annotated[str, Combo(options=("offset", "index", "uxo/uno", "index_timestep_zero"),
                                                   extra={"advanced": True})],
) -> Conditioning:
    """Where an edit model places several reference latents: beside each other (offset, Kontext's), one
    index each (index), or past the image (uxo/uno, USO)."""
    if "uxo" in reference_latents_method or "uso" in reference_latents_method:
        reference_latents_method = "uxo"
    return [[embedding, {**options, "reference_latents_method": reference_latents_method}]
            for embedding, options in conditioning]


@node(category="conditioning/inpaint")
def InpaintModelConditioning(
    positive: Conditioning, negative: Conditioning, vae: Vae, pixels: Image, mask: Mask,
    noise_mask: Annotated[bool, Boolean(tooltip=(
        "Add a noise mask to the latent so sampling will only happen within the mask. Might improve results or "
        "completely break things depending on the model."))] = True,
) -> tuple[Annotated[list[Any], Socket(type="CONDITIONING"), Output("positive")],
           Annotated[list[Any], Socket(type="CONDITIONING"), Output("negative")],
           Annotated[dict[str, Any], Socket(type="LATENT"), Output("latent")]]:
    """Conditions an inpainting model (Flux Fill, SD inpainting) on the image with the masked part greyed out
    and on the mask; the latent is the whole image's, with the mask as its noise mask."""
    import torch.nn.functional as F  # noqa: N812

    from .diffusion.vae_ops import encode

    height, width = (pixels.shape[1] // 8) * 8, (pixels.shape[2] // 8) * 8
    mask = F.interpolate(mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1])).float(),
                         size=(pixels.shape[1], pixels.shape[2]), mode="bilinear")
    original = pixels
    pixels = pixels.clone()
    if pixels.shape[1] != height or pixels.shape[2] != width:
        dy, dx = (pixels.shape[1] % 8) // 2, (pixels.shape[2] % 8) // 2
        pixels = pixels[:, dy:height + dy, dx:width + dx, :]
        mask = mask[:, :, dy:height + dy, dx:width + dx]
    keep = (1.0 - mask.round()).squeeze(1)[..., None]
    pixels = (pixels[..., :3] - 0.5) * keep + 0.5
    with vae.use() as model:
        concat_latent = encode(model, pixels)
        latent = encode(model, original)
    out_latent: dict[str, Any] = {"samples": latent}
    if noise_mask:
        out_latent["noise_mask"] = mask
    extra = {"concat_latent_image": concat_latent, "concat_mask": mask}
    return ([[e, {**o, **extra}] for e, o in positive], [[e, {**o, **extra}] for e, o in negative], out_latent)


@node(category="conditioning/instructpix2pix")
def InstructPixToPixConditioning(
    ctx: Context, positive: Conditioning, negative: Conditioning, vae: Vae, pixels: Image,
) -> tuple[Annotated[list[Any], Socket(type="CONDITIONING"), Output("positive")],
           Annotated[list[Any], Socket(type="CONDITIONING"), Output("negative")],
           Annotated[dict[str, Any], Socket(type="LATENT"), Output("latent")]]:
    """Conditions an instruction-editing model (InstructPix2Pix, HiDream E1) on the image: its latent (sides
    centre-cropped to multiples of 8) joins both conditionings as the concatenated image; the latent to
    sample is zeros of the same shape."""
    import torch

    from .diffusion.vae_ops import encode

    with vae.use() as model:
        concat_latent = encode(model, pixels, ctx.check_interrupted)
    extra = {"concat_latent_image": concat_latent}
    return ([[e, {**o, **extra}] for e, o in positive], [[e, {**o, **extra}] for e, o in negative],
            {"samples": torch.zeros_like(concat_latent)})


def _differential_mask(strength: float) -> Any:
    def mask_function(sigma: Any, denoise_mask: Any, extra_options: dict[str, Any]) -> Any:
        # ComfyUI's signature: extra_options holds the running model and the run's sigmas
        model_sampling, sigmas = extra_options["model"].inner_model.model_sampling, extra_options["sigmas"]
        sigma_to = model_sampling.sigma_min
        if sigmas[-1] > sigma_to:
            sigma_to = sigmas[-1]
        ts_from = model_sampling.timestep(sigmas[0])
        ts_to = model_sampling.timestep(sigma_to)
        current = model_sampling.timestep(sigma[0])
        threshold = (current - ts_to) / (ts_from - ts_to)
        binary = (denoise_mask >= threshold).to(denoise_mask.dtype)
        if strength and strength < 1:
            return strength * binary + (1 - strength) * denoise_mask
        return binary

    return mask_function


@node(display_name="Differential Diffusion", category="_for_testing")
def DifferentialDiffusion(model: Model, strength: Annotated[float, Float(min=0.0, max=1.0, step=0.01,
                                                                          optional=True)] = 1.0) -> Model:
    """Inpainting with a soft mask: a cell is repainted while the noise level is above its mask value
    (mask 1: all steps, 0.5: the first half), blended with the mask itself at strength below 1."""
    return model.with_options(model.model_options.with_option("denoise_mask_function", _differential_mask(strength)))


NODES = [ReferenceLatent, FluxKontextImageScale, FluxKontextMultiReferenceLatentMethod, InpaintModelConditioning,
         InstructPixToPixConditioning, DifferentialDiffusion]
