"""GGML's block formats, dequantized in torch (so the same code runs on the CPU and on CUDA).

A quantized GGML tensor is stored row by row along its innermost dimension (the last one in torch's
order); each row is a run of fixed-size blocks, each block holding ``block_size`` values in
``type_size`` bytes: one or two fp16 scales and the packed integer codes. The layouts below follow ggml's
``block_q*`` structs (ggml-common.h) and ``dequantize_row_q*`` (ggml-quants.c); they are checked against
the ``gguf`` package's numpy dequantizers, value for value, in ``tests/nodes/test_gguf.py``.

Every function takes blocks as a ``[n, type_size]`` uint8 tensor and returns ``[n, block_size]`` float32;
the float32 arithmetic matches the reference's operation for operation, so results are bit-identical to
it. Nothing here imports the ``gguf`` package: computing from a loaded model never needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

QK_K = 256  # values per super-block of the K-quants


def _f16(blocks: torch.Tensor, start: int) -> torch.Tensor:
    """The fp16 at byte ``start`` of every block, as float32 ``[n, 1]``."""
    return blocks[:, start:start + 2].contiguous().view(torch.float16).float()


def _shifts(values: list[int], device: torch.device, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.uint8, device=device).reshape(shape)


def _nibbles(packed: torch.Tensor) -> torch.Tensor:
    """``[n, k]`` bytes → ``[n, 2k]``: the k low nibbles, then the k high ones (ggml's order)."""
    return torch.cat([packed & 0x0F, packed >> 4], dim=-1)


def _bits(packed: torch.Tensor) -> torch.Tensor:
    """``[n, k]`` bytes → ``[n, 8k]`` single bits, least significant first (a little-endian bit field)."""
    shifted = packed.unsqueeze(-1) >> _shifts(list(range(8)), packed.device, (1, 1, 8))
    return (shifted & 1).reshape(packed.shape[0], -1)


def q4_0(blocks: torch.Tensor) -> torch.Tensor:
    """fp16 d, 16 bytes of 4-bit codes: x = d·(q − 8)."""
    d = _f16(blocks, 0)
    q = _nibbles(blocks[:, 2:]).to(torch.int8) - 8
    return d * q.float()


def q4_1(blocks: torch.Tensor) -> torch.Tensor:
    """fp16 d, fp16 m, 16 bytes of 4-bit codes: x = d·q + m."""
    d, m = _f16(blocks, 0), _f16(blocks, 2)
    return d * _nibbles(blocks[:, 4:]).float() + m


def _five_bits(qh: torch.Tensor, qs: torch.Tensor) -> torch.Tensor:
    """Q5_0/Q5_1 codes: 4 low bits from the nibbles, the fifth from the 32-bit field ``qh``."""
    return _nibbles(qs) | (_bits(qh) << 4)


def q5_0(blocks: torch.Tensor) -> torch.Tensor:
    """fp16 d, 32 high bits, 16 bytes of low nibbles: x = d·(q − 16)."""
    d = _f16(blocks, 0)
    q = _five_bits(blocks[:, 2:6], blocks[:, 6:]).to(torch.int8) - 16
    return d * q.float()


def q5_1(blocks: torch.Tensor) -> torch.Tensor:
    """fp16 d, fp16 m, 32 high bits, 16 bytes of low nibbles: x = d·q + m."""
    d, m = _f16(blocks, 0), _f16(blocks, 2)
    return d * _five_bits(blocks[:, 4:8], blocks[:, 8:]).float() + m


def q8_0(blocks: torch.Tensor) -> torch.Tensor:
    """fp16 d, 32 signed bytes: x = d·q."""
    d = _f16(blocks, 0)
    return blocks[:, 2:].contiguous().view(torch.int8).float() * d


def q2_k(blocks: torch.Tensor) -> torch.Tensor:
    """16 bytes of (4-bit scale | 4-bit min) per 16 values, 64 bytes of 2-bit codes, fp16 d, fp16 dmin:
    x = d·scale·q − dmin·min."""
    n = blocks.shape[0]
    scales, qs = blocks[:, :16], blocks[:, 16:80]
    d, dmin = _f16(blocks, 80), _f16(blocks, 82)
    dl = (d * (scales & 0x0F).float()).reshape(n, 16, 1)
    ml = (dmin * (scales >> 4).float()).reshape(n, 16, 1)
    q = (qs.reshape(n, 2, 1, 32) >> _shifts([0, 2, 4, 6], blocks.device, (1, 1, 4, 1))) & 3
    return (dl * q.reshape(n, 16, 16).float() - ml).reshape(n, QK_K)


def q3_k(blocks: torch.Tensor) -> torch.Tensor:
    """32 bytes of high bits (set = no offset), 64 bytes of 2-bit codes, 12 bytes of 6-bit signed scales
    (16 of them, packed), fp16 d: x = d·(scale − 32)·(q − 4·(1 − h))."""
    n = blocks.shape[0]
    hmask, qs, scales = blocks[:, :32], blocks[:, 32:96], blocks[:, 96:108]
    d = _f16(blocks, 108)
    low = (scales[:, :8].reshape(n, 1, 8) >> _shifts([0, 4], blocks.device, (1, 2, 1))).reshape(n, 16)
    high = (scales[:, 8:].reshape(n, 1, 4) >> _shifts([0, 2, 4, 6], blocks.device, (1, 4, 1))).reshape(n, 16)
    sc = ((low & 0x0F) | ((high & 0x03) << 4)).to(torch.int8) - 32
    dl = (d * sc.float()).reshape(n, 16, 1)
    ql = (qs.reshape(n, 2, 1, 32) >> _shifts([0, 2, 4, 6], blocks.device, (1, 1, 4, 1))).reshape(n, 16, 16) & 3
    qh = (hmask.reshape(n, 1, 1, 32) >> _shifts(list(range(8)), blocks.device, (1, 1, 8, 1))).reshape(n, 16, 16) & 1
    q = ql.to(torch.int8) - ((qh ^ 1) << 2).to(torch.int8)
    return (dl * q.float()).reshape(n, QK_K)


def _k_scales(scales: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Q4_K/Q5_K: 8 six-bit scales and 8 six-bit mins packed in 12 bytes (ggml's get_scale_min_k4)."""
    n = scales.shape[0]
    packed = scales.reshape(n, 3, 4)
    d, m, md = packed[:, 0], packed[:, 1], packed[:, 2]
    sc = torch.cat([d & 0x3F, (md & 0x0F) | ((d >> 2) & 0x30)], dim=-1)
    mins = torch.cat([m & 0x3F, (md >> 4) | ((m >> 2) & 0x30)], dim=-1)
    return sc, mins


def q4_k(blocks: torch.Tensor) -> torch.Tensor:
    """fp16 d, fp16 dmin, 12 bytes of scales and mins (one each per 32 values), 128 bytes of nibbles:
    x = d·scale·q − dmin·min."""
    n = blocks.shape[0]
    d, dmin = _f16(blocks, 0), _f16(blocks, 2)
    sc, mins = _k_scales(blocks[:, 4:16])
    dl = (d * sc.float()).reshape(n, 8, 1)
    ml = (dmin * mins.float()).reshape(n, 8, 1)
    q = (blocks[:, 16:].reshape(n, 4, 1, 32) >> _shifts([0, 4], blocks.device, (1, 1, 2, 1))) & 0x0F
    return (dl * q.reshape(n, 8, 32).float() - ml).reshape(n, QK_K)


def q5_k(blocks: torch.Tensor) -> torch.Tensor:
    """As Q4_K with 32 bytes of fifth bits before the nibbles."""
    n = blocks.shape[0]
    d, dmin = _f16(blocks, 0), _f16(blocks, 2)
    sc, mins = _k_scales(blocks[:, 4:16])
    dl = (d * sc.float()).reshape(n, 8, 1)
    ml = (dmin * mins.float()).reshape(n, 8, 1)
    qh, qs = blocks[:, 16:48], blocks[:, 48:]
    ql = (qs.reshape(n, 4, 1, 32) >> _shifts([0, 4], blocks.device, (1, 1, 2, 1))).reshape(n, 8, 32) & 0x0F
    high = (qh.reshape(n, 1, 1, 32) >> _shifts(list(range(8)), blocks.device, (1, 1, 8, 1))).reshape(n, 8, 32) & 1
    return (dl * (ql | (high << 4)).float() - ml).reshape(n, QK_K)


def q6_k(blocks: torch.Tensor) -> torch.Tensor:
    """128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 signed 8-bit scales, fp16 d:
    x = d·scale·(q − 32)."""
    n = blocks.shape[0]
    ql, qh, scales = blocks[:, :128], blocks[:, 128:192], blocks[:, 192:208]
    d = _f16(blocks, 208)
    dl = (d * scales.contiguous().view(torch.int8).float()).reshape(n, 16, 1)
    low = (ql.reshape(n, 2, 1, 64) >> _shifts([0, 4], blocks.device, (1, 1, 2, 1))).reshape(n, 8, 32) & 0x0F
    high = (qh.reshape(n, 2, 1, 32) >> _shifts([0, 2, 4, 6], blocks.device, (1, 1, 4, 1))).reshape(n, 8, 32) & 3
    q = (low | (high << 4)).to(torch.int8) - 32
    return (dl * q.reshape(n, 16, 16).float()).reshape(n, QK_K)


@dataclass(frozen=True)
class BlockFormat:
    name: str
    block_size: int  # values per block
    type_size: int  # bytes per block
    decode: Callable[[torch.Tensor], torch.Tensor]


# GGML type id → format (ids from ggml.h's enum ggml_type, as the gguf package's GGMLQuantizationType)
QUANTIZED: dict[int, BlockFormat] = {
    2: BlockFormat("Q4_0", 32, 18, q4_0),
    3: BlockFormat("Q4_1", 32, 20, q4_1),
    6: BlockFormat("Q5_0", 32, 22, q5_0),
    7: BlockFormat("Q5_1", 32, 24, q5_1),
    8: BlockFormat("Q8_0", 32, 34, q8_0),
    10: BlockFormat("Q2_K", QK_K, 84, q2_k),
    11: BlockFormat("Q3_K", QK_K, 110, q3_k),
    12: BlockFormat("Q4_K", QK_K, 144, q4_k),
    13: BlockFormat("Q5_K", QK_K, 176, q5_k),
    14: BlockFormat("Q6_K", QK_K, 210, q6_k),
}
# GGML type id → (name, torch dtype) of the types stored as plain arrays
PLAIN: dict[int, tuple[str, torch.dtype]] = {
    0: ("F32", torch.float32), 1: ("F16", torch.float16), 30: ("BF16", torch.bfloat16), 28: ("F64", torch.float64),
    24: ("I8", torch.int8), 25: ("I16", torch.int16), 26: ("I32", torch.int32), 27: ("I64", torch.int64),
}


def dequantize(raw: torch.Tensor, qtype: int, shape: torch.Size, dtype: torch.dtype = torch.float32
               ) -> torch.Tensor:
    """The values of a quantized tensor: ``raw`` its blocks (bytes as uint8 or int8, any shape holding
    whole blocks, in the file's order), ``shape`` its logical (torch-order) shape; computed in float32,
    returned as ``dtype`` on ``raw``'s device."""
    fmt = QUANTIZED[qtype]
    blocks = raw.reshape(-1, fmt.type_size).view(torch.uint8)
    values = fmt.decode(blocks).reshape(shape)
    return values if dtype == torch.float32 else values.to(dtype)
