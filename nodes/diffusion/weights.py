"""Putting weights into modules: without random initialisation, with every weight checked, and with
linear layers stored in fp8 and computed in the compute dtype when the file or the user asks for it.

fp8 storage is how ComfyUI users fit Flux, SD3.5 large or Wan in consumer VRAM: a weight takes one byte;
each call casts it to the activations' dtype (and multiplies by its scale, for ComfyUI's "scaled fp8"
files and for weights quantised here). A module keeps its class (``isinstance(m, nn.Linear)`` still
holds), so LoRA patching and diffusers code see ordinary linear layers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .gguf_tensor import QuantizedTensor
from .state_dict import FP8_DTYPES, ModelFileError

log = logging.getLogger(__name__)

# UNETLoader's weight_dtype values → the storage dtype of linear weights (None: as the file has them).
WEIGHT_DTYPES: dict[str, torch.dtype | None] = {
    "default": None, "fp8_e4m3fn": torch.float8_e4m3fn, "fp8_e4m3fn_fast": torch.float8_e4m3fn,
    "fp8_e5m2": torch.float8_e5m2,
}


class FP8Linear(torch.nn.Linear):
    """A linear layer whose weight is stored in fp8 (times ``scale_weight``) and used in the input's dtype."""

    scale_weight: torch.Tensor | None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = self.weight.to(x.dtype)
        scale = getattr(self, "scale_weight", None)
        if scale is not None:
            weight = weight * scale.to(x.dtype)
        bias = self.bias.to(x.dtype) if self.bias is not None else None
        return F.linear(x, weight, bias)


def dequantized(module: torch.nn.Linear) -> torch.Tensor:
    """A linear layer's effective weight in fp32 (fp8 storage and scale undone)."""
    weight = module.weight.float()
    scale = getattr(module, "scale_weight", None)
    return weight * scale.float() if scale is not None else weight


def store_fp8(module: torch.nn.Linear, fp8: torch.dtype, weight: torch.Tensor | None = None) -> None:
    """Keep ``module``'s weight (or ``weight``, fp32) in ``fp8`` with a per-tensor scale that uses the
    format's whole range (so small weights keep their precision)."""
    full = dequantized(module) if weight is None else weight.float()
    peak = float(full.abs().max()) if full.numel() else 0.0
    scale = peak / torch.finfo(fp8).max if peak > 0 else 1.0
    stored = (full / scale).to(fp8)
    module.weight = torch.nn.Parameter(stored, requires_grad=False)
    if "scale_weight" in module._buffers:
        module.scale_weight = torch.tensor(scale, dtype=torch.float32, device=stored.device)
    else:
        module.register_buffer("scale_weight", torch.tensor(scale, dtype=torch.float32, device=stored.device))
    module.__class__ = FP8Linear


def quantize_linears(model: torch.nn.Module, fp8: torch.dtype, skip: Iterable[str] = ()) -> int:
    """Store every linear layer's weight in ``fp8`` (those already in fp8 are kept as they are). Names
    starting with one of ``skip`` stay in the compute dtype (embedders whose precision matters)."""
    from .gguf_ops import GGUFLayer

    skipped = tuple(skip)
    count = 0
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or (skipped and name.startswith(skipped)):
            continue
        if isinstance(module, GGUFLayer):  # already quantized (GGUF blocks): kept as the file has it
            continue
        if module.weight.dtype in FP8_DTYPES:
            if not isinstance(module, FP8Linear):
                module.__class__ = FP8Linear
            continue
        store_fp8(module, fp8)
        count += 1
    return count


def adopt_fp8(model: torch.nn.Module, scales: dict[str, torch.Tensor] | None = None) -> int:
    """Linear layers that hold fp8 weights (loaded from an fp8 file) compute through :class:`FP8Linear`;
    ``scales`` maps a module name to the ``scale_weight`` its file gave it."""
    count = 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and module.weight.dtype in FP8_DTYPES:
            module.__class__ = FP8Linear
            if scales and name in scales:
                module.register_buffer("scale_weight", scales[name].float().to(module.weight.device))
            count += 1
    return count


