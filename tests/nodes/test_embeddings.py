"""Textual-inversion embeddings (``embedding:NAME`` in a prompt), checked against the tokens they copy.

Each test embedding holds the token-embedding rows of real words, so a prompt using it must encode exactly
like the prompt with those words: that pins where the vectors go, their weights and the chunking.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from inkgraph.engine.core.paths import Folders
from inkgraph.engine.core.settings import Settings
from inkgraph.nodes.diffusion.embeddings import referenced_files
from inkgraph.nodes.diffusion.text import encode_prompt, tokenizer
from tests.fixtures.tiny_sd import build


@pytest.fixture(scope="module")
def sd1() -> list[Any]:
    return [build("sd1", seed=4)["text_encoder"].eval()]


@pytest.fixture(scope="module")
def sdxl() -> list[Any]:
    models = build("sdxl", seed=4)
    return [models["text_encoder"].eval(), models["text_encoder_2"].eval()]


@pytest.fixture
def folders(tmp_path: Path) -> Folders:
    folders = Folders.at(tmp_path).ensure()
    (folders.models / "embeddings").mkdir(parents=True)
    return folders


def rows(encoder: Any, words: str) -> torch.Tensor:
    ids = tokenizer()(words, add_special_tokens=False)["input_ids"]
    return encoder.get_input_embeddings().weight[ids].detach().clone()


def encode(encoders: list[Any], kind: str, text: str, folders: Folders,
           warnings: list[str] | None = None) -> torch.Tensor:
    with torch.inference_mode():
        return encode_prompt(encoders, kind, None, text, folders, warnings)[0][0]


def test_a1111_pt_embedding_encodes_like_its_words(sd1: list[Any], folders: Folders) -> None:
    embeddings = folders.models / "embeddings"
    torch.save({"string_to_param": {"*": rows(sd1[0], "red circle")}, "name": "redcircle"},
               embeddings / "redcircle.pt")
    expected = encode(sd1, "sd1", "a red circle on grass", folders)
    assert torch.allclose(encode(sd1, "sd1", "a embedding:redcircle on grass", folders), expected, atol=1e-6)
    weighted = encode(sd1, "sd1", "a (red circle:1.3) on grass", folders)
    assert torch.allclose(encode(sd1, "sd1", "a (embedding:redcircle:1.3) on grass", folders), weighted,
                          atol=1e-6)
    assert not torch.allclose(weighted, expected)


def test_safetensors_embedding_in_a_subfolder_with_trailing_comma(sd1: list[Any], folders: Folders) -> None:
    (folders.models / "embeddings" / "styles").mkdir()
    target = folders.models / "embeddings" / "styles" / "bsq.safetensors"
    save_file({"emb_params": rows(sd1[0], "blue square")}, str(target))
    expected = encode(sd1, "sd1", "blue square, cat", folders)
    assert torch.allclose(encode(sd1, "sd1", "embedding:bsq, cat", folders), expected, atol=1e-6)
    assert torch.allclose(encode(sd1, "sd1", "embedding:styles/bsq.safetensors, cat", folders), expected, atol=1e-6)


def test_sdxl_embedding_gives_each_encoder_its_vectors(sdxl: list[Any], folders: Folders) -> None:
    save_file({"clip_l": rows(sdxl[0], "green tree"), "clip_g": rows(sdxl[1], "green tree")},
              str(folders.models / "embeddings" / "tree.safetensors"))
    expected = encode(sdxl, "sdxl", "a green tree", folders)
    assert torch.allclose(encode(sdxl, "sdxl", "a embedding:tree", folders), expected, atol=1e-6)


def test_missing_or_mismatched_embeddings_are_ignored_with_a_warning(sd1: list[Any], folders: Folders) -> None:
    torch.save({"string_to_param": {"*": torch.randn(2, 48)}}, folders.models / "embeddings" / "wide.pt")
    plain = encode(sd1, "sd1", "a cat", folders)
    warnings: list[str] = []
    assert torch.allclose(encode(sd1, "sd1", "a embedding:nothing cat", folders, warnings), plain, atol=1e-6)
    assert torch.allclose(encode(sd1, "sd1", "a embedding:wide cat", folders, warnings), plain, atol=1e-6)
    assert torch.allclose(encode(sd1, "sd1", "a embedding:../../../etc/passwd cat", folders, warnings), plain,
                          atol=1e-6)
    assert warnings[0] == "embedding:nothing does not exist, ignoring"
    assert "no 32-wide vectors for clip_l" in warnings[1]
    assert "does not exist" in warnings[2]


def test_fingerprint_follows_the_embedding_file(sd1: list[Any], folders: Folders) -> None:
    text = "a (embedding:mine:1.2), cat"
    before = referenced_files(folders, text)
    assert before and all(path == "" for _, path, _ in before)
    torch.save({"string_to_param": {"*": torch.randn(1, 32)}}, folders.models / "embeddings" / "mine.pt")
    after = referenced_files(folders, text)
    assert after != before and any(path.endswith("mine.pt") for _, path, _ in after)
    assert referenced_files(folders, "no embeddings here") == ()


def test_clip_text_encode_node_reports_a_missing_embedding(tmp_path: Path) -> None:
    from inkgraph.engine.core.events import ProgressText
    from inkgraph.engine.runtime import Runtime
    from tests.fixtures.tiny_sd import save_single_file

    save_single_file("sd1", tmp_path / "models" / "checkpoints" / "tiny.safetensors", seed=1)
    runtime = Runtime.create(Settings(base_dir=tmp_path))
    texts: list[str] = []
    runtime.bus.subscribe(lambda event, target: texts.append(event.text) if isinstance(event, ProgressText) else None)
    prompt = {"1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "tiny.safetensors"}},
              "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "embedding:gone cat", "clip": ["1", 1]}},
              "3": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
              "4": {"class_type": "KSampler", "inputs": {
                  "seed": 1, "steps": 1, "cfg": 1.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
                  "model": ["1", 0], "positive": ["2", 0], "negative": ["2", 0], "latent_image": ["3", 0]}},
              "5": {"class_type": "VAEDecode", "inputs": {"samples": ["4", 0], "vae": ["1", 2]}},
              "6": {"class_type": "PreviewImage", "inputs": {"images": ["5", 0]}}}
    result, outcome = runtime.run(prompt)
    assert result.ok and outcome is not None and outcome.status_str == "success"
    assert "embedding:gone does not exist, ignoring" in texts
