"""SDPA: every attention kernel torch has for this device, in each dtype, against float64 on upcast inputs.

The shapes are the UNets' own: SD1.5's self-attention at 512² (4096 tokens, 8 heads of 40) and its
cross-attention over 77 text tokens, SDXL's at 1024² (4096 tokens, 10 heads of 64). Which kernels exist
(flash, memory-efficient, cuDNN, math) depends on the card, the dtype and the head size: a kernel that
refuses a case is recorded as unavailable, not failed; the default dispatch must always work. On the CPU
(``--quick``) the sequences are shortened to keep the float64 reference cheap.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from .. import fixtures as fx
from ..context import SectionContext
from ..plan import SDPA_TOLERANCES

# name: (batch, heads, query tokens, key tokens, head size)
SHAPES = {"sd15 self 512²": (2, 8, 4096, 4096, 40), "sd15 cross 512²": (2, 8, 4096, 77, 40),
          "sdxl self 1024²": (2, 10, 4096, 4096, 64)}


def _backends() -> dict[str, Any]:
    from torch.nn.attention import SDPBackend

    found = {"default": None}
    for name, attr in (("flash", "FLASH_ATTENTION"), ("efficient", "EFFICIENT_ATTENTION"),
                       ("cudnn", "CUDNN_ATTENTION"), ("math", "MATH")):
        if hasattr(SDPBackend, attr):
            found[name] = getattr(SDPBackend, attr)
    return found


def run(ctx: SectionContext) -> None:
    from torch.nn.attention import sdpa_kernel

    generator = torch.Generator().manual_seed(11)
    scale_down = 1 if ctx.cuda else 16  # the CPU: 256 query tokens instead of 4096
    for label, (batch, heads, lq, lk, dim) in SHAPES.items():
        lq, lk = max(lq // scale_down, 16), max(lk // scale_down if lk > 77 else lk, 16)
        q32, k32, v32 = (torch.randn(batch, heads, n, dim, generator=generator) for n in (lq, lk, lk))
        for dtype in fx.device_dtypes(ctx):
            q, k, v = (t.to(ctx.device, fx.dtype_of(dtype)) for t in (q32, k32, v32))
            expected = F.scaled_dot_product_attention(q.double(), k.double(), v.double())
            for backend_name, backend in _backends().items():
                try:
                    if backend is None:
                        out = F.scaled_dot_product_attention(q, k, v)
                    else:
                        with sdpa_kernel([backend]):
                            out = F.scaled_dot_product_attention(q, k, v)
                except RuntimeError as exc:
                    if backend is None:
                        raise
                    why = str(exc).split("\n")[0][:120]
                    ctx.check(f"{label} {dtype} {backend_name}", None, "unavailable", detail=why)
                    continue
                ctx.compare(f"{label} {dtype} {backend_name}", out, expected, SDPA_TOLERANCES[dtype])
                if ctx.cuda and label.startswith("sdxl"):
                    ctx.metric(f"{label} {dtype} {backend_name}", round(_time_ms(q, k, v, backend), 3), "ms")
            del q, k, v, expected


def _time_ms(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: Any, repeats: int = 10) -> float:
    """Median time of one attention on the device (CUDA events, after a warm-up)."""
    from contextlib import nullcontext

    from torch.nn.attention import sdpa_kernel

    context = nullcontext() if backend is None else sdpa_kernel([backend])
    times = []
    with context:
        F.scaled_dot_product_attention(q, k, v)
        torch.cuda.synchronize()
        for _ in range(repeats):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            F.scaled_dot_product_attention(q, k, v)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    return float(sorted(times)[len(times) // 2])
