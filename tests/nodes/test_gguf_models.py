"""GGUF diffusion models through the real loader: a tiny SD1 UNet saved as ComfyUI-GGUF users have it
(LDM keys, no prefix, convolutions flattened into 256-wide rows), in every supported type, loads through
``load_diffusion_model``, stays at its file's size in memory, computes exactly what the file holds, and
takes LoRAs at dequantization time without its blocks ever being rewritten."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import gguf
import numpy as np
import pytest
import torch
from gguf import GGMLQuantizationType as Q
from safetensors.torch import save_file

from inkgraph.engine.core.devices import module_nbytes
from inkgraph.nodes.diffusion import lora as lora_mod
from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.gguf_ops import GGUFConv2d, GGUFLayer, GGUFLinear, quantized_layers
from inkgraph.nodes.diffusion.ldm_format import unet_diffusers_to_ldm
from tests.fixtures import tiny_gguf
from tests.nodes.test_families import SD1, _call, _unet

# Relative L2 error of the UNet's output against the float model it was quantized from, per type: the
# quantization's own error (with the simple quantizers of tests/fixtures/tiny_gguf.py), measured
# 1.3e-4 F16, 1.0e-3 BF16, 4.9e-3 Q8_0, 0.017 Q6_K, 0.022-0.025 Q5_*, 0.053-0.067 Q4_*, 0.16 Q3_K/Q2_K;
# the bounds leave about twice that.
TOLERANCE = {Q.F16: 5e-4, Q.BF16: 3e-3, Q.Q8_0: 0.012, Q.Q6_K: 0.04, Q.Q5_K: 0.05, Q.Q5_1: 0.05, Q.Q5_0: 0.05,
             Q.Q4_K: 0.12, Q.Q4_1: 0.12, Q.Q4_0: 0.13, Q.Q3_K: 0.3, Q.Q2_K: 0.3}


@pytest.fixture(scope="module")
def original() -> Any:
    return _unet(SD1)


@pytest.fixture(scope="module")
def ldm_state(original: Any) -> dict[str, torch.Tensor]:
    return unet_diffusers_to_ldm(original.state_dict(), original.config, prefix="")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, ldm_state: dict[str, torch.Tensor]) -> dict[Q, Path]:
    root = tmp_path_factory.mktemp("gguf")
    written = {}
    for qtype in TOLERANCE:
        path = root / f"tiny-sd1-{qtype.name}.gguf"
        tiny_gguf.write(path, ldm_state, qtype)
        written[qtype] = path
    return written


def reference_file(path: Path) -> Path:
    """The same model in float32 safetensors, every tensor dequantized by the ``gguf`` package's numpy
    reference (and given back its original shape): what the GGUF file holds, computed without Inkgraph."""
    reader = gguf.GGUFReader(str(path))
    state = {}
    for tensor in reader.tensors:
        field = reader.get_field(f"comfy.gguf.orig_shape.{tensor.name}")
        shape = [int(v) for v in field.contents()] if field is not None else list(reversed(tensor.shape.tolist()))
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type)
        state[tensor.name] = torch.from_numpy(np.array(values, dtype=np.float32)).reshape(shape)
    out = path.with_suffix(".reference.safetensors")
    save_file(state, str(out))
    return out


@pytest.mark.parametrize("qtype", list(TOLERANCE), ids=lambda t: t.name)
def test_gguf_unet_loads_and_computes_what_the_file_holds(files: dict[Q, Path], original: Any, qtype: Q) -> None:
    path = files[qtype]
    detected, index = detect_file(path)
    assert detected.family.name == "sd1" and detected.prefix == ""
    assert index.metadata["general.architecture"] == "sd1"
    model, _ = load_diffusion_model(path, torch.float32)
    assert list(model.config.block_out_channels) == list(original.config.block_out_channels)
    layers = quantized_layers(model)
    if qtype in (Q.F16, Q.BF16):
        assert not layers
    else:
        assert {type(m) for m in layers.values()} == {GGUFLinear, GGUFConv2d}
        assert all(m.weight.dtype == torch.int8 for m in layers.values())  # bytes
    # exactly the reference's dequantized weights: the same output (float32 sums in the same order)
    reference, _ = load_diffusion_model(reference_file(path), torch.float32)
    out = _call(model, "sd1")
    assert torch.allclose(out, _call(reference, "sd1"), rtol=0, atol=1e-6)
    # and close to the float model it was quantized from, by the type's own error
    expected = _call(original, "sd1")
    relative = float((out - expected).norm() / expected.norm())
    assert relative < TOLERANCE[qtype], relative


def test_sdxl_gguf_with_comfyui_prefix(tmp_path: Path) -> None:
    """An SDXL UNet whose keys kept ComfyUI's ``model.diffusion_model.`` prefix: found and stripped as in a
    safetensors file."""
    from tests.nodes.test_families import SDXL

    original = _unet(SDXL)
    path = tmp_path / "tiny-sdxl-Q5_K.gguf"
    tiny_gguf.write(path, unet_diffusers_to_ldm(original.state_dict(), original.config), Q.Q5_K, arch="sdxl")
    detected, _ = detect_file(path)
    assert detected.family.name == "sdxl" and detected.prefix == "model.diffusion_model."
    model, _ = load_diffusion_model(path, torch.float32)
    reference, _ = load_diffusion_model(reference_file(path), torch.float32)
    assert quantized_layers(model)
    assert torch.allclose(_call(model, "sdxl"), _call(reference, "sdxl"), rtol=0, atol=1e-6)


@pytest.mark.parametrize("qtype", [Q.Q8_0, Q.Q5_K, Q.Q4_0, Q.Q2_K], ids=lambda t: t.name)
def test_a_quantized_model_takes_the_memory_of_its_file(files: dict[Q, Path], qtype: Q) -> None:
    path = files[qtype]
    model, _ = load_diffusion_model(path, torch.float32)
    reader = gguf.GGUFReader(str(path))
    quantized_bytes = sum(int(t.n_bytes) for t in reader.tensors if t.tensor_type not in (Q.F32, Q.F16))
    assert sum(m.weight.numel() for m in quantized_layers(model).values()) == quantized_bytes
    ratio = module_nbytes(model) / path.stat().st_size
    assert 0.95 < ratio <= 1.0, ratio  # the file's F32 tensors stay float32; the rest is its header


def test_bf16_compute_and_fp8_storage_leave_the_blocks_alone(files: dict[Q, Path], original: Any) -> None:
    model, _ = load_diffusion_model(files[Q.Q8_0], torch.bfloat16)
    layers = quantized_layers(model)
    assert {p.dtype for n, p in model.named_parameters()} == {torch.bfloat16, torch.int8}
    expected = _call(original, "sd1")
    with torch.no_grad():
        out = model(torch.randn(1, 4, 8, 8).bfloat16(), torch.tensor([500.0]),
                    encoder_hidden_states=torch.randn(1, 5, 768).bfloat16(), return_dict=False)[0]
    assert out.dtype == torch.bfloat16 and out.shape == expected.shape and torch.isfinite(out).all()
    stored, _ = load_diffusion_model(files[Q.Q8_0], torch.float32, storage=torch.float8_e4m3fn)
    assert set(quantized_layers(stored)) == set(layers)  # GGUF layers are not re-quantized to fp8


def _lora(model: torch.nn.Module, rank: int = 2) -> lora_mod.LoraFile:
    """A kohya LoRA on every attention projection (all of them GGUF layers here)."""
    generator = torch.Generator().manual_seed(11)
    state: dict[str, torch.Tensor] = {}
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) and name.endswith(("to_q", "to_k", "to_v")):
            stem = "lora_unet_" + name.replace(".", "_")
            state[stem + ".lora_down.weight"] = torch.randn(rank, module.in_features, generator=generator) * 0.1
            state[stem + ".lora_up.weight"] = torch.randn(module.out_features, rank, generator=generator) * 0.1
            state[stem + ".alpha"] = torch.tensor(1.0)
    return lora_mod.parse(state, "style.safetensors")


def _blocks_digest(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, layer in sorted(quantized_layers(model).items()):
        digest.update(name.encode() + layer.weight.numpy().tobytes())
    return digest.hexdigest()


def test_lora_patches_apply_at_dequantization_and_come_off_exactly(files: dict[Q, Path]) -> None:
    path = files[Q.Q4_K]
    model, _ = load_diffusion_model(path, torch.float32)
    reference, _ = load_diffusion_model(reference_file(path), torch.float32)
    lora = _lora(model)
    targets = [n for n, m in quantized_layers(model).items() if n.endswith(("to_q", "to_k", "to_v"))]
    assert targets and all(isinstance(quantized_layers(model)[n], GGUFLinear) for n in targets)
    base, blocks = _call(model, "sd1"), _blocks_digest(model)

    lora_mod.sync(model, "unet", ((lora, 0.8),), model.config)
    patched = _call(model, "sd1")
    assert not torch.allclose(patched, base, atol=1e-4)
    assert _blocks_digest(model) == blocks  # the quantized weights are never rewritten
    # the same LoRA on the float copy of the same weights, patched the ordinary way: the same output
    lora_mod.sync(reference, "unet", ((lora, 0.8),), reference.config)
    assert torch.allclose(patched, _call(reference, "sd1"), rtol=0, atol=1e-5)

    lora_mod.sync(model, "unet", (), model.config)
    assert torch.equal(_call(model, "sd1"), base)
    assert all(not layer.gguf_patches for layer in quantized_layers(model).values())


def test_a_lora_that_does_not_fit_a_gguf_layer_is_refused(files: dict[Q, Path]) -> None:
    model, _ = load_diffusion_model(files[Q.Q8_0], torch.float32)
    name, layer = next((n, m) for n, m in quantized_layers(model).items() if n.endswith("attn1.to_q"))
    wrong = {f"lora_unet_{name.replace('.', '_')}.lora_down.weight": torch.zeros(2, layer.in_features + 1),
             f"lora_unet_{name.replace('.', '_')}.lora_up.weight": torch.zeros(layer.out_features, 2)}
    with pytest.raises(ValueError, match="does not fit a weight of shape"):
        lora_mod.sync(model, "unet", ((lora_mod.parse(wrong, "bad"), 1.0),), model.config)


def test_gguf_layers_are_still_the_torch_layers_they_replace(files: dict[Q, Path]) -> None:
    model, _ = load_diffusion_model(files[Q.Q6_K], torch.bfloat16)
    layer = next(m for m in quantized_layers(model).values() if isinstance(m, GGUFLinear))
    assert isinstance(layer, torch.nn.Linear) and isinstance(layer, GGUFLayer)
    assert layer.gguf_weight(torch.float32).shape == (layer.out_features, layer.in_features)
    assert "gguf=Q6_K" in repr(layer)
    # state_dict() gives values (what CheckpointSave writes), the file's weights in the compute dtype
    reference, _ = load_diffusion_model(reference_file(files[Q.Q6_K]), torch.bfloat16)
    state, expected = model.state_dict(), reference.state_dict()
    assert state.keys() == expected.keys()
    assert all(v.dtype == torch.bfloat16 and torch.equal(v, expected[k]) for k, v in state.items())


def test_model_folders_list_gguf_files_where_comfyui_gguf_keeps_them(tmp_path: Path) -> None:
    from inkgraph.engine.core.paths import Folders

    for folder in ("unet", "diffusion_models", "clip", "text_encoders", "checkpoints"):
        (tmp_path / "models" / folder).mkdir(parents=True)
        (tmp_path / "models" / folder / f"{folder}-Q4_K_S.gguf").write_bytes(b"")
    folders = Folders.at(tmp_path)
    assert folders.model_files("diffusion_models") == ["diffusion_models-Q4_K_S.gguf", "unet-Q4_K_S.gguf"]
    assert folders.model_files("text_encoders") == ["clip-Q4_K_S.gguf", "text_encoders-Q4_K_S.gguf"]
    assert not [name for name in folders.model_files("checkpoints") if name.endswith(".gguf")]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_gguf_model_runs_on_cuda(files: dict[Q, Path], original: Any, dtype: torch.dtype) -> None:
    model, _ = load_diffusion_model(files[Q.Q4_K], dtype)
    model.to("cuda")
    assert all(m.weight.device.type == "cuda" and m.weight.dtype == torch.int8
               for m in quantized_layers(model).values())
    torch.manual_seed(3)
    x, context = torch.randn(1, 4, 8, 8), torch.randn(1, 5, 768)
    with torch.no_grad():
        out = model(x.to("cuda", dtype), torch.tensor([500.0], device="cuda"),
                    encoder_hidden_states=context.to("cuda", dtype), return_dict=False)[0].float().cpu()
        expected = original(x, torch.tensor([500.0]), encoder_hidden_states=context, return_dict=False)[0]
    relative = float((out - expected).norm() / expected.norm())
    assert relative < TOLERANCE[Q.Q4_K] + 0.02, relative
