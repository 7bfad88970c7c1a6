"""The demo model's shape: a Stable-Diffusion-1-style UNet, VAE and CLIP text encoder, small enough to train
on a CPU, written as an ordinary single-file checkpoint; and a Real-ESRGAN "Compact" 4× upscaler.

Everything here is a standard diffusers / transformers / spandrel class with a small config, so the loaders
that read real checkpoints read this one (the configs travel in the file's metadata, as CheckpointSave
writes them). 128×128 images ↔ 16×16×4 latents (the VAE downsamples 8×, as EmptyLatentImage assumes).

Few, wide normalisation groups on purpose: GroupNorm removes each group's mean, and in flat-colour scenes
the colour *is* the mean, so it must survive as a pattern across the channels of a group; with one or two
channels per group it cannot, and training stalls on washed-out colours. The VAE uses one group (every
channel normalised together: colour survives as a pattern across all of them); the UNet, which sees
latents rather than colours, uses eight.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

CHECKPOINT_NAME = "inkgraph-demo.safetensors"
UPSCALER_NAME = "inkgraph-demo-4x.safetensors"
IMAGE_SIZE = 128
TEXT_WIDTH = 64

UNET_CONFIG: dict[str, Any] = {
    "sample_size": IMAGE_SIZE // 8, "in_channels": 4, "out_channels": 4, "layers_per_block": 1,
    "block_out_channels": [32, 64, 64],
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "cross_attention_dim": TEXT_WIDTH, "attention_head_dim": 8, "norm_num_groups": 8,
}
VAE_CONFIG: dict[str, Any] = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 1,
    "block_out_channels": [16, 32, 64, 64], "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4, "norm_num_groups": 1, "sample_size": IMAGE_SIZE,
    "scaling_factor": 1.0,  # set from the trained VAE's latent spread before the UNet trains
}
TEXT_CONFIG: dict[str, Any] = {
    "hidden_size": TEXT_WIDTH, "intermediate_size": 4 * TEXT_WIDTH, "num_attention_heads": 4,
    "num_hidden_layers": 2, "vocab_size": 49408, "max_position_embeddings": 77, "projection_dim": TEXT_WIDTH,
    "hidden_act": "quick_gelu", "bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407,
}
SCHEDULER_CONFIG: dict[str, Any] = {
    "_class_name": "EulerDiscreteScheduler", "num_train_timesteps": 1000, "beta_start": 0.00085,
    "beta_end": 0.012, "beta_schedule": "scaled_linear", "prediction_type": "v_prediction",
}
UPSCALER_CONFIG: dict[str, Any] = {"num_in_ch": 3, "num_out_ch": 3, "num_feat": 24, "num_conv": 8, "upscale": 4,
                                   "act_type": "prelu"}


def build_unet() -> Any:
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(**UNET_CONFIG)


def build_vae(scaling_factor: float = 1.0) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(**{**VAE_CONFIG, "scaling_factor": scaling_factor})


def build_text_encoder() -> Any:
    from transformers import CLIPTextConfig, CLIPTextModel

    return CLIPTextModel(CLIPTextConfig(**TEXT_CONFIG))


def build_upscaler() -> torch.nn.Module:
    from spandrel.architectures.Compact import Compact

    return Compact(**UPSCALER_CONFIG)


def checkpoint_state(unet: Any, vae: Any, text_encoder: Any, used_tokens: Iterable[int]) -> dict[str, torch.Tensor]:
    """The three models in the original single-file layout, fp16. Token-embedding rows the prompts never
    used are zeroed: they were never trained, and zeros keep the committed file compressible."""
    from inkgraph.nodes.diffusion.ldm_format import (
        clip_hf_to_ldm,
        unet_diffusers_to_ldm,
        vae_diffusers_to_ldm,
    )

    text_state = dict(text_encoder.state_dict())
    embedding_key = next(k for k in text_state if k.endswith("token_embedding.weight"))
    keep = torch.zeros(text_state[embedding_key].shape[0], dtype=torch.bool)
    keep[list(used_tokens)] = True
    text_state[embedding_key] = text_state[embedding_key] * keep[:, None]
    state = {**unet_diffusers_to_ldm(unet.state_dict(), unet.config),
             **vae_diffusers_to_ldm(vae.state_dict(), vae.config),
             **clip_hf_to_ldm(text_state, "cond_stage_model.transformer.")}
    return {key: value.detach().to("cpu", torch.float16).contiguous() for key, value in state.items()}


def write_checkpoint(path: Path, unet: Any, vae: Any, text_encoder: Any, used_tokens: Iterable[int],
                     description: str) -> None:
    from safetensors.torch import save_file

    from inkgraph.nodes.diffusion.checkpoint import METADATA_KEY

    configs = {"kind": "sd1", "unet": dict(unet.config), "vae": dict(vae.config),
               "text_encoder": text_encoder.config.to_dict(), "scheduler": SCHEDULER_CONFIG}
    metadata = {METADATA_KEY: json.dumps(configs, default=list), "modelspec.title": "Inkgraph demo",
                "modelspec.description": description, "modelspec.license": "MIT",
                "modelspec.predict_key": "v"}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(checkpoint_state(unet, vae, text_encoder, used_tokens), str(path), metadata=metadata)


def write_upscaler(path: Path, upscaler: torch.nn.Module) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().to("cpu", torch.float16).contiguous() for k, v in upscaler.state_dict().items()},
              str(path), metadata={"modelspec.title": "Inkgraph demo 4x upscaler", "modelspec.license": "MIT"})
