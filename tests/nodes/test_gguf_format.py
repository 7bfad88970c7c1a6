"""GGUF at the tensor level: every supported block format dequantizes exactly as the ``gguf`` package's
numpy reference does (random bytes, so every bit of every field is exercised), files are indexed with
their logical shapes, quantized tensors survive the row operations key converters use, and types that
cannot be read are errors naming the file, the tensor and the type."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as Q

from inkgraph.nodes.diffusion.ggml_blocks import QUANTIZED, dequantize
from inkgraph.nodes.diffusion.gguf_tensor import QuantizedTensor
from inkgraph.nodes.diffusion.state_dict import ModelFileError, index_file, read_state_dict
from tests.fixtures import tiny_gguf

# byte offsets of each format's fp16 fields: kept finite in the random blocks, so that NaN never hides a
# wrong value
F16_FIELDS = {Q.Q4_0: (0,), Q.Q4_1: (0, 2), Q.Q5_0: (0,), Q.Q5_1: (0, 2), Q.Q8_0: (0,), Q.Q2_K: (80, 82),
              Q.Q3_K: (108,), Q.Q4_K: (0, 2), Q.Q5_K: (0, 2), Q.Q6_K: (208,)}
TYPES = sorted(F16_FIELDS, key=int)


def random_blocks(qtype: Q, rows: int, blocks_per_row: int, seed: int = 0) -> np.ndarray:
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    data = np.random.default_rng(seed).integers(0, 256, size=(rows, blocks_per_row, size), dtype=np.uint8)
    for offset in F16_FIELDS[qtype]:
        data[..., offset + 1] &= 0xBF  # fp16 exponent at most 15 (of 30): finite, |x| < 2, either sign
    return data.reshape(rows, blocks_per_row * size)


def test_every_listed_type_is_tested() -> None:
    assert {int(t) for t in TYPES} == set(QUANTIZED)
    for qtype in TYPES:
        assert (QUANTIZED[int(qtype)].block_size, QUANTIZED[int(qtype)].type_size) == gguf.GGML_QUANT_SIZES[qtype]


@pytest.mark.parametrize("qtype", TYPES, ids=lambda t: t.name)
def test_dequantization_is_bit_exact_against_the_reference(qtype: Q) -> None:
    raw = random_blocks(qtype, rows=6, blocks_per_row=4)
    expected = gguf.quants.dequantize(raw, qtype)
    got = dequantize(torch.from_numpy(raw), int(qtype), torch.Size(expected.shape))
    assert got.dtype == torch.float32
    assert np.isfinite(expected).all()
    np.testing.assert_array_equal(got.numpy(), expected)


@pytest.mark.parametrize("qtype", TYPES, ids=lambda t: t.name)
def test_dequantization_into_half_types_is_the_rounded_float32(qtype: Q) -> None:
    raw = torch.from_numpy(random_blocks(qtype, rows=2, blocks_per_row=2, seed=1))
    shape = torch.Size((2, raw.shape[1] // gguf.GGML_QUANT_SIZES[qtype][1] * gguf.GGML_QUANT_SIZES[qtype][0]))
    full = dequantize(raw, int(qtype), shape)
    for dtype in (torch.float16, torch.bfloat16):
        assert torch.equal(dequantize(raw, int(qtype), shape, dtype), full.to(dtype))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("qtype", TYPES, ids=lambda t: t.name)
def test_dequantization_on_cuda_matches_the_cpu(qtype: Q) -> None:
    raw = torch.from_numpy(random_blocks(qtype, rows=64, blocks_per_row=8, seed=2))
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    shape = torch.Size((64, 8 * block))
    cpu = dequantize(raw, int(qtype), shape)
    assert torch.equal(dequantize(raw.cuda(), int(qtype), shape).cpu(), cpu)


def _quantized(qtype: Q = Q.Q8_0, shape: tuple[int, ...] = (12, 64)) -> QuantizedTensor:
    values = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    return QuantizedTensor(torch.from_numpy(tiny_gguf.quantize(values, qtype)).reshape(shape[0], -1), int(qtype), shape)


@pytest.mark.parametrize("qtype", [Q.Q8_0, Q.Q4_K], ids=lambda t: t.name)
def test_row_operations_of_key_converters_keep_the_blocks(qtype: Q) -> None:
    """What diffusers' Flux/SD3/Lumina converters do to fused weights: chunk, split, cat along rows."""
    q = _quantized(qtype, (12, 512))
    full = q.dequantize()
    a, b, c = torch.chunk(q, 3, dim=0)
    assert all(isinstance(p, QuantizedTensor) for p in (a, b, c))
    assert torch.equal(b.dequantize(), full[4:8])
    shift, scale = q.chunk(2, dim=0)
    swapped = torch.cat([scale, shift], dim=0)
    assert isinstance(swapped, QuantizedTensor) and torch.equal(swapped.dequantize(), torch.cat([full[6:], full[:6]]))
    first, rest = torch.split(q, [5, 7], dim=0)
    assert first.shape == (5, 512) and torch.equal(rest.dequantize(), full[5:])
    assert torch.equal(torch.cat([first]).dequantize(), full[:5])
    assert torch.equal(q[2:4].dequantize(), full[2:4])
    assert q.raw.data_ptr() <= b.raw.data_ptr() < q.raw.data_ptr() + q.nbytes  # views, not copies


