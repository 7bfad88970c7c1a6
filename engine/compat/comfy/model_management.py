"""``comfy.model_management`` for ComfyUI packs: the compute device, dtypes, interruption, and memory
housekeeping, answered from the running node's context and Inkgraph's model manager. Loading a MODEL on the
device (``load_models_gpu``) is the model manager's job when the model is used, so those calls return at
once; tensor casts (``cast_to``) are ComfyUI's."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any

from ...core.context import Interrupted, current_context
from ..stubs import comfy_attribute

InterruptProcessingException = Interrupted


def _oom_exception() -> type[BaseException]:
    torch = sys.modules.get("torch")
    return torch.cuda.OutOfMemoryError if torch is not None else MemoryError


def __getattr__(name: str) -> Any:
    if name == "OOM_EXCEPTION":
        return _oom_exception()
    return comfy_attribute("comfy.model_management", name)


def _device_name() -> str:
    ctx = current_context()
    if ctx is not None:
        return ctx.device
    from ...core.devices import pick_device

    return pick_device()


def get_torch_device() -> Any:
    import torch

    return torch.device(_device_name())


def intermediate_device() -> Any:
    """Where nodes leave their outputs: the CPU, as in ComfyUI."""
    import torch

    return torch.device("cpu")


def unet_offload_device() -> Any:
    import torch

    return torch.device("cpu")


def text_encoder_device() -> Any:
    return get_torch_device()


def vae_device() -> Any:
    return get_torch_device()


def is_device_mps(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "mps"


def is_device_cpu(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "cpu"


def cpu_mode() -> bool:
    return _device_name() == "cpu"


def processing_interrupted() -> bool:
    ctx = current_context()
    if ctx is None:
        return False
    try:
        ctx.check_interrupted()
    except Interrupted:
        return True
    return False


def throw_exception_if_processing_interrupted() -> None:
    ctx = current_context()
    if ctx is not None:
        ctx.check_interrupted()


def interrupt_current_processing(value: bool = True) -> None:
    """Packs may ask to stop the running prompt, as the /interrupt route does."""
    ctx = current_context()
    if value and ctx is not None:
        ctx.interrupt()


def soft_empty_cache(force: bool = False) -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def unload_all_models() -> None:
    ctx = current_context()
    if ctx is not None:
        ctx.models.unload_all()


def get_free_memory(device: Any = None, torch_free_too: bool = False) -> Any:
    """Free bytes on ``device`` (RAM for the CPU); with ``torch_free_too`` a pair, as ComfyUI returns."""
    from ...core.devices import ram_bytes

    device = device if device is not None else get_torch_device()
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        free = int(torch.cuda.mem_get_info(device)[0])
    else:
        free = ram_bytes()[1]
    return (free, free) if torch_free_too else free


class VRAMState(Enum):
    DISABLED = 0
    NO_VRAM = 1
    LOW_VRAM = 2
    NORMAL_VRAM = 3
    HIGH_VRAM = 4
    SHARED = 5


class CPUState(Enum):
    GPU = 0
    CPU = 1
    MPS = 2


current_loaded_models: list[Any] = []  # Inkgraph's model manager holds the models; nothing is listed here
XFORMERS_IS_AVAILABLE = False
XFORMERS_ENABLED_VAE = False
ENABLE_PYTORCH_ATTENTION = True
directml_enabled = False


def _policy() -> Any:
    ctx = current_context()
    if ctx is not None:
        return ctx.models.policy
    from ...core.devices import DevicePolicy

    return DevicePolicy.detect()


def _dtype(name: str) -> Any:
    from ...core.devices import torch_dtype

    return torch_dtype(name)


def get_torch_device_name(device: Any) -> str:
    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        import torch

        return f"{device} {torch.cuda.get_device_name(device)}"
    return str(kind)


def is_device_cuda(device: Any) -> bool:
    return getattr(device, "type", str(device)) == "cuda"


def text_encoder_offload_device() -> Any:
    import torch

    return torch.device("cpu")


def vae_offload_device() -> Any:
    import torch

    return torch.device("cpu")


def text_encoder_initial_device(load_device: Any, offload_device: Any, model_size: int = 0) -> Any:
    return offload_device


def unet_inital_load_device(parameters: int, dtype: Any) -> Any:
    return unet_offload_device()


def unet_dtype(device: Any = None, model_params: int = 0, supported_dtypes: Any = None,
               weight_dtype: Any = None) -> Any:
    """The dtype diffusion models compute in (Inkgraph's --dtype policy)."""
    return _dtype(_policy().dtype)


def text_encoder_dtype(device: Any = None) -> Any:
    return _dtype(_policy().dtype)


def vae_dtype(device: Any = None, allowed_dtypes: Any = None) -> Any:
    return _dtype(_policy().vae_dtype)


def intermediate_dtype() -> Any:
    import torch

    return torch.float32


def lora_compute_dtype(device: Any = None) -> Any:
    import torch

    return torch.float32


def unet_manual_cast(weight_dtype: Any, inference_device: Any, supported_dtypes: Any = None) -> Any:
    return None


def should_use_fp16(device: Any = None, model_params: int = 0, prioritize_performance: bool = True,
                    manual_cast: bool = False) -> bool:
    return _policy().dtype == "fp16" and not is_device_cpu(device if device is not None else get_torch_device())


def should_use_bf16(device: Any = None, model_params: int = 0, prioritize_performance: bool = True,
                    manual_cast: bool = False) -> bool:
    return _policy().dtype == "bf16" and not is_device_cpu(device if device is not None else get_torch_device())


def supports_cast(device: Any, dtype: Any) -> bool:
    return True


def supports_dtype(device: Any, dtype: Any) -> bool:
    return True


def dtype_size(dtype: Any) -> int:
    size = getattr(dtype, "itemsize", None)
    return int(size) if size is not None else 4


def module_size(module: Any) -> int:
    from ...core.devices import module_nbytes

    return module_nbytes(module)


def get_total_memory(dev: Any = None, torch_total_too: bool = False) -> Any:
    from ...core.devices import ram_bytes

    device = dev if dev is not None else get_torch_device()
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        total = int(torch.cuda.mem_get_info(device)[1])
    else:
        total = ram_bytes()[0]
    return (total, total) if torch_total_too else total


def minimum_inference_memory() -> int:
    return 1024 ** 3


def extra_reserved_memory() -> int:
    return 0


def device_supports_non_blocking(device: Any) -> bool:
    return is_device_cuda(device)


def device_should_use_non_blocking(device: Any) -> bool:
    return False


def cast_to(weight: Any, dtype: Any = None, device: Any = None, non_blocking: bool = False, copy: bool = False,
            stream: Any = None) -> Any:
    """ComfyUI's tensor cast: a new tensor only when the device or dtype changes, or when ``copy`` asks."""
    if device is None or weight.device == device:
        if not copy and (dtype is None or weight.dtype == dtype):
            return weight
        return weight.to(dtype=dtype, copy=copy)
    import torch

    out = torch.empty_like(weight, dtype=dtype if dtype is not None else weight.dtype, device=device)
    out.copy_(weight, non_blocking=non_blocking)
    return out


def cast_to_device(tensor: Any, device: Any, dtype: Any, copy: bool = False) -> Any:
    return cast_to(tensor, dtype=dtype, device=device, non_blocking=device_supports_non_blocking(device), copy=copy)


def load_models_gpu(models: Any, memory_required: int = 0, force_patch_weights: bool = False,
                    minimum_memory_required: Any = None, force_full_load: bool = False) -> None:
    """Models are placed on the device by the model manager when a node uses them; nothing to do here."""
    return None


def load_model_gpu(model: Any) -> None:
    return load_models_gpu([model])


def free_memory(memory_required: int, device: Any, keep_loaded: Any = None) -> list[Any]:
    """Make room on ``device``: Inkgraph's manager offloads its least recently used models."""
    ctx = current_context()
    if ctx is not None:
        ctx.models.offload_all()
    soft_empty_cache()
    return []


def cleanup_models(keep_clone_weights_loaded: bool = False) -> None:
    return None


def cleanup_models_gc() -> None:
    return None


def unload_model_clones(model: Any, unload_weights_only: bool = True, force_unload: bool = True) -> None:
    return None


def loaded_models(only_currently_used: bool = False) -> list[Any]:
    return []


def get_autocast_device(dev: Any) -> str:
    return str(getattr(dev, "type", "cuda"))


def xformers_enabled() -> bool:
    return False


def xformers_enabled_vae() -> bool:
    return False


def pytorch_attention_enabled() -> bool:
    return True


def pytorch_attention_enabled_vae() -> bool:
    return True


def pytorch_attention_flash_attention() -> bool:
    return True


def sage_attention_enabled() -> bool:
    return False


def flash_attention_enabled() -> bool:
    return False


def is_nvidia() -> bool:
    import torch

    return bool(torch.cuda.is_available() and torch.version.cuda)


def is_amd() -> bool:
    import torch

    return bool(torch.cuda.is_available() and getattr(torch.version, "hip", None))


def is_intel_xpu() -> bool:
    return False


def supports_fp8_compute(device: Any = None) -> bool:
    return False


def interrupt_processing(value: bool = True) -> None:
    interrupt_current_processing(value)
