"""``comfy.cli_args``: ComfyUI's parsed launch options, as packs read them (``args.disable_metadata``,
``args.preview_method``, ``args.base_directory`` …).

Inkgraph is configured by its own :class:`~inkgraph.engine.core.settings.Settings`; here every option has
ComfyUI's default, and the folders are those of the runtime that loaded the packs.
"""

from __future__ import annotations

import argparse
import enum
from typing import Any

from ..stubs import comfy_attribute


class LatentPreviewMethod(enum.Enum):
    NoPreviews = "none"
    Auto = "auto"
    Latent2RGB = "latent2rgb"
    TAESD = "taesd"


class PerformanceFeature(enum.Enum):
    Fp16Accumulation = "fp16_accumulation"
    Fp8MatrixMultiplication = "fp8_matrix_mult"
    CublasOps = "cublas_ops"
    AutoTune = "autotune"


_DEFAULTS: dict[str, Any] = {
    "listen": "127.0.0.1", "port": 8188, "tls_keyfile": None, "tls_certfile": None, "enable_cors_header": None,
    "max_upload_size": 100, "base_directory": None, "extra_model_paths_config": None, "output_directory": None,
    "temp_directory": None, "input_directory": None, "user_directory": None, "auto_launch": False,
    "disable_auto_launch": False, "cuda_device": None, "default_device": None, "cuda_malloc": False,
    "disable_cuda_malloc": False, "force_fp32": False, "force_fp16": False, "fp32_unet": False,
    "fp64_unet": False, "bf16_unet": False, "fp16_unet": False, "fp8_e4m3fn_unet": False,
    "fp8_e5m2_unet": False, "fp8_e8m0fnu_unet": False, "fp16_vae": False, "fp32_vae": False, "bf16_vae": False,
    "cpu_vae": False, "fp8_e4m3fn_text_enc": False, "fp8_e5m2_text_enc": False, "fp16_text_enc": False,
    "fp32_text_enc": False, "bf16_text_enc": False, "force_channels_last": False, "directml": None,
    "oneapi_device_selector": None, "disable_ipex_optimize": False, "supports_fp8_compute": False,
    "preview_method": LatentPreviewMethod.NoPreviews, "preview_size": 512, "cache_classic": False,
    "cache_lru": 0, "cache_none": False, "cache_ram": 0, "use_split_cross_attention": False,
    "use_quad_cross_attention": False, "use_pytorch_cross_attention": False, "use_sage_attention": False,
    "use_flash_attention": False, "disable_xformers": False, "force_upcast_attention": False,
    "dont_upcast_attention": False, "gpu_only": False, "highvram": False, "normalvram": False, "lowvram": False,
    "novram": False, "cpu": False, "reserve_vram": None, "async_offload": False, "force_non_blocking": False,
    "default_hashing_function": "sha256", "disable_smart_memory": False, "deterministic": False, "fast": set(),
    "mmap_torch_files": False, "disable_mmap": False, "dont_print_server": False, "quick_test_for_ci": False,
    "windows_standalone_build": False, "disable_metadata": False, "disable_all_custom_nodes": False,
    "whitelist_custom_nodes": [], "disable_api_nodes": False, "multi_user": False, "verbose": "INFO",
    "log_stdout": False, "front_end_version": "comfyanonymous/ComfyUI@latest", "front_end_root": None,
    "enable_compress_response_body": False, "comfy_api_base": "https://api.comfy.org", "database_url": None,
}


class _Args(argparse.Namespace):
    """ComfyUI's ``args``; the folder options are read from the runtime's folders when asked."""

    def __getattribute__(self, name: str) -> Any:
        if name in ("base_directory", "output_directory", "input_directory", "temp_directory", "user_directory"):
            explicit = object.__getattribute__(self, "__dict__").get(name)
            if explicit is not None:
                return explicit
            from .. import STATE

            if STATE.folders is None:
                return None
            f = STATE.folders
            return str({"base_directory": f.base, "output_directory": f.output, "input_directory": f.input,
                        "temp_directory": f.temp, "user_directory": f.user}[name])
        return super().__getattribute__(name)


args = _Args(**{k: v for k, v in _DEFAULTS.items()
                if k not in ("base_directory", "output_directory", "input_directory", "temp_directory",
                             "user_directory")})


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.cli_args", name)
