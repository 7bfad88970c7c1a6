"""Loader nodes: checkpoints (single file or diffusers folder), VAEs, and the CLIP layer to read.

Loaders return handles; the weights are loaded once per (file, component, dtype) into the model manager
(``ctx.models``), so a cached or repeated loader costs nothing and /free can release them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from inkgraph.engine import Clip, Combo, Context, Float, Int, Model, Output, Socket, Vae, node
from inkgraph.engine.core.devices import torch_dtype
from inkgraph.engine.core.paths import Folders, ModelFiles

from .diffusion.names import CLIP_TYPES, DUAL_CLIP_TYPES

MODEL_OUT = Annotated[Any, Socket(type="MODEL"), Output(tooltip="The model used for denoising latents.")]
CLIP_OUT = Annotated[Any, Socket(type="CLIP"), Output(tooltip="The CLIP model used for encoding text prompts.")]
VAE_OUT = Annotated[Any, Socket(type="VAE"), Output(
    tooltip="The VAE model used for encoding and decoding images to and from latent space.")]


_checkpoints = ModelFiles("checkpoints")


def _diffusers_folders(folders: Folders) -> list[str]:
    names = []
    for root in folders.model_dirs("diffusers"):
        if root.is_dir():
            names += [str(p.parent.relative_to(root)).replace("\\", "/") for p in root.rglob("model_index.json")]
    return sorted(set(names))


_vaes = ModelFiles("vae")


def load_handles(ctx: Context, path: Path, diffusers_folder: bool = False) -> tuple[Any, Any, Any]:
    """(MODEL, CLIP, VAE) handles for a checkpoint, loading its weights the first time."""
    import torch

    from .diffusion import checkpoint as ckpt
    from .diffusion.handles import ClipHandle, ModelHandle, VaeHandle

    manager = ctx.models
    dtype_name = manager.policy.dtype
    base = ("checkpoint", str(path), path.stat().st_mtime_ns, dtype_name)
    if not diffusers_folder:
        from .diffusion.families import detect_file
        from .diffusion.loading import CHECKPOINT_CLIP_TYPES, load_transformer_checkpoint

        detected = _DETECTED.get(base) or _DETECTED.setdefault(base, detect_file(path)[0])
        if detected.family.name in CHECKPOINT_CLIP_TYPES:
            return load_transformer_checkpoint(manager, path, detected)  # type: ignore[no-any-return]
    family = _FAMILIES.get(base)
    if family is None or base + ("unet",) not in manager:
        dtype = torch_dtype(dtype_name)
        ctx.text(f"loading {path.name}")
        components = (ckpt.load_diffusers_folder(path, dtype) if diffusers_folder
                      else ckpt.load_single_file(path, dtype, ctx.folders.temp / "model_configs"))
        if manager.policy.device.startswith("cuda"):  # convolutions run faster in NHWC on tensor cores
            components.unet = components.unet.to(memory_format=torch.channels_last)
        manager.add(base + ("unet",), components.unet)
        manager.add(base + ("vae",), components.vae.to(torch_dtype(manager.policy.vae_dtype)))
        for index, encoder in enumerate(components.text_encoders):
            manager.add(base + (f"text_encoder_{index}",), encoder)
        family = _FAMILIES[base] = components.family
    clip_keys = tuple(base + (f"text_encoder_{i}",) for i in range(len(family.text_encoders)))
    return (ModelHandle(manager, base + ("unet",), family), ClipHandle(manager, clip_keys, family),
            VaeHandle(manager, base + ("vae",)))


_FAMILIES: dict[tuple[Any, ...], Any] = {}
_DETECTED: dict[tuple[Any, ...], Any] = {}


@node(display_name="Load Checkpoint", category="loaders",
      description="Loads a diffusion model checkpoint, diffusion models are used to denoise latents.")
def CheckpointLoaderSimple(
    ctx: Context,
    ckpt_name: Annotated[str, Combo(options=_checkpoints, tooltip="The name of the checkpoint (model) to load.")],
) -> tuple[MODEL_OUT, CLIP_OUT, VAE_OUT]:
    return load_handles(ctx, ctx.folders.model_path("checkpoints", ckpt_name))


@node(display_name="DiffusersLoader", category="advanced/loaders")
def DiffusersLoader(ctx: Context, model_path: Annotated[str, Combo(options=_diffusers_folders)]
                    ) -> tuple[Model, Clip, Vae]:
    """Loads a model saved in the diffusers folder layout (models/diffusers/<name>/model_index.json)."""
    return load_handles(ctx, ctx.folders.model_path("diffusers", model_path), diffusers_folder=True)


@node(display_name="Load VAE", category="loaders")
def VAELoader(ctx: Context, vae_name: Annotated[str, Combo(options=_vaes)]) -> Vae:
    """Loads a VAE: SD's, Flux's ``ae.safetensors``, SD3's, or a checkpoint's (architecture read from the file)."""
    from .diffusion.loading import load_vae

    return load_vae(ctx.models, ctx.folders.model_path("vae", vae_name))


@node(display_name="CLIP Set Last Layer", category="conditioning")
def CLIPSetLastLayer(clip: Clip, stop_at_clip_layer: Annotated[int, Int(min=-24, max=-1, step=1)] = -1) -> Clip:
    """Reads the text encoder's output from an earlier layer (-2 is the popular "clip skip 2")."""
    return clip.at_layer(stop_at_clip_layer)


