"""Attention as ComfyUI's patches expect it: q, k, v as [batch, tokens, heads·dim_head].

``attention`` is ComfyUI's ``optimized_attention``: every tensor is viewed with the *query's* batch size, so
a patch that splits the queries into more batch items (HyperTile's tiles) makes each tile attend to the
matching slice of the keys, exactly as in ComfyUI. ``attention_with_scores`` also returns the softmaxed
scores [batch·heads, queries, keys] (Self-Attention Guidance reads them).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
              mask: torch.Tensor | None = None) -> torch.Tensor:
    b, _, inner = q.shape
    dim_head = inner // heads
    q, k, v = (t.view(b, -1, heads, dim_head).transpose(1, 2) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=0.0, is_causal=False)
    return out.transpose(1, 2).reshape(b, -1, heads * dim_head)


def attention_with_scores(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Plain softmax attention, with the scores (computed in float32, as ComfyUI's SAG does at fp32)."""
    b, _, inner = q.shape
    dim_head = inner // heads
    q, k, v = (t.reshape(b, -1, heads, dim_head).permute(0, 2, 1, 3).reshape(b * heads, -1, dim_head)
               for t in (q, k, v))
    scores = (torch.einsum("bid,bjd->bij", q.float(), k.float()) * dim_head ** -0.5).softmax(dim=-1)
    out = torch.einsum("bij,bjd->bid", scores.to(v.dtype), v)
    return out.reshape(b, heads, -1, dim_head).permute(0, 2, 1, 3).reshape(b, -1, heads * dim_head), scores