def assemble(cls: Any, config: dict[str, Any], state: dict[str, torch.Tensor], dtype: torch.dtype, component: str,
             name: str = "", allow_missing: Iterable[str] = ()) -> Any:
    """``cls.from_config(config)`` holding exactly ``state``: built on the meta device (no random
    initialisation of billions of weights only to overwrite them), every weight verified, then assigned.

    Floating-point tensors become ``dtype`` except fp8 linear weights, which stay fp8 and compute through
    :class:`FP8Linear`, and GGUF-quantized weights (:class:`QuantizedTensor`), which stay in their blocks
    and compute through the GGUF layers of :mod:`.gguf_ops`. ``allow_missing`` names weights the model may
    lack (buffers it computes itself).
    """
    with _parameters_on_meta():
        model = cls.from_config(config) if hasattr(cls, "from_config") else cls(config)
    allowed = tuple(allow_missing)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("position_ids")
               and not (allowed and k.startswith(allowed))]
    if missing:
        where = f"{name}: " if name else ""
        raise ModelFileError(f"{where}the {component} is incomplete ({len(missing)} of {len(expected)} weights "
                             f"missing, e.g. {missing[0]}); the file may be truncated or of another model")
    wrong = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if wrong:
        key, found, wanted = wrong[0]
        raise ModelFileError(f"{name + ': ' if name else ''}the {component}'s {key} has shape {found}, "
                             f"the architecture read from the file expects {wanted}")
    prepared = {}
    quantized: dict[str, QuantizedTensor] = {}
    for key, tensor in state.items():
        if key not in expected:
            continue
        if isinstance(tensor, QuantizedTensor):
            quantized[key] = tensor
            continue
        if tensor.is_floating_point() and tensor.dtype != dtype and tensor.dtype not in FP8_DTYPES:
            tensor = tensor.to(dtype)
        prepared[key] = tensor
    model.load_state_dict(prepared, strict=False, assign=True)
    _install_quantized(model, quantized, dtype)
    if any(t.is_meta for t in (*model.parameters(), *model.buffers())):
        # something the file does not hold and the model computes (position ids, rotary tables): build it
        # for real this once and load the weights into it
        model = cls.from_config(config) if hasattr(cls, "from_config") else cls(config)
        model.load_state_dict(prepared, strict=False, assign=True)
        _install_quantized(model, quantized, dtype)
    _cast_non_linear_fp8(model, dtype)
    adopt_fp8(model)
    return model.eval().requires_grad_(False)


def _install_quantized(model: torch.nn.Module, quantized: dict[str, QuantizedTensor], dtype: torch.dtype) -> None:
    if quantized:
        from .gguf_ops import install

        install(model, quantized, dtype)


@contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Parameters are created on the meta device (no memory, no random initialisation); buffers stay real,
    so what a model computes for itself at construction (rotary tables, position ids, Chroma's modulation
    indices) is there without building the whole model twice."""
    register = torch.nn.Module.register_parameter

    def on_meta(module: torch.nn.Module, name: str, param: torch.nn.Parameter | None) -> None:
        register(module, name, param)
        if param is not None and param.device.type != "meta":
            kind = type(module._parameters[name])
            module._parameters[name] = kind(param.to("meta"), requires_grad=param.requires_grad)

    torch.nn.Module.register_parameter = on_meta  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.nn.Module.register_parameter = register  # type: ignore[method-assign]


def _cast_non_linear_fp8(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """fp8 tensors outside linear weights (convolutions, norms, embeddings) are cast to the compute dtype:
    only linear layers know how to compute from fp8 storage."""
    for module in model.modules():
        is_linear = isinstance(module, torch.nn.Linear)
        for name, param in list(module.named_parameters(recurse=False)):
            if param.dtype in FP8_DTYPES and not (is_linear and name == "weight"):
                setattr(module, name, torch.nn.Parameter(param.to(dtype), requires_grad=False))


def apply_scales(model: torch.nn.Module, scales: dict[str, torch.Tensor]) -> int:
    """Give linear layers the per-layer ``scale_weight`` of a ComfyUI scaled-fp8 file (by module name)."""
    return adopt_fp8(model, scales)


def unquantize(model: torch.nn.Module, prefixes: Iterable[str], dtype: torch.dtype) -> int:
    """Linear layers under ``prefixes`` back in the compute dtype (their fp8 weight times its scale): modules
    that read their own weight's dtype to choose their input's (diffusers' timestep embedders) must not see
    fp8."""
    wanted = tuple(prefixes)
    count = 0
    for name, module in model.named_modules():
        if isinstance(module, FP8Linear) and name.startswith(wanted):
            weight = dequantized(module).to(dtype)
            module.weight = torch.nn.Parameter(weight, requires_grad=False)
            module._buffers.pop("scale_weight", None)
            module.__class__ = torch.nn.Linear
            count += 1
    return count