def _diffusion_models(folders: Folders) -> list[str]:
    return folders.model_files("diffusion_models")


def _text_encoders(folders: Folders) -> list[str]:
    return folders.model_files("text_encoders")


TextEncoder = Annotated[str, Combo(options=_text_encoders)]
Device = Annotated[str, Combo(options=("default", "cpu"), optional=True, extra={"advanced": True})]


@node(display_name="Load Diffusion Model", category="advanced/loaders")
def UNETLoader(ctx: Context, unet_name: Annotated[str, Combo(options=_diffusion_models)], *,
               weight_dtype: Literal["default", "fp8_e4m3fn", "fp8_e4m3fn_fast", "fp8_e5m2"]) -> Model:
    """Loads a diffusion model alone (models/diffusion_models or models/unet): SD UNets, Flux, Chroma, SD3 …
    weight_dtype fp8 stores its linear weights in one byte."""
    from .diffusion.loading import load_unet

    return load_unet(ctx.models, ctx.folders.model_path("diffusion_models", unet_name), weight_dtype)


def _clip(ctx: Context, names: list[str], clip_type: str, device: str) -> Any:
    from .diffusion.loading import load_text_encoders

    return load_text_encoders(ctx.models, [ctx.folders.model_path("text_encoders", n) for n in names], clip_type,
                              device or "default")


@node(display_name="Load CLIP", category="advanced/loaders",
      description="[Recipes]\n\nstable_diffusion: clip-l\nstable_cascade: clip-g\nsd3: t5 xxl/ clip-g / clip-l\n"
                  "stable_audio: t5 base\nmochi: t5 xxl\ncosmos: old t5 xxl\nlumina2: gemma 2 2B\nwan: umt5 xxl\n "
                  "hidream: llama-3.1 (Recommend) or t5\nomnigen2: qwen vl 2.5 3B")
def CLIPLoader(ctx: Context, clip_name: TextEncoder, type: Annotated[str, Combo(options=CLIP_TYPES)],  # noqa: A002
               device: Device = "default") -> Clip:
    return _clip(ctx, [clip_name], type, device)


@node(display_name="DualCLIPLoader", category="advanced/loaders",
      description="[Recipes]\n\nsdxl: clip-l, clip-g\nsd3: clip-l, clip-g / clip-l, t5 / clip-g, t5\n"
                  "flux: clip-l, t5\nhidream: at least one of t5 or llama, recommended t5 and llama\n"
                  "hunyuan_image: qwen2.5vl 7b and byt5 small\nnewbie: gemma-3-4b-it, jina clip v2")
