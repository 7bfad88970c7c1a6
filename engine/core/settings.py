"""What an engine is configured with, in one frozen object.

The CLI builds it from its flags, the server embeds it in its own configuration, and Ray workers receive
it: a new option is one field here, and every front door means the same thing by it.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .cache import DEFAULT_RAM_BUDGET, CachePolicyName

VramMode = Literal["high", "normal", "low", "cpu"]
PreviewMethod = Literal["none", "auto", "latent2rgb", "taesd"]
DTYPES = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class Settings:
    """An engine's configuration (``inkgraph run``/``serve`` flags; ComfyUI's launch options where they exist).

    ``base_dir`` holds ``input/``, ``output/``, ``temp/``, ``models/``, ``user/`` and ``custom_nodes/``
    (default: ``$INKGRAPH_BASE_DIR`` or ``~/.local/share/inkgraph``); ``input_dir``, ``output_dir``,
    ``temp_dir`` and ``user_dir`` put those folders elsewhere (ComfyUI's ``--input-directory`` …).
    ``extra_model_paths`` are ComfyUI ``extra_model_paths.yaml`` files. ``cache_entries`` caps the lru
    cache's entries too (ComfyUI's ``--cache-lru N``; 0: only the byte budget). ``custom_nodes=False``
    loads no node packs except those named in ``whitelist_custom_nodes`` (ComfyUI's
    ``--disable-all-custom-nodes``); ``api_nodes=False`` skips the nodes packs mark as API nodes (paid
    remote services; ComfyUI's ``--disable-api-nodes``).
    """

    base_dir: Path | None = None
    cache: CachePolicyName = "lru"
    cache_budget_bytes: int = DEFAULT_RAM_BUDGET
    device: str | None = None
    dtype: str | None = None
    vram: VramMode = "normal"
    extra_model_paths: tuple[Path, ...] = ()
    custom_nodes: bool = True
    whitelist_custom_nodes: tuple[str, ...] = ()
    preview_method: PreviewMethod = "none"
    input_dir: Path | None = None
    output_dir: Path | None = None
    temp_dir: Path | None = None
    user_dir: Path | None = None
    cache_entries: int = 0
    api_nodes: bool = True
    # The most pixels (width × height × batch [× frames]) one empty image, latent or mask node may ask for;
    # 0 = no limit. 2**28 is 16 images of 4096², 1,024 of 512²; an RGB float32 image that size is 3 GiB.
    max_batch_pixels: int = 2**28

    def __post_init__(self) -> None:
        # Accept any path-like and any iterable from callers; store the canonical frozen forms.
        for name in ("base_dir", "input_dir", "output_dir", "temp_dir", "user_dir"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(os.fspath(value)))
        object.__setattr__(self, "extra_model_paths", tuple(Path(os.fspath(p)) for p in self.extra_model_paths))
        object.__setattr__(self, "whitelist_custom_nodes", tuple(self.whitelist_custom_nodes))
        if self.cache not in ("lru", "classic", "none"):
            raise ValueError(f"cache must be lru, classic or none, not {self.cache!r}")
        if self.dtype is not None and self.dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, not {self.dtype!r}")
        if self.vram not in ("high", "normal", "low", "cpu"):
            raise ValueError(f"vram must be high, normal, low or cpu, not {self.vram!r}")
        if self.cache_budget_bytes < 0:
            raise ValueError("cache_budget_bytes must not be negative")
        if self.cache_entries < 0:
            raise ValueError("cache_entries must not be negative")
        if self.max_batch_pixels < 0:
            raise ValueError("max_batch_pixels must not be negative (0 means no limit)")

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (validated like a new one)."""
        return dataclasses.replace(self, **changes)
