"""CLIP text encoders: CLIP-L (SD1, SDXL, SD3, Flux), OpenCLIP-H (SD2) and OpenCLIP-bigG (SDXL, SD3).

Recognised in the layouts users have: transformers' keys (``text_model.…``, ComfyUI's repackaged
``clip_l.safetensors``/``clip_g.safetensors``, also under an all-in-one file's
``text_encoders.clip_l.transformer.`` prefix) and OpenCLIP's (``transformer.resblocks.…``). The kind
follows ComfyUI's rule, the depth of the stack (31 layers or more: bigG, 23 or more: H, else L); width,
depth, MLP width, projection and vocabulary are read from the tensors. Heads are 64 wide, as in every CLIP
text model ComfyUI knows.

H is built without its last layer, as diffusers builds SD2's encoder: SD2 reads the penultimate layer.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import torch

from ..state_dict import TensorIndex, block_count
from .base import EncoderDetected, EncoderKind

TOKENIZER_DIR = Path(__file__).resolve().parent.parent / "configs" / "clip_tokenizer"
HF_MARKER = "text_model.embeddings.token_embedding.weight"
OPENCLIP_MARKER = "transformer.resblocks.0.ln_1.weight"


def _layout(index: TensorIndex, prefix: str) -> str | None:
    """"hf" (transformers keys, with or without ``text_model.``), "openclip", or None."""
    if prefix + HF_MARKER in index or prefix + HF_MARKER[len("text_model."):] in index:
        return "hf"
    if prefix + OPENCLIP_MARKER in index and prefix + "token_embedding.weight" in index:
        return "openclip"
    return None


def _hf_key(key: str) -> str:
    return key if key.startswith(("text_model.", "text_projection")) else "text_model." + key


def read_config(index: TensorIndex, prefix: str) -> dict[str, Any] | None:
    """The CLIPTextConfig fields of the CLIP text model under ``prefix`` (None: not a CLIP text model)."""
    layout = _layout(index, prefix)
    if layout is None:
        return None
    keys = {k[len(prefix):]: index[k] for k in index if k.startswith(prefix)}
    if layout == "openclip":
        vocab, width = keys["token_embedding.weight"].shape
        positions = keys["positional_embedding"].shape[0]
        layers = block_count(keys, "transformer.resblocks.")
        mlp = keys["transformer.resblocks.0.mlp.c_fc.weight"].shape[0]
        projection = keys["text_projection"].shape[1] if "text_projection" in keys else width
    else:
        keys = {_hf_key(k): v for k, v in keys.items()}
        vocab, width = keys["text_model.embeddings.token_embedding.weight"].shape
        positions = keys["text_model.embeddings.position_embedding.weight"].shape[0]
        layers = block_count(keys, "text_model.encoder.layers.")
        mlp = keys["text_model.encoder.layers.0.mlp.fc1.weight"].shape[0]
        projection = keys["text_projection.weight"].shape[0] if "text_projection.weight" in keys else width
    return {"vocab_size": vocab, "hidden_size": width, "max_position_embeddings": positions,
            "num_hidden_layers": layers, "intermediate_size": mlp, "projection_dim": projection,
            "num_attention_heads": max(1, width // 64), "layout": layout}


def kind_of(config: dict[str, Any]) -> str:
    """ComfyUI's rule (comfy/sd.py detect_te_model): bigG has layer 30, H has layer 22, L has less."""
    layers = int(config["num_hidden_layers"])
    return "clip_g" if layers >= 31 else "clip_h" if layers >= 23 else "clip_l"


