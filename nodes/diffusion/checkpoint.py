"""Loading Stable Diffusion checkpoints offline: single files in the original (LDM/SGM) layout and
diffusers folders, for SD1.x, SD2.x (epsilon and v-prediction) and SDXL.

The family is read from the state dict's keys; the architecture comes from a config folder shipped with
Inkgraph (``configs/``), or from the checkpoint itself when Inkgraph wrote it (CheckpointSave and the
embedded demo model store their diffusers configs in the safetensors metadata, so tiny and custom
architectures load through this same path). diffusers' own LDM → diffusers key converters do the
renaming; nothing here ever contacts a model hub.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

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
METADATA_KEY = "inkgraph.configs"  # safetensors metadata: JSON of {component: diffusers config, ...}

SD1_CLIP = "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"
SD2_CLIP = "cond_stage_model.model.ln_final.weight"
SDXL_CLIP_G = "conditioner.embedders.1.model.ln_final.weight"
SDXL_CLIP_L = "conditioner.embedders.0.transformer.text_model.embeddings.position_embedding.weight"
V_PRED_PROBE = "model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"
CONV_IN = "model.diffusion_model.input_blocks.0.0.weight"


class CheckpointError(ValueError):
    """A file that is not a checkpoint this loader understands; the message says what is wrong."""


@dataclass
class Family:
    """What kind of model a checkpoint holds, and how to drive it."""

    kind: str  # "sd1", "sd2", "sdxl"
    prediction: str  # "epsilon" or "v_prediction"
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)  # component → diffusers config

    @property
    def text_encoders(self) -> list[str]:
        return ["text_encoder", "text_encoder_2"] if self.kind == "sdxl" else ["text_encoder"]

    @property
    def latent_scale(self) -> float:
        return float(self.configs["vae"].get("scaling_factor", 0.18215))


@dataclass
class Components:
    family: Family
    unet: Any
    vae: Any
    text_encoders: list[Any]


def read_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a .safetensors file, or of a .ckpt/.pt read with ``weights_only``
    (pickled code is refused, so an untrusted .ckpt cannot run anything)."""
    if path.suffix == ".safetensors" or path.suffix == ".sft":
        from safetensors import safe_open

        tensors: dict[str, torch.Tensor] = {}
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            for key in handle.keys():
                tensors[key] = handle.get_tensor(key)
        return tensors, metadata
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors name the refused global; keep that in the message
        raise CheckpointError(f"{path.name} cannot be read safely ({exc}); convert it to .safetensors") from exc
    while isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict):
        raise CheckpointError(f"{path.name} does not contain a state dict")
    return {k: v for k, v in data.items() if isinstance(v, torch.Tensor)}, {}


def _load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def shipped_configs(name: str) -> dict[str, dict[str, Any]]:
    root = CONFIGS / name
    return {sub.name: _load_json(next(sub.glob("*config.json"))) for sub in root.iterdir()
            if sub.is_dir() and any(sub.glob("*config.json"))}


def detect_family(sd: dict[str, torch.Tensor], metadata: dict[str, str]) -> Family:
    """SD1 / SD2 (epsilon or v) / SDXL from the text encoder keys, or the configs the file carries."""
    if METADATA_KEY in metadata:
        configs = json.loads(metadata[METADATA_KEY])
        kind = configs.pop("kind", "sdxl" if "text_encoder_2" in configs else "sd1")
        prediction = configs.get("scheduler", {}).get("prediction_type", "epsilon")
        return Family(kind, prediction, configs)
    if SDXL_CLIP_G in sd:
        return Family("sdxl", "epsilon", shipped_configs("sdxl_base"))
    if SD2_CLIP in sd:
        # ComfyUI's test: v-prediction SD2 models have a markedly wider spread in this norm's bias.
        probe = sd.get(V_PRED_PROBE)
        v_pred = probe is not None and float(probe.float().std()) > 0.09
        name = "sd21_v768" if v_pred else "sd21_base512"
        return Family("sd2", "v_prediction" if v_pred else "epsilon", shipped_configs(name))
    if SD1_CLIP in sd or any(k.startswith("model.diffusion_model.") for k in sd):
        return Family("sd1", "epsilon", shipped_configs("sd15"))
    raise CheckpointError("no Stable Diffusion UNet or text encoder keys found (is this a LoRA, a VAE or an "
                          "upscaler? those have their own loader nodes)")


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


def _check_coverage(component: str, model: torch.nn.Module, loaded: dict[str, Any], path: Path) -> None:
    missing = [k for k in model.state_dict() if k not in loaded and not k.endswith("position_ids")]
    if missing:
        raise CheckpointError(f"{path.name}: the {component} is incomplete ({len(missing)} weights missing, e.g. "
                              f"{missing[0]}); the file may be truncated or not a full checkpoint")


def _build(cls: Any, config: dict[str, Any], state: dict[str, Any], dtype: torch.dtype, component: str,
           path: Path) -> Any:
    """Instantiate without random init (meta tensors, then assign the weights); verify every weight.

    Random initialisation of a full SD UNet takes several seconds on a CPU only to be overwritten.
    """
    with torch.device("meta"):
        model = cls.from_config(config)
    _check_coverage(component, model, state, path)
    model.load_state_dict(state, strict=False, assign=True)
    if any(t.is_meta for t in list(model.parameters()) + list(model.buffers())):
        model = cls.from_config(config)  # something the state dict does not hold: initialise for real
        model.load_state_dict(state, strict=False)
    return model.to(dtype).eval().requires_grad_(False)


def load_single_file(path: Path, dtype: torch.dtype, cache_root: Path) -> Components:
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from diffusers.loaders.single_file_utils import (
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
        create_diffusers_clip_model_from_ldm,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    _quiet_libraries()
    sd, metadata = read_state_dict(path)
    family = detect_family(sd, metadata)
    unet_config = dict(family.configs["unet"])
    if CONV_IN in sd:  # inpainting checkpoints take 9 input channels
        unet_config["in_channels"] = int(sd[CONV_IN].shape[1])
    unet = _build(UNet2DConditionModel, unet_config,
                  convert_ldm_unet_checkpoint(sd, unet_config), dtype, "UNet", path)
    vae = _build(AutoencoderKL, family.configs["vae"],
                 convert_ldm_vae_checkpoint(sd, family.configs["vae"]), torch.float32 if dtype == torch.float16
                 and family.configs["vae"].get("force_upcast") else dtype, "VAE", path)
    config_dir = _config_dir(family, cache_root)
    encoders = []
    for index, name in enumerate(family.text_encoders):
        cls = CLIPTextModelWithProjection if index == 1 else CLIPTextModel
        try:
            encoder = create_diffusers_clip_model_from_ldm(cls, sd, subfolder=name, config=str(config_dir),
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
