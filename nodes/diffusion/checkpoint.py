"""Loading Stable Diffusion all-in-one checkpoints offline: single files in the original (LDM/SGM) layout
and diffusers folders, for SD1.x, SD2.x (epsilon and v-prediction) and SDXL.

The UNet's family and architecture come from the model-family registry (``families/``), read from its
tensors; the VAE and text encoders use the configs shipped with Inkgraph (``configs/``), or those the
checkpoint carries when Inkgraph wrote it (CheckpointSave and the embedded demo model store their
diffusers configs in the safetensors metadata). diffusers' own LDM → diffusers key converters do the
renaming; nothing here ever contacts a model hub.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .families.base import Detected, Family
from .families.sd import METADATA_KEY
from .state_dict import ModelFileError, read_state_dict
from .weights import assemble

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # read by huggingface_hub at import: never reach a hub

log = logging.getLogger(__name__)


def _quiet_libraries() -> None:
    """diffusers and transformers warn about accelerate and dtype casts on every load; we check weights
    ourselves and log what matters."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()


CONFIGS = Path(__file__).resolve().parent / "configs"
CheckpointError = ModelFileError  # a file this loader cannot use; the message says what is wrong
SHIPPED = {"sd1": "sd15", "sd2": "sd21_base512", "sdxl": "sdxl_base"}  # kind → its shipped diffusers configs


@dataclass
class Components:
    family: Family
    unet: Any
    vae: Any
    text_encoders: list[Any]


def _load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def shipped_configs(name: str) -> dict[str, dict[str, Any]]:
    root = CONFIGS / name
    return {sub.name: _load_json(next(sub.glob("*config.json"))) for sub in root.iterdir()
            if sub.is_dir() and any(sub.glob("*config.json"))}


def family_for(detected: Detected, metadata: dict[str, str]) -> Family:
    """The SD family record the text encoders, VAE and samplers read, from the registry's detection: the
    UNet's architecture as read from the tensors; the rest from the file's own configs (files Inkgraph
    wrote) or the shipped ones."""
    kind = detected.family.name
    if METADATA_KEY in metadata:
        configs = json.loads(metadata[METADATA_KEY])
        configs.pop("kind", None)
    else:
        configs = shipped_configs("sd21_v768" if kind == "sd2" and detected.variant == "v" else SHIPPED[kind])
        configs["unet"] = detected.config
    if detected.variant == "v":
        configs["scheduler"] = {**configs.get("scheduler", {}), "prediction_type": "v_prediction"}
    prediction = configs.get("scheduler", {}).get("prediction_type", "epsilon")
    return Family(kind, prediction, configs, detected)


def _config_dir(family: Family, cache_root: Path) -> Path:
    """A diffusers-layout folder holding the family's configs (written once per distinct config)."""
    blob = json.dumps(family.configs, sort_keys=True).encode()
    root = cache_root / hashlib.sha256(blob).hexdigest()[:16]
    if not (root / "done").exists():
        for component, config in family.configs.items():
            (root / component).mkdir(parents=True, exist_ok=True)
            name = "scheduler_config.json" if component == "scheduler" else "config.json"
            (root / component / name).write_text(json.dumps(config, indent=1), encoding="utf-8")
        (root / "done").write_text("")
    return root


def load_single_file(path: Path, dtype: torch.dtype, cache_root: Path) -> Components:
    """An SD1/SD2/SDXL all-in-one checkpoint: the UNet through the family registry (architecture read
    from its tensors), then the VAE and text encoders from the rest of the file."""
    from diffusers import AutoencoderKL
    from diffusers.loaders.single_file_utils import convert_ldm_vae_checkpoint, create_diffusers_clip_model_from_ldm
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    from .families import detect_file, load_diffusion_model

    _quiet_libraries()
    detected, index = detect_file(path)
    if detected.family.name not in SHIPPED:
        raise CheckpointError(f"{path.name} holds a {detected.family.name} model, which this loader does not "
                              "read as an all-in-one checkpoint")
    family = family_for(detected, index.metadata)
    unet, _ = load_diffusion_model(path, dtype, detected=detected)
    rest, _ = read_state_dict(path, keys=lambda key: not key.startswith(detected.prefix))
    vae_dtype = torch.float32 if dtype == torch.float16 and family.configs["vae"].get("force_upcast") else dtype
    vae = assemble(AutoencoderKL, family.configs["vae"], convert_ldm_vae_checkpoint(rest, family.configs["vae"]),
                   vae_dtype, "VAE", path.name)
    config_dir = _config_dir(family, cache_root)
    encoders = []
    for position, name in enumerate(family.text_encoders):
        cls = CLIPTextModelWithProjection if position == 1 or family.kind == "sdxl_refiner" else CLIPTextModel
        try:
            encoder = create_diffusers_clip_model_from_ldm(cls, rest, subfolder=name, config=str(config_dir),
                                                           torch_dtype=dtype, local_files_only=True)
        except Exception as exc:
            raise CheckpointError(f"{path.name}: the text encoder could not be read ({exc})") from exc
        encoders.append(encoder.eval().requires_grad_(False))
    log.info("loaded %s (%s, %s)", path.name, family.kind, family.prediction)
    return Components(family, unet, vae, encoders)


def load_diffusers_folder(path: Path, dtype: torch.dtype) -> Components:
    """A diffusers-format model folder (model_index.json, unet/, vae/, text_encoder*/)."""
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    _quiet_libraries()
    index = _load_json(path / "model_index.json")
    kind = "sdxl" if "text_encoder_2" in index else "sd1"
    configs = {name: _load_json(next((path / name).glob("*config.json")))
               for name in ("unet", "vae", "text_encoder", "text_encoder_2", "scheduler") if (path / name).is_dir()}
    if kind == "sd1" and configs["unet"].get("cross_attention_dim") == 1024:
        kind = "sd2"
    family = Family(kind, configs.get("scheduler", {}).get("prediction_type", "epsilon"), configs)
    unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet", torch_dtype=dtype, local_files_only=True)
    vae = AutoencoderKL.from_pretrained(path, subfolder="vae", torch_dtype=dtype, local_files_only=True)
    encoders = [CLIPTextModel.from_pretrained(path, subfolder="text_encoder", torch_dtype=dtype,
                                              local_files_only=True)]
    if kind == "sdxl":
        encoders.append(CLIPTextModelWithProjection.from_pretrained(path, subfolder="text_encoder_2",
                                                                    torch_dtype=dtype, local_files_only=True))
    return Components(family, unet.eval().requires_grad_(False), vae.eval().requires_grad_(False),
                      [e.eval().requires_grad_(False) for e in encoders])
