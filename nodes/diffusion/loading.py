"""Loading the parts of a model separately (ComfyUI's UNETLoader, CLIPLoader, DualCLIPLoader,
TripleCLIPLoader, VAELoader) and all-in-one checkpoints of the transformer families, into handles whose
weights the model manager owns: each is loaded once per (file, its date, dtype …) and reused.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from inkgraph.engine.core.devices import ModelManager, torch_dtype

from .families.base import Family
from .handles import ClipHandle, ModelHandle, VaeHandle

log = logging.getLogger(__name__)


def _stamp(path: Path) -> tuple[str, int]:
    return str(path), path.stat().st_mtime_ns


def _family(detected: Any) -> Family:
    flow = detected.family.name in ("flux", "chroma", "sd3") or detected.family.latent.channels != 4
    return Family(detected.family.name, "flow" if flow else "epsilon", {}, detected)


def load_unet(manager: ModelManager, path: Path, weight_dtype: str = "default") -> ModelHandle:
    """A diffusion model file (UNETLoader): its family and architecture read from the tensors; linear
    weights stored in fp8 when ``weight_dtype`` asks (fp8 files keep their fp8 weights either way)."""
    from .families import detect_file, load_diffusion_model
    from .weights import WEIGHT_DTYPES

    if weight_dtype not in WEIGHT_DTYPES:
        raise ValueError(f"weight_dtype {weight_dtype!r} is not one of {', '.join(WEIGHT_DTYPES)}")
    dtype_name = manager.policy.dtype
    key = ("diffusion_model", *_stamp(path), dtype_name, weight_dtype)
    detected = _DETECTED.get(key[:3])
    if detected is None:
        detected, _ = detect_file(path)
        _DETECTED[key[:3]] = detected
    if key not in manager:
        model, _ = load_diffusion_model(path, torch_dtype(dtype_name), WEIGHT_DTYPES[weight_dtype], detected)
        manager.add(key, model)
        log.info("loaded %s (%s %s)", path.name, detected.family.name, detected.variant)
    return ModelHandle(manager, key, _family(detected))


_DETECTED: dict[tuple[Any, ...], Any] = {}  # (kind, file, date) → its detection (read from the header once)


def load_text_encoders(manager: ModelManager, paths: list[Path], clip_type: str, device: str = "default"
                       ) -> ClipHandle:
    """Text encoder files (CLIPLoader and its Dual/Triple forms) for a CLIP type: every encoder the files
    hold (a repackaged single file holds one), checked against what the type takes."""
    from .encoders import files, recipe

    dtype_name = "fp32" if device == "cpu" else manager.policy.dtype  # CPUs compute half precision slowly
    keys: list[Hashable] = []
    slots: list[str] = []
    found = [(path, detected) for path in paths for detected in files.find_file(path)]
    if len(found) == 1:  # ComfyUI picks some encoders' recipe from the file itself
        clip_type = found[0][1].kind.recipe_for(clip_type) or clip_type
    chosen = recipe(clip_type)
    for path, detected in found:
        slot = detected.kind.name
        if slot in slots:
            raise ValueError(f"{path.name}: a second {slot} text encoder; each encoder may be given once")
        key = ("text_encoder", *_stamp(path), detected.prefix, dtype_name, device)
        if key not in manager:
            encoder = files.load(path, detected, torch_dtype(dtype_name))
            manager.add(key, encoder.eval().requires_grad_(False))
            log.info("loaded %s (%s)", path.name, slot)
        keys.append(key)
        slots.append(slot)
    chosen.check(slots, ", ".join(p.name for p in paths))
    return ClipHandle(manager, tuple(keys), Family(clip_type), recipe=clip_type, slots=tuple(slots), device=device)


def load_vae(manager: ModelManager, path: Path) -> VaeHandle:
    """A VAE file (or a checkpoint's VAE) with the architecture its tensors show."""
    from . import vae_files

    key = ("vae", *_stamp(path), manager.policy.vae_dtype)
    if key not in manager:
        manager.add(key, vae_files.load(path, torch_dtype(manager.policy.vae_dtype)).eval().requires_grad_(False))
    return VaeHandle(manager, key)


# the CLIP type ComfyUI gives an all-in-one checkpoint of a transformer family
CHECKPOINT_CLIP_TYPES = {"ltxv": "ltxv", "flux": "flux", "chroma": "chroma", "sd3": "sd3", "lumina2": "lumina2",
                         "z_image": "lumina2", "flux2": "flux2"}


def load_transformer_checkpoint(manager: ModelManager, path: Path, detected: Any) -> tuple[Any, Any, Any]:
    """(MODEL, CLIP, VAE) of an all-in-one file of a transformer family (``flux1-dev-fp8.safetensors``,
    ``sd3.5_large_fp8_scaled.safetensors``): the diffusion model under ``model.diffusion_model.``, the text
    encoders under ``text_encoders.<slot>.transformer.``, the VAE under ``vae.`` or ``first_stage_model.``.
    A part the file lacks is None (ComfyUI's CLIP/VAE outputs then fail where they are used)."""
    from .encoders import files
    from .state_dict import ModelFileError, index_file

    model = load_unet(manager, path)
    index = index_file(path)
    clip = None
    encoders = [d for d in _quiet(lambda: files.find(index, path.name)) or [] if d.prefix.startswith("text_encoders.")]
    if encoders:
        clip_type = CHECKPOINT_CLIP_TYPES[detected.family.name]
        dtype_name = manager.policy.dtype
        keys, slots = [], []
        for found in encoders:
            key = ("text_encoder", *_stamp(path), found.prefix, dtype_name, "default")
            if key not in manager:
                manager.add(key, files.load(path, found, torch_dtype(dtype_name)).eval().requires_grad_(False))
            keys.append(key)
            slots.append(found.kind.name)
        clip = ClipHandle(manager, tuple(keys), Family(clip_type), recipe=clip_type, slots=tuple(slots))
    vae = None
    try:
        vae = load_vae(manager, path)
    except ModelFileError:
        log.warning("%s has no VAE", path.name)
    return model, clip, vae


def _quiet(call: Any) -> Any:
    from .state_dict import ModelFileError

    try:
        return call()
    except ModelFileError:
        return None
