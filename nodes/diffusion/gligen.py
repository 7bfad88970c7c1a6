"""GLIGEN (grounded generation): text boxes steering where things appear, for SD1.x UNets.

A GLIGEN file holds a ``position_net`` (the boxes' Fourier features and each box's pooled CLIP text →
grounding tokens) and one gated self-attention ``fuser`` per transformer block of the UNet, stored under the
original (LDM) block names: ``input_blocks.{i}.1.transformer_blocks.0.fuser.*``, ``middle_block.1.…``,
``output_blocks.{i}.1.…`` (any prefix before them). The fusers are ordered as ComfyUI's loader orders them
(input blocks, middle block, output blocks; by block number), which is the order of the UNet's
transformers, so fuser ``k`` runs in the ``k``-th transformer (ComfyUI's ``transformer_index``).

During sampling an entry carrying ``gligen`` = ("position", GLIGEN, [(pooled, h, w, y, x), …]) (boxes in
latent cells, from GLIGENTextBoxApply) runs the network with a ``middle_patch`` — after each transformer
block's self-attention — that adds the fuser's gated attention over the visual and grounding tokens
(``patches.unet_hooks``). Boxes are normalised by the size of the input the entry runs on, at most 30.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from .patches.attention import attention

MAX_OBJECTS = 30
BLOCK_KINDS = ("input_blocks", "middle_block", "output_blocks")


class FourierEmbedder:
    """sin and cos of each box coordinate at ``num_freqs`` frequencies temperature^(i/num_freqs)."""

    def __init__(self, num_freqs: int = 8, temperature: float = 100.0) -> None:
        self.freq_bands = temperature ** (torch.arange(num_freqs) / num_freqs)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        parts = []
        for freq in self.freq_bands:
            parts += [torch.sin(freq * x), torch.cos(freq * x)]
        return torch.cat(parts, -1)


class PositionNet(nn.Module):
    """Grounding tokens from boxes (x1, y1, x2, y2 in 0..1) and their texts' pooled embeddings; padded
    slots (mask 0) take the learned null features."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int = 512, fourier_freqs: int = 8) -> None:
        super().__init__()
        self.fourier_embedder = FourierEmbedder(fourier_freqs)
        self.position_dim = fourier_freqs * 2 * 4
        self.linears = nn.Sequential(nn.Linear(in_dim + self.position_dim, hidden), nn.SiLU(),
                                     nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, out_dim))
        self.null_positive_feature = nn.Parameter(torch.zeros([in_dim]))
        self.null_position_feature = nn.Parameter(torch.zeros([self.position_dim]))

    def forward(self, boxes: torch.Tensor, masks: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
        dtype: torch.dtype = self.null_positive_feature.dtype
        masks = masks.unsqueeze(-1).to(dtype)
        positions = self.fourier_embedder(boxes.to(dtype))
        embeddings = embeddings.to(dtype) * masks + (1 - masks) * self.null_positive_feature.view(1, 1, -1)
        positions = positions * masks + (1 - masks) * self.null_position_feature.view(1, 1, -1)
        out: torch.Tensor = self.linears(torch.cat([embeddings, positions], dim=-1))
        return out


class _Attention(nn.Module):
    """ComfyUI's CrossAttention as GLIGEN uses it (self-attention, ``heads`` of ``dim_head``)."""

    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_k = nn.Linear(dim, inner, bias=False)
        self.to_v = nn.Linear(dim, inner, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.to_out(attention(self.to_q(x), self.to_k(x), self.to_v(x), self.heads))
        return out


class _GEGLU(nn.Module):
    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x, gate = self.proj(x).chunk(2, dim=-1)
        return x * F.gelu(gate)


class _FeedForward(nn.Module):
    def __init__(self, dim: int, mult: int = 4) -> None:
        super().__init__()
        self.net = nn.Sequential(_GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x)
        return out


class GatedSelfAttentionDense(nn.Module):
    """One fuser: visual tokens attend over themselves and the grounding tokens, gated by tanh(α)."""

    def __init__(self, query_dim: int, context_dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.linear = nn.Linear(context_dim, query_dim)
        self.attn = _Attention(query_dim, heads, dim_head)
        self.ff = _FeedForward(query_dim)
        self.norm1 = nn.LayerNorm(query_dim)
        self.norm2 = nn.LayerNorm(query_dim)
        self.alpha_attn = nn.Parameter(torch.tensor(0.0))
        self.alpha_dense = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor, objs: torch.Tensor) -> torch.Tensor:
        visual = x.shape[1]
        objs = self.linear(objs)
        x = x + torch.tanh(self.alpha_attn) * self.attn(self.norm1(torch.cat([x, objs], dim=1)))[:, :visual]
        out: torch.Tensor = x + torch.tanh(self.alpha_dense) * self.ff(self.norm2(x))
        return out


class Gligen(nn.Module):
    """The fusers (in transformer order) and the position net; ``key_dim`` is the width of a box's text."""

    def __init__(self, fusers: list[GatedSelfAttentionDense], position_net: PositionNet, key_dim: int) -> None:
        super().__init__()
        self.module_list = nn.ModuleList(fusers)
        self.position_net = position_net
        self.key_dim = key_dim

    def objects(self, latent_shape: tuple[int, ...], boxes: list[Any] | None, device: torch.device) -> torch.Tensor:
        """Grounding tokens [B, 30, out_dim] for an input of ``latent_shape``; ``boxes`` None: none at all
        (ComfyUI's set_empty). Each box is (pooled [1, key_dim], h, w, y, x) in latent cells."""
        batch, _, height, width = latent_shape[:4]
        masks = torch.zeros([MAX_OBJECTS])
        coords = torch.zeros([MAX_OBJECTS, 4])
        texts = torch.zeros([MAX_OBJECTS, self.key_dim])
        if boxes is not None:
            if len(boxes) > MAX_OBJECTS:
                raise ValueError(f"GLIGEN takes at most {MAX_OBJECTS} text boxes per conditioning; found {len(boxes)}")
            for n, (pooled, h, w, y, x) in enumerate(boxes):
                masks[n] = 1.0
                coords[n] = torch.tensor((x / width, y / height, (x + w) / width, (y + h) / height))
                texts[n] = pooled.reshape(-1).float()
        param = next(self.position_net.parameters())
        objs: torch.Tensor = self.position_net(coords.repeat(batch, 1, 1).to(param.device),
                                               masks.repeat(batch, 1).to(param.device),
                                               texts.repeat(batch, 1, 1).to(param.device))
        return objs.to(device)

    def middle_patch(self, objs: torch.Tensor) -> Callable[[torch.Tensor, dict[str, Any]], torch.Tensor]:
        """The transformer blocks' ``middle_patch``: the fuser of the block's transformer on its tokens."""
        def patch(x: torch.Tensor, extra_options: dict[str, Any]) -> torch.Tensor:
            fuser = self.module_list[extra_options["transformer_index"]]
            dtype = fuser.linear.weight.dtype
            out: torch.Tensor = fuser(x.to(dtype), objs.to(x.device, dtype))
            return out.to(x.dtype)

        patch.node_name = "GLIGENTextBoxApply"  # type: ignore[attr-defined]  # named in "cannot run" errors
        return patch


def _heads(query_dim: int, key_dim: int) -> tuple[int, int]:
    """(heads, dim_head) of a fuser, as ComfyUI sets them: 8 heads with SD1's 768-wide text, else heads of 64
    (at least one head, for models narrower than 64)."""
    if key_dim == 768:
        return 8, query_dim // 8
    heads = max(1, query_dim // 64)
    return heads, query_dim // heads


def fuser_states(state: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Each transformer block's fuser weights, in transformer order (ComfyUI's load_gligen order)."""
    out = []
    for kind in BLOCK_KINDS:
        for number in range(20):
            marker = f"{kind}.{number}."
            found = {k.split(".fuser.")[-1]: v for k, v in state.items() if marker in k and ".fuser." in k}
            if found:
                out.append(found)
    return out


def build(state: dict[str, torch.Tensor], source: str = "GLIGEN file") -> Gligen:
    """A :class:`Gligen` from a file's tensors (architecture read from the shapes)."""
    fusers = []
    key_dim = 768
    for found in fuser_states(state):
        if "linear.weight" not in found:
            raise ValueError(f"{source}: a GLIGEN fuser without linear.weight (found {sorted(found)[:4]})")
        query_dim, key_dim = found["linear.weight"].shape
        heads, dim_head = _heads(query_dim, key_dim)
        fuser = GatedSelfAttentionDense(query_dim, key_dim, heads, dim_head)
        missing = fuser.load_state_dict(found, strict=False).missing_keys
        if missing:
            raise ValueError(f"{source}: GLIGEN fuser weights missing: {', '.join(missing)}")
        fusers.append(fuser)
    if "position_net.null_positive_feature" not in state or not fusers:
        raise ValueError(f"{source} is not a GLIGEN model: it needs position_net.* and per-block "
                         f"*.fuser.* weights (found {len(fusers)} fusers)")
    in_dim = state["position_net.null_positive_feature"].shape[0]
    hidden, out_dim = state["position_net.linears.0.weight"].shape[0], state["position_net.linears.4.weight"].shape[0]
    net = PositionNet(in_dim, out_dim, hidden)
    net.load_state_dict({k.removeprefix("position_net."): v for k, v in state.items()
                         if k.startswith("position_net.")})
    return Gligen(fusers, net, key_dim).eval().requires_grad_(False)


@dataclass(frozen=True)
class GligenHandle:
    """A GLIGEN value: a model the model manager owns (placed beside the UNet while an entry uses it)."""

    manager: Any = field(repr=False, compare=False)
    key: Any

    def cache_nbytes(self) -> int:
        return 64

    @contextmanager
    def use(self) -> Iterator[Gligen]:
        with self.manager.use(self.key) as (model,):
            yield model


def patches_for(value: Any) -> Callable[[tuple[int, ...], torch.device], AbstractContextManager[dict[str, list[Any]]]]:
    """What an entry's ``gligen`` option runs in the network: the middle_patch for an input of a shape."""
    kind, handle = value[0], value[1]
    boxes = list(value[2]) if kind == "position" and len(value) > 2 else None

    @contextmanager
    def provide(shape: tuple[int, ...], device: torch.device) -> Iterator[dict[str, list[Any]]]:
        with handle.use() as model, torch.inference_mode():
            yield {"middle_patch": [model.middle_patch(model.objects(shape, boxes, device))]}

    return provide

