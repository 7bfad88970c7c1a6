"""The model-family registry reads SD UNets' architecture from their tensors: stock layouts, other widths,
and the pruned/distilled shapes people download (SSD-1B-like uneven depths, BK-SDM without a middle
block), each saved as users have them (LDM keys, with or without ComfyUI's prefix, no configs inside)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.nodes.diffusion.families import detect_file, load_diffusion_model
from inkgraph.nodes.diffusion.ldm_format import unet_diffusers_to_ldm
from inkgraph.nodes.diffusion.state_dict import ModelFileError

SD1 = dict(block_out_channels=(64, 96), layers_per_block=2, cross_attention_dim=768, attention_head_dim=8,
           down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
SD2 = dict(block_out_channels=(64, 128), layers_per_block=1, cross_attention_dim=1024, attention_head_dim=(1, 2),
           use_linear_projection=True, down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
           up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D"))
SDXL = dict(block_out_channels=(64, 128), layers_per_block=2, cross_attention_dim=2048, attention_head_dim=(1, 2),
            use_linear_projection=True, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), transformer_layers_per_block=(1, 2),
            addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816)
SSD1B_LIKE = {**SDXL, "reverse_transformer_layers_per_block": ((2, 1, 1), (1, 1, 1))}
BKSDM_LIKE = {**SD1, "layers_per_block": 1, "mid_block_type": None}

CASES = {"sd1": ("sd1", SD1), "sd2": ("sd2", SD2), "sdxl": ("sdxl", SDXL), "ssd1b-like": ("sdxl", SSD1B_LIKE),
         "bksdm-like": ("sd1", BKSDM_LIKE)}


def _unet(config: dict[str, Any], seed: int = 0) -> Any:
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel(sample_size=8, in_channels=4, out_channels=4, norm_num_groups=32, **config)
    with torch.no_grad():
        for param in unet.parameters():
            param.copy_(torch.randn_like(param) * 0.05)
    return unet.eval()


def _save(unet: Any, path: Path, prefix: str) -> None:
    state = unet_diffusers_to_ldm(unet.state_dict(), unet.config, prefix=prefix)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in state.items()}, str(path))


def _call(unet: Any, family_name: str) -> torch.Tensor:
    torch.manual_seed(3)
    x = torch.randn(1, 4, 8, 8)
    context = torch.randn(1, 5, unet.config.cross_attention_dim)
    kwargs = {}
    if family_name == "sdxl":
        kwargs["added_cond_kwargs"] = {"text_embeds": torch.randn(1, 1280), "time_ids": torch.randn(1, 6)}
    with torch.no_grad():
        return unet(x, torch.tensor([500.0]), encoder_hidden_states=context, return_dict=False, **kwargs)[0]


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("prefix", ["model.diffusion_model.", ""])
def test_architecture_is_read_from_the_tensors(tmp_path: Path, case: str, prefix: str) -> None:
    family_name, config = CASES[case]
    original = _unet(config)
    path = tmp_path / f"{case}.safetensors"
    _save(original, path, prefix)
    detected, _ = detect_file(path)
    assert detected.family.name == family_name and detected.prefix == prefix
    model, _ = load_diffusion_model(path, torch.float32)
    for key in ("block_out_channels", "layers_per_block", "cross_attention_dim", "down_block_types",
                "up_block_types", "mid_block_type", "in_channels", "out_channels"):
        def plain(value: Any) -> Any:
            return list(value) if isinstance(value, (list, tuple)) else value

        assert plain(model.config[key]) == plain(original.config[key]), key
    got, expected = model.state_dict(), original.state_dict()
    assert got.keys() == expected.keys()
    assert all(torch.equal(got[k], v) for k, v in expected.items())
    assert torch.allclose(_call(model, family_name), _call(original, family_name), atol=1e-5)


def test_weights_are_read_into_the_compute_dtype(tmp_path: Path) -> None:
    path = tmp_path / "sd1.safetensors"
    _save(_unet(SD1), path, "model.diffusion_model.")
    model, detected = load_diffusion_model(path, torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    from inkgraph.nodes.diffusion.model_sampling import EPS, V_PREDICTION

    sampling = detected.family.model_sampling(detected)
    assert isinstance(sampling, EPS) and not isinstance(sampling, V_PREDICTION)


def test_fp8_storage_keeps_linear_weights_in_one_byte(tmp_path: Path) -> None:
    path = tmp_path / "sd1.safetensors"
    original = _unet(SD1)
    _save(original, path, "")
    model, _ = load_diffusion_model(path, torch.float32, storage=torch.float8_e4m3fn)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(m.weight.dtype == torch.float8_e4m3fn for m in linears)
    assert all(p.dtype == torch.float32 for n, p in model.named_parameters() if "conv" in n)
    reference, quantized = _call(original, "sd1"), _call(model, "sd1")
    assert quantized.dtype == torch.float32
    relative = float((quantized - reference).norm() / reference.norm())
    assert relative < 0.1, relative  # fp8 rounding, not a broken model


def test_a_file_of_no_known_family_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "lora.safetensors"
    save_file({"lora_unet_x.lora_down.weight": torch.zeros(2, 2)}, str(path))
    with pytest.raises(ModelFileError, match="lora.safetensors holds no diffusion model.*lora_unet_x"):
        detect_file(path)


def test_truncated_unet_names_the_missing_weights(tmp_path: Path) -> None:
    path = tmp_path / "cut.safetensors"
    state = unet_diffusers_to_ldm(_unet(SD1).state_dict(), _unet(SD1).config)
    state = {k: v.contiguous() for k, v in state.items() if "out.2" not in k}
    save_file(state, str(path))
    with pytest.raises(ModelFileError, match="cut.safetensors"):
        load_diffusion_model(path, torch.float32)