def DualCLIPLoader(ctx: Context, clip_name1: TextEncoder, clip_name2: TextEncoder,
                   type: Annotated[str, Combo(options=DUAL_CLIP_TYPES)], device: Device = "default") -> Clip:  # noqa: A002
    return _clip(ctx, [clip_name1, clip_name2], type, device)


@node(display_name="TripleCLIPLoader", category="advanced/loaders",
      description="[Recipes]\n\nsd3: clip-l, clip-g, t5")
def TripleCLIPLoader(ctx: Context, clip_name1: TextEncoder, clip_name2: TextEncoder, clip_name3: TextEncoder) -> Clip:
    return _clip(ctx, [clip_name1, clip_name2, clip_name3], "sd3", "default")


NODES = [CheckpointLoaderSimple, DiffusersLoader, VAELoader, CLIPSetLastLayer, UNETLoader, CLIPLoader, DualCLIPLoader,
         TripleCLIPLoader]


_loras = ModelFiles("loras")


_LORA_FILES: dict[tuple[Any, ...], Any] = {}


def _lora_file(ctx: Context, lora_name: str) -> tuple[tuple[Any, ...], Any]:
    from .diffusion import lora

    path = ctx.folders.model_path("loras", lora_name)
    key = ("lora", str(path), path.stat().st_mtime_ns)
    if key not in _LORA_FILES:
        if len(_LORA_FILES) > 32:
            _LORA_FILES.clear()
        _LORA_FILES[key] = lora.load(path)
    return key, _LORA_FILES[key]


STRENGTH = Float(min=-100.0, max=100.0, step=0.01)


@node(display_name="Load LoRA", category="loaders",
      description="LoRAs are used to modify diffusion and CLIP models, altering the way in which latents are "
                  "denoised such as applying styles. Multiple LoRA nodes can be linked together.")
def LoraLoader(
    ctx: Context,
    model: Annotated[Any, Socket(type="MODEL", tooltip="The diffusion model the LoRA will be applied to.")],
    clip: Annotated[Any, Socket(type="CLIP", tooltip="The CLIP model the LoRA will be applied to.")],
    lora_name: Annotated[str, Combo(options=_loras, tooltip="The name of the LoRA.")],
    strength_model: Annotated[float, Float(min=-100.0, max=100.0, step=0.01, tooltip=(
        "How strongly to modify the diffusion model. This value can be negative."))] = 1.0,
    strength_clip: Annotated[float, Float(min=-100.0, max=100.0, step=0.01, tooltip=(
        "How strongly to modify the CLIP model. This value can be negative."))] = 1.0,
) -> tuple[Annotated[Any, Socket(type="MODEL"), Output(tooltip="The modified diffusion model.")],
           Annotated[Any, Socket(type="CLIP"), Output(tooltip="The modified CLIP model.")]]:
    from .diffusion.handles import Lora

    if strength_model == 0 and strength_clip == 0:
        return model, clip
    key, parsed = _lora_file(ctx, lora_name)
    return (model.with_lora(Lora(parsed, key, strength_model)) if strength_model else model,
            clip.with_lora(Lora(parsed, key, strength_clip)) if strength_clip else clip)


@node(display_name="LoraLoaderModelOnly", category="loaders")
def LoraLoaderModelOnly(ctx: Context, model: Model, lora_name: Annotated[str, Combo(options=_loras)],
                        strength_model: Annotated[float, STRENGTH] = 1.0) -> Model:
    """Applies a LoRA to the diffusion model only."""
    from .diffusion.handles import Lora

    if strength_model == 0:
        return model
    key, parsed = _lora_file(ctx, lora_name)
    return model.with_lora(Lora(parsed, key, strength_model))


NODES += [LoraLoader, LoraLoaderModelOnly]