def openclip_to_hf(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """OpenCLIP text-tower keys → transformers' (``text_model.…``, ``text_projection.weight``)."""
    out: dict[str, torch.Tensor] = {}
    renames = {"ln_1": "layer_norm1", "ln_2": "layer_norm2", "mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2",
               "attn.out_proj": "self_attn.out_proj"}
    for key, value in state.items():
        if key == "token_embedding.weight":
            out["text_model.embeddings.token_embedding.weight"] = value
        elif key == "positional_embedding":
            out["text_model.embeddings.position_embedding.weight"] = value
        elif key.startswith("ln_final."):
            out["text_model.final_layer_norm." + key.rsplit(".", 1)[1]] = value
        elif key == "text_projection":
            out["text_projection.weight"] = value.T.contiguous()
        elif key.startswith("transformer.resblocks."):
            number, _, rest = key[len("transformer.resblocks."):].partition(".")
            base = f"text_model.encoder.layers.{number}."
            if rest.startswith("attn.in_proj_"):
                kind = rest.rsplit("_", 1)[1]  # weight / bias
                for name, part in zip(("q_proj", "k_proj", "v_proj"), value.chunk(3, dim=0), strict=True):
                    out[f"{base}self_attn.{name}.{kind}"] = part
                continue
            for old, new in renames.items():
                if rest.startswith(old + "."):
                    rest = new + rest[len(old):]
                    break
            out[base + rest] = value
    return out


class _Clip(EncoderKind):
    """What CLIP-L, -H and -bigG share: detection, configuration and building."""

    activation: ClassVar[str]
    projected: ClassVar[bool] = False  # built with its text projection (pooled output projected)
    drop_last_layer: ClassVar[bool] = False

    def detect(self, index: TensorIndex, prefix: str = "") -> EncoderDetected | None:
        config = read_config(index, prefix)
        if config is None or kind_of(config) != self.name:
            return None
        return EncoderDetected(self, prefix, config)

    def hf_config(self, detected: EncoderDetected) -> Any:
        from transformers import CLIPTextConfig

        fields = {k: v for k, v in detected.config.items() if k != "layout"}
        if self.drop_last_layer:
            fields["num_hidden_layers"] -= 1
        return CLIPTextConfig(**fields, hidden_act=self.activation, bos_token_id=49406, eos_token_id=49407,
                              pad_token_id=1, layer_norm_eps=1e-5)

    def build(self, tensors: dict[str, torch.Tensor], detected: EncoderDetected, dtype: torch.dtype
              ) -> torch.nn.Module:
        from transformers import CLIPTextModel, CLIPTextModelWithProjection

        from ..weights import apply_scales, assemble

        if detected.config["layout"] == "openclip":
            tensors = openclip_to_hf(tensors)
        state = {_hf_key(k): v for k, v in tensors.items()}
        scales = {_hf_key(k): v for k, v in detected.scales.items()}
        config = self.hf_config(detected)
        if self.drop_last_layer:
            last = f"text_model.encoder.layers.{config.num_hidden_layers}."
            state = {k: v for k, v in state.items() if not k.startswith(last)}
        cls = CLIPTextModelWithProjection if self.projected else CLIPTextModel
        projection = None
        if not self.projected:  # transformers 5 builds CLIPTextModel without the text_model wrapper
            projection = state.get("text_projection.weight")
            state = {k[len("text_model."):]: v for k, v in state.items() if k.startswith("text_model.")}
            scales = {k[len("text_model."):]: v for k, v in scales.items() if k.startswith("text_model.")}
        model = assemble(cls, config, state, dtype, f"{self.name} text encoder", detected.source)
        if scales:
            apply_scales(model, scales)
        if projection is not None:  # CLIP-L's projection, for recipes that read its projected pooled output (HiDream)
            model.register_buffer("inkgraph_text_projection", projection.to(dtype), persistent=False)
        return model  # type: ignore[no-any-return]

    def tokenizer(self) -> Any:
        return clip_tokenizer()


@cache
def clip_tokenizer() -> Any:
    from transformers import CLIPTokenizer

    return CLIPTokenizer.from_pretrained(str(TOKENIZER_DIR), local_files_only=True, model_max_length=10**9)


class ClipL(_Clip):
    name = "clip_l"
    activation = "quick_gelu"


class ClipH(_Clip):
    name = "clip_h"
    activation = "gelu"
    drop_last_layer = True


class ClipG(_Clip):
    name = "clip_g"
    activation = "gelu"
    projected = True
