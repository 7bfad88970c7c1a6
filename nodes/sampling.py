"""KSampler and KSamplerAdvanced with ComfyUI's inputs, sampler names and scheduler names."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from inkgraph.engine import Combo, Context, Float, Int, Output, Socket, node

from .diffusion.names import SAMPLER_NAMES, SCHEDULER_NAMES

SEED = Int(min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
           tooltip="The random seed used for creating the noise.")
LatentOut = Annotated[dict[str, Any], Socket(type="LATENT"), Output(tooltip="The denoised latent.")]


def _check(ctx: Context, positive: Any, negative: Any) -> None:
    for name, value in (("positive", positive), ("negative", negative)):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{name} conditioning is empty; connect a CLIP Text Encode node")


@node(display_name="KSampler", category="sampling",
      description="Uses the provided model, positive and negative conditioning to denoise the latent image.")
def KSampler(
    ctx: Context,
    model: Annotated[Any, Socket(type="MODEL", tooltip="The model used for denoising the input latent.")],
    seed: Annotated[int, SEED] = 0,
    steps: Annotated[int, Int(min=1, max=10000, tooltip="The number of steps used in the denoising process.")] = 20,
    cfg: Annotated[float, Float(min=0.0, max=100.0, step=0.1, round=0.01, tooltip=(
        "The Classifier-Free Guidance scale balances creativity and adherence to the prompt. Higher values "
        "result in images more closely matching the prompt however too high values will negatively impact "
        "quality."))] = 8.0,
    *,
    sampler_name: Annotated[str, Combo(options=SAMPLER_NAMES, tooltip=(
        "The algorithm used when sampling, this can affect the quality, speed, and style of the generated "
        "output."))],
    scheduler: Annotated[str, Combo(options=SCHEDULER_NAMES, tooltip=(
        "The scheduler controls how noise is gradually removed to form the image."))],
    positive: Annotated[list[Any], Socket(type="CONDITIONING", tooltip=(
        "The conditioning describing the attributes you want to include in the image."))],
    negative: Annotated[list[Any], Socket(type="CONDITIONING", tooltip=(
        "The conditioning describing the attributes you want to exclude from the image."))],
    latent_image: Annotated[dict[str, Any], Socket(type="LATENT", tooltip="The latent image to denoise.")],
    denoise: Annotated[float, Float(min=0.0, max=1.0, step=0.01, tooltip=(
        "The amount of denoising applied, lower values will maintain the structure of the initial image "
        "allowing for image to image sampling."))] = 1.0,
) -> LatentOut:
    from .diffusion.ksampler import sample

    _check(ctx, positive, negative)
    return sample(ctx, model, seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise)


@node(display_name="KSampler (Advanced)", category="sampling")
def KSamplerAdvanced(
    ctx: Context,
    model: Annotated[Any, Socket(type="MODEL")],
    *,
    add_noise: Literal["enable", "disable"],
    noise_seed: Annotated[int, Int(min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True)] = 0,
    steps: Annotated[int, Int(min=1, max=10000)] = 20,
    cfg: Annotated[float, Float(min=0.0, max=100.0, step=0.1, round=0.01)] = 8.0,
    sampler_name: Annotated[str, Combo(options=SAMPLER_NAMES)],
    scheduler: Annotated[str, Combo(options=SCHEDULER_NAMES)],
    positive: Annotated[list[Any], Socket(type="CONDITIONING")],
    negative: Annotated[list[Any], Socket(type="CONDITIONING")],
    latent_image: Annotated[dict[str, Any], Socket(type="LATENT")],
    start_at_step: Annotated[int, Int(min=0, max=10000)] = 0,
    end_at_step: Annotated[int, Int(min=0, max=10000)] = 10000,
    return_with_leftover_noise: Literal["disable", "enable"],
) -> Annotated[dict[str, Any], Socket(type="LATENT")]:
    """Samples a range of steps (start_at_step to end_at_step), optionally without adding noise or leaving
    the remaining noise in place, to chain samplers (a base and a refiner, say)."""
    from .diffusion.ksampler import sample

    _check(ctx, positive, negative)
    return sample(ctx, model, noise_seed, steps, cfg, sampler_name, scheduler, positive, negative, latent_image,
                  1.0, disable_noise=add_noise == "disable", start_step=start_at_step, last_step=end_at_step,
                  force_full_denoise=return_with_leftover_noise == "disable")


@node(display_name="TorchCompileModel", category="_for_testing", experimental=True)
def TorchCompileModel(model: Annotated[Any, Socket(type="MODEL")],
                      backend: Literal["inductor", "cudagraphs"] = "inductor") -> Annotated[Any, Socket(type="MODEL")]:
    """Compiles the diffusion model with torch.compile (the first sampling run pays the compile time)."""
    from dataclasses import replace

    return replace(model, compile_backend=backend)


NODES = [KSampler, KSamplerAdvanced, TorchCompileModel]