def test_other_torch_functions_see_the_values() -> None:
    q = _quantized()
    full = q.dequantize()
    assert torch.equal(torch.transpose(q, 0, 1), full.T)  # type: ignore[arg-type]
    assert torch.equal(q.T, full.T)
    assert q.to(torch.float16).dtype == torch.float16 and torch.equal(q.float(), full)
    assert not q.is_floating_point()


def test_index_reads_logical_shapes_types_and_metadata(tmp_path: Path) -> None:
    state = {
        "conv.weight": torch.randn(32, 16, 3, 3),  # flattened into 256-wide rows, original shape recorded
        "proj.weight": torch.randn(48, 512),
        "proj.bias": torch.randn(48),
        "odd.weight": torch.randn(40, 33),  # no whole block: F16
    }
    path = tmp_path / "m.gguf"
    types = tiny_gguf.write(path, state, Q.Q4_K)
    assert types == {"conv.weight": Q.Q4_K, "proj.weight": Q.Q4_K, "proj.bias": Q.F32, "odd.weight": Q.F16}
    index = index_file(path)
    assert {k: index[k].shape for k in index} == {k: tuple(v.shape) for k, v in state.items()}
    assert {k: index[k].dtype for k in index} == {"conv.weight": "Q4_K", "proj.weight": "Q4_K", "proj.bias": "F32",
                                                  "odd.weight": "F16"}
    assert index.metadata["general.architecture"] == "sd1"
    tensors, _ = read_state_dict(path, cast=lambda key, t: t.to(torch.bfloat16), strip="")
    assert isinstance(tensors["conv.weight"], QuantizedTensor) and tensors["conv.weight"].shape == (32, 16, 3, 3)
    assert tensors["proj.bias"].dtype == torch.bfloat16 and torch.equal(tensors["proj.bias"],
                                                                         state["proj.bias"].bfloat16())
    assert torch.equal(tensors["odd.weight"], state["odd.weight"].half().bfloat16())
    conv = tensors["conv.weight"].dequantize()
    assert float((conv - state["conv.weight"]).norm() / state["conv.weight"].norm()) < 0.15


def test_bf16_and_f32_tensors_are_read_exactly(tmp_path: Path) -> None:
    values = torch.randn(8, 64)
    path = tmp_path / "plain.gguf"
    writer = gguf.GGUFWriter(str(path), arch="sd1")
    writer.add_tensor("a", gguf.quants.quantize(values.numpy(), Q.BF16), raw_dtype=Q.BF16)
    writer.add_tensor("b", values.numpy())
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tensors, _ = read_state_dict(path)
    assert tensors["a"].dtype == torch.bfloat16 and torch.equal(tensors["a"], values.bfloat16())
    assert tensors["b"].dtype == torch.float32 and torch.equal(tensors["b"], values)


def _write_raw(path: Path, name: str, qtype: Q, rows: int = 2) -> None:
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    writer = gguf.GGUFWriter(str(path), arch="flux")
    writer.add_tensor("ok.weight", np.zeros((4, 4), dtype=np.float32))
    writer.add_tensor(name, np.zeros((rows, size), dtype=np.uint8), raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_a_type_inkgraph_cannot_dequantize_names_file_tensor_and_type(tmp_path: Path) -> None:
    path = tmp_path / "exotic.gguf"
    _write_raw(path, "blocks.0.attn.weight", Q.IQ2_XXS)
    assert index_file(path)["blocks.0.attn.weight"].dtype == "IQ2_XXS"  # detection still sees the file
    with pytest.raises(ModelFileError, match=r"exotic\.gguf: tensor 'blocks\.0\.attn\.weight' is stored as IQ2_XXS"):
        read_state_dict(path)
    assert read_state_dict(path, keys=lambda k: k == "ok.weight")[0]["ok.weight"].shape == (4, 4)


def test_a_type_the_gguf_package_does_not_know_names_the_tensor(tmp_path: Path) -> None:
    path = tmp_path / "future.gguf"
    _write_raw(path, "blocks.0.mlp.weight", Q.Q8_0)
    data = bytearray(path.read_bytes())
    name = b"blocks.0.mlp.weight"
    at = data.index(name) + len(name)
    dims = int.from_bytes(data[at:at + 4], "little")
    type_at = at + 4 + 8 * dims
    assert int.from_bytes(data[type_at:type_at + 4], "little") == int(Q.Q8_0)
    data[type_at:type_at + 4] = (250).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match=r"future\.gguf: tensor 'blocks\.0\.mlp\.weight' is stored as type id 250"):
        index_file(path)


def test_a_file_that_is_not_gguf_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.gguf"
    path.write_bytes(b"not a gguf file at all")
    with pytest.raises(ModelFileError, match="broken.gguf cannot be read as GGUF"):
        index_file(path)
