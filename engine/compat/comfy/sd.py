"""``comfy.sd`` for ComfyUI packs: the CLIP and VAE classes and the model loaders, over Inkgraph's loaders.

``load_checkpoint_guess_config``, ``load_diffusion_model``, ``load_clip`` and ``load_lora_for_models`` load
through the same code as CheckpointLoaderSimple, UNETLoader, CLIPLoader and LoraLoader (weights owned by the
model manager, loaded once per file), and return ComfyUI's objects: a ``ModelPatcher``, a :class:`CLIP`, a
:class:`VAE` (facades over the handles; the built-in nodes receive the handles back).
"""

from __future__ import annotations

import uuid
from enum import Enum
from pathlib import Path
from typing import Any

from ..stubs import Unavailable, comfy_attribute
from ._clip import CLIP
from ._vae import VAE

__all__ = ["CLIP", "VAE", "CLIPType", "load_checkpoint", "load_checkpoint_guess_config", "load_clip",
           "load_controlnet", "load_diffusion_model", "load_lora_for_models"]


class CLIPType(Enum):
    STABLE_DIFFUSION = 1
    STABLE_CASCADE = 2
    SD3 = 3
    STABLE_AUDIO = 4
    HUNYUAN_DIT = 5
    FLUX = 6
    MOCHI = 7
    LTXV = 8
    HUNYUAN_VIDEO = 9
    PIXART = 10
    COSMOS = 11
    LUMINA2 = 12
    WAN = 13
    HIDREAM = 14
    CHROMA = 15
    ACE = 16
    OMNIGEN2 = 17
    QWEN_IMAGE = 18
    HUNYUAN_IMAGE = 19


def _context() -> Any:
    from ._sampling import context

    return context()


def _facades(*values: Any) -> tuple[Any, ...]:
    from ..values import to_comfy

    return tuple(to_comfy(v) for v in values)


def load_checkpoint_guess_config(ckpt_path: str, output_vae: bool = True, output_clip: bool = True,
                                 output_clipvision: bool = False, embedding_directory: Any = None,
                                 output_model: bool = True, model_options: dict[str, Any] | None = None,
                                 te_model_options: dict[str, Any] | None = None) -> tuple[Any, Any, Any, Any]:
    """(MODEL, CLIP, VAE, CLIP vision) of a checkpoint file, as CheckpointLoaderSimple loads it (no CLIP vision)."""
    from inkgraph.nodes.loaders import load_handles

    if output_clipvision:
        raise Unavailable("ComfyUI's comfy.sd.load_checkpoint_guess_config(output_clipvision=True) is not available "
                          "in Inkgraph yet")
    path = Path(ckpt_path)
    model, clip, vae = load_handles(_context(), path, diffusers_folder=path.is_dir())
    model, clip, vae = _facades(model, clip, vae)
    return (model if output_model else None, clip if output_clip else None, vae if output_vae else None, None)


def load_checkpoint(config_path: Any = None, ckpt_path: str | None = None, output_vae: bool = True,
                    output_clip: bool = True, embedding_directory: Any = None, state_dict: Any = None,
                    config: Any = None) -> tuple[Any, Any, Any]:
    if ckpt_path is None:
        raise Unavailable("ComfyUI's comfy.sd.load_checkpoint from a state dict is not available in Inkgraph yet")
    model, clip, vae, _ = load_checkpoint_guess_config(ckpt_path, output_vae, output_clip)
    return model, clip, vae


_WEIGHT_DTYPES = {"float8_e4m3fn": "fp8_e4m3fn", "float8_e5m2": "fp8_e5m2"}


def load_diffusion_model(unet_path: str, model_options: dict[str, Any] | None = None) -> Any:
    """A diffusion model file as UNETLoader loads it (``model_options["dtype"]`` fp8 keeps linear weights in fp8)."""
    from inkgraph.nodes.diffusion.loading import load_unet

    dtype = (model_options or {}).get("dtype")
    weight_dtype = "default" if dtype is None else _WEIGHT_DTYPES.get(str(dtype).removeprefix("torch."))
    if weight_dtype is None:
        raise Unavailable(f"ComfyUI's comfy.sd.load_diffusion_model with dtype {dtype} is not available in Inkgraph "
                          "yet")
    if (model_options or {}).get("fp8_optimizations"):
        weight_dtype = "fp8_e4m3fn_fast"
    return _facades(load_unet(_context().models, Path(unet_path), weight_dtype))[0]


def load_clip(ckpt_paths: list[str], embedding_directory: Any = None, clip_type: Any = CLIPType.STABLE_DIFFUSION,
              model_options: dict[str, Any] | None = None) -> CLIP:
    """Text encoder files as CLIPLoader / DualCLIPLoader load them for a CLIP type."""
    from inkgraph.nodes.diffusion.loading import load_text_encoders

    name = clip_type.name.lower() if isinstance(clip_type, Enum) else str(clip_type)
    if name == "stable_diffusion" and len(ckpt_paths) == 2:
        name = "sdxl"  # DualCLIPLoader's sdxl type is ComfyUI's STABLE_DIFFUSION with two files
    device = "cpu" if str((model_options or {}).get("load_device", "")) == "cpu" else "default"
    handle = load_text_encoders(_context().models, [Path(p) for p in ckpt_paths], name, device)
    clip: CLIP = _facades(handle)[0]
    return clip


def load_lora_for_models(model: Any, clip: Any, lora: dict[str, Any], strength_model: float, strength_clip: float,
                         lora_metadata: Any = None) -> tuple[Any, Any]:
    """A LoRA state dict (``comfy.utils.load_torch_file``) applied as LoraLoader applies a file: clones of the
    MODEL and CLIP with one more LoRA each (None stays None)."""
    from inkgraph.nodes.diffusion import lora as lora_files
    from inkgraph.nodes.diffusion.handles import Lora

    parsed = lora_files.parse(lora, "a LoRA given to comfy.sd.load_lora_for_models")
    key = ("lora-state-dict", uuid.uuid4().hex)
    new_model = new_clip = None
    if model is not None:
        new_model = model.clone()
        if strength_model:
            new_model.add_lora(Lora(parsed, key, strength_model))
    if clip is not None:
        new_clip = clip.clone()
        if strength_clip:
            new_clip.add_lora(Lora(parsed, key, strength_clip))
    return new_model, new_clip


def load_controlnet(ckpt_path: str, model: Any = None) -> Any:
    """ComfyUI's older name for ``comfy.controlnet.load_controlnet``."""
    from .controlnet import load_controlnet as load

    return load(ckpt_path, model)


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.sd", name)
