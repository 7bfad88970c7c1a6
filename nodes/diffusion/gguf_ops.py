"""Layers that compute from GGUF-quantized storage: the weight stays in the file's blocks (so a Q4_K Flux
takes the memory its file takes) and is dequantized in each forward, in the activations' dtype, on their
device — the same idea as :class:`~.weights.FP8Linear`, with ComfyUI-GGUF's scope: linear layers,
convolutions (SD UNets' quantized convs) and embeddings.

A module keeps its class family (``isinstance(m, nn.Linear)`` still holds, ``in_features`` and friends are
unchanged); its ``weight`` parameter holds the raw blocks and ``gguf_type``/``gguf_shape`` say how to read
them. The blocks are kept as int8 bytes: an integer dtype, so ``model.to(dtype)`` never converts them, and
the one libraries already treat as quantized storage — transformers' T5 casts its activations to ``wo``'s
weight dtype unless that is int8, diffusers checks ``is_floating_point`` and then ``compute_dtype`` (which
these layers carry: the model's dtype). LoRA patches are added to the dequantized
weight at each forward (``gguf_patches``), so the quantized weight is never rewritten and removing a LoRA
restores the model exactly.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F  # noqa: N812

from .ggml_blocks import QUANTIZED, dequantize
from .gguf_tensor import QuantizedTensor

if TYPE_CHECKING:
    from .lora import Patch

log = logging.getLogger(__name__)


class GGUFLayer(torch.nn.Module):
    """What every GGUF layer shares: where its weight's blocks are and how to read them, and its patches."""

    weight: torch.Tensor  # the raw blocks, as int8 bytes
    gguf_type: int
    gguf_shape: torch.Size
    gguf_patches: list[tuple[Patch, float]]
    compute_dtype: torch.dtype  # the model's dtype: what layers without a float input (embeddings) give

    def gguf_weight(self, dtype: torch.dtype) -> torch.Tensor:
        """The effective weight in ``dtype`` on the storage's device: dequantized blocks plus any LoRA
        patches (added in float32, as ``lora.sync`` adds them to ordinary weights)."""
        if not self.gguf_patches:
            return dequantize(self.weight, self.gguf_type, self.gguf_shape, dtype)
        weight = dequantize(self.weight, self.gguf_type, self.gguf_shape)
        for patch, strength in self._patches_on(weight.device):
            weight = weight + patch.delta(self.gguf_shape) * strength
        return weight.to(dtype)

    def _patches_on(self, device: torch.device) -> list[tuple[Patch, float]]:
        """The patches with their factors on ``device`` (moved once, not in every forward)."""
        cache: dict[torch.device, list[tuple[Patch, float]]] = self.__dict__.setdefault("_gguf_patch_cache", {})
        if device not in cache:
            cache[device] = [(p.to(device), s) for p, s in self.gguf_patches]
        return cache[device]

    def set_patches(self, patches: list[tuple[Patch, float]]) -> None:
        """Patches (LoRA factors and strengths) to add from the next forward on; [] restores the file's
        weight exactly. A patch that does not fit the weight is refused now, not in the sampler."""
        for patch, _ in patches:
            if patch.numel() != self.gguf_shape.numel():
                raise ValueError(f"LoRA of {patch.numel()} values does not fit a weight of shape "
                                 f"{tuple(self.gguf_shape)}")
        self.gguf_patches = list(patches)
        self.__dict__.pop("_gguf_patch_cache", None)

    def _save_to_state_dict(self, destination: dict[str, Any], prefix: str, keep_vars: bool) -> None:
        """``state_dict()`` holds the effective weight (dequantized, patches added, in the compute dtype),
        so code that saves or merges weights (CheckpointSave) gets values, never raw blocks."""
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight"] = self.gguf_weight(self.compute_dtype)

    def _bias(self, dtype: torch.dtype) -> torch.Tensor | None:
        bias: torch.Tensor | None = getattr(self, "bias", None)
        return bias.to(dtype) if bias is not None else None

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, gguf={QUANTIZED[self.gguf_type].name}"


