"""Loader nodes: checkpoints (single file or diffusers folder), VAEs, and the CLIP layer to read.

Loaders return handles; the weights are loaded once per (file, component, dtype) into the model manager
(``ctx.models``), so a cached or repeated loader costs nothing and /free can release them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from inkgraph.engine import Clip, Combo, Context, Float, Int, Model, Output, Socket, Vae, node
from inkgraph.engine.core.devices import torch_dtype
from inkgraph.engine.core.paths import Folders, ModelFiles

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
    """Loads a standalone VAE (original layout, a full checkpoint's VAE, or diffusers keys)."""
    from diffusers import AutoencoderKL
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint

    from .diffusion.checkpoint import CheckpointError, read_state_dict, shipped_configs
    from .diffusion.handles import VaeHandle

    path = ctx.folders.model_path("vae", vae_name)
    manager = ctx.models
    key = ("vae", str(path), path.stat().st_mtime_ns, manager.policy.vae_dtype)
    if key not in manager:
        state, _ = read_state_dict(path)
        config = shipped_configs("sd15")["vae"]
        if not any(k.startswith(("encoder.", "decoder.", "first_stage_model.")) for k in state):
            raise CheckpointError(f"{vae_name} holds no VAE weights")
        vae = AutoencoderKL.from_config(config)
        converted = state if "encoder.conv_in.weight" in state and "decoder.up_blocks.0.resnets.0.conv1.weight" \
            in state else convert_ldm_vae_checkpoint(state, config)
        missing = [k for k in vae.state_dict() if k not in converted]
        if missing:
            raise CheckpointError(f"{vae_name} is not a complete SD VAE ({len(missing)} weights missing)")
        vae.load_state_dict(converted, strict=False)
        manager.add(key, vae.to(torch_dtype(manager.policy.vae_dtype)).eval().requires_grad_(False))
    return VaeHandle(manager, key)


@node(display_name="CLIP Set Last Layer", category="conditioning")
def CLIPSetLastLayer(clip: Clip, stop_at_clip_layer: Annotated[int, Int(min=-24, max=-1, step=1)] = -1) -> Clip:
    """Reads the text encoder's output from an earlier layer (-2 is the popular "clip skip 2")."""
    return clip.at_layer(stop_at_clip_layer)


NODES = [CheckpointLoaderSimple, DiffusersLoader, VAELoader, CLIPSetLastLayer]


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
