"""``comfy.ldm.modules.attention`` for node packs: ComfyUI's attention functions, computed with PyTorch's
scaled-dot-product attention (what ComfyUI runs with ``--use-pytorch-cross-attention``).

``q``, ``k``, ``v`` are ``[batch, tokens, heads·dim_head]`` (or ``[batch, heads, tokens, dim_head]`` with
``skip_reshape``); the result is ``[batch, tokens, heads·dim_head]`` (``[batch, heads, tokens, dim_head]`` with
``skip_output_reshape``). ComfyUI's network classes in this module are stand-ins.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from ....stubs import comfy_attribute

SDP_BATCH_LIMIT = 2 ** 15


def attention_pytorch(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None,
                      attn_precision: Any = None, skip_reshape: bool = False, skip_output_reshape: bool = False,
                      **kwargs: Any) -> torch.Tensor:
    if skip_reshape:
        b, _, _, dim_head = q.shape
    else:
        b, _, inner = q.shape
        dim_head = inner // heads
        q, k, v = (t.view(b, -1, heads, dim_head).transpose(1, 2) for t in (q, k, v))
    if mask is not None:
        if mask.ndim == 2:
            mask = mask.unsqueeze(0)
        if mask.ndim == 3:
            mask = mask.unsqueeze(1)
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, is_causal=False)
    if skip_output_reshape:
        return out
    return out.transpose(1, 2).reshape(b, -1, heads * dim_head)


attention_basic = attention_pytorch
attention_split = attention_pytorch
attention_sub_quad = attention_pytorch
optimized_attention = attention_pytorch
optimized_attention_masked = attention_pytorch


def optimized_attention_for_device(device: Any, mask: bool = False, small_input: bool = False) -> Any:
    return attention_pytorch


def __getattr__(name: str) -> Any:
    return comfy_attribute("comfy.ldm.modules.attention", name)