class GGUFLinear(GGUFLayer, torch.nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.gguf_weight(x.dtype), self._bias(x.dtype))


class GGUFConv1d(GGUFLayer, torch.nn.Conv1d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(x, self.gguf_weight(x.dtype), self._bias(x.dtype))
        return out


class GGUFConv2d(GGUFLayer, torch.nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(x, self.gguf_weight(x.dtype), self._bias(x.dtype))
        return out


class GGUFConv3d(GGUFLayer, torch.nn.Conv3d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self._conv_forward(x, self.gguf_weight(x.dtype), self._bias(x.dtype))
        return out


class GGUFEmbedding(GGUFLayer, torch.nn.Embedding):
    """Only the rows looked up are dequantized (a T5 vocabulary is 128 M values), when rows of blocks
    follow the table's rows and nothing asks for the whole table (LoRA, ``max_norm``)."""

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        per_row, uneven = divmod(self.weight.numel(), max(self.num_embeddings, 1))
        if self.gguf_patches or self.max_norm is not None or uneven or per_row % QUANTIZED[self.gguf_type].type_size:
            return F.embedding(ids, self.gguf_weight(self.compute_dtype), self.padding_idx, self.max_norm,
                               self.norm_type, self.scale_grad_by_freq, self.sparse)
        rows = self.weight.reshape(self.num_embeddings, per_row)[ids.reshape(-1)]
        values = dequantize(rows, self.gguf_type, torch.Size((rows.shape[0], self.embedding_dim)), self.compute_dtype)
        return values.reshape(*ids.shape, self.embedding_dim)


# exact module types → their GGUF layer (subclasses with their own forward are dequantized instead)
LAYERS: dict[type[torch.nn.Module], type[GGUFLayer]] = {
    torch.nn.Linear: GGUFLinear, torch.nn.Conv1d: GGUFConv1d, torch.nn.Conv2d: GGUFConv2d,
    torch.nn.Conv3d: GGUFConv3d, torch.nn.Embedding: GGUFEmbedding,
}


def install(model: torch.nn.Module, quantized: dict[str, QuantizedTensor], dtype: torch.dtype) -> int:
    """Give ``model`` its quantized weights (state-dict key → tensor): each module weight of a type in
    :data:`LAYERS` becomes a GGUF layer holding the blocks; anything else (a bias, a bare parameter such as
    a positional embedding, a layer class of its own) is dequantized into ``dtype``. Returns how many
    layers stay quantized."""
    kept = 0
    dequantized: list[str] = []
    for key, tensor in quantized.items():
        module_name, _, attr = key.rpartition(".")
        module = model.get_submodule(module_name)
        layer = LAYERS.get(type(module)) if attr == "weight" else None
        if layer is None:
            param = torch.nn.Parameter(tensor.dequantize(dtype), requires_grad=False)
            setattr(module, attr, param)
            dequantized.append(key)
            continue
        module.__class__ = layer
        converted = cast(GGUFLayer, module)
        converted.weight = torch.nn.Parameter(tensor.raw.view(torch.int8), requires_grad=False)
        converted.gguf_type, converted.gguf_shape, converted.compute_dtype = tensor.qtype, tensor.shape, dtype
        converted.gguf_patches = []
        kept += 1
    if dequantized:
        log.info("%d quantized tensors computed in %s instead (no GGUF layer for them), e.g. %s",
                 len(dequantized), dtype, dequantized[0])
    return kept


def quantized_layers(model: torch.nn.Module) -> dict[str, GGUFLayer]:
    return {name: m for name, m in model.named_modules() if isinstance(m, GGUFLayer)}


def weight_of(module: Any) -> torch.Tensor:
    """A layer's effective weight as a float tensor, whether it is stored quantized or not (for code that
    reads weights, e.g. to save or to merge)."""
    if isinstance(module, GGUFLayer):
        return module.gguf_weight(torch.float32)
    return module.weight  # type: ignore[no-any-return]
