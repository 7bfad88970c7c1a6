"""Model folders: the base tree, ComfyUI's extra_model_paths.yaml, cached listings that notice changes."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from inkgraph.engine.core.model_paths import parse_extra_model_paths
from inkgraph.engine.core.paths import Folders, PathEscapeError

YAML = """
comfyui:
    base_path: {comfy}
    is_default: true
    checkpoints: models/checkpoints/
    clip: models/clip/
    loras: |
        models/loras
        more_loras
a111:
    base_path: ~/a111-does-not-exist
    checkpoints: models/Stable-diffusion
other:
    vae: relative_vae
"""


def write(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_extra_model_paths_yaml(tmp_path: Path) -> None:
    comfy = tmp_path / "ComfyUI"
    yaml_file = tmp_path / "base" / "extra_model_paths.yaml"
    yaml_file.parent.mkdir()
    yaml_file.write_text(YAML.format(comfy=comfy))
    extras = {(e.folder, e.path, e.is_default) for e in parse_extra_model_paths(yaml_file)}
    assert ("checkpoints", comfy / "models" / "checkpoints", True) in extras
    assert ("text_encoders", comfy / "models" / "clip", True) in extras  # clip is text_encoders
    assert ("loras", comfy / "more_loras", True) in extras
    assert ("checkpoints", Path.home() / "a111-does-not-exist" / "models" / "Stable-diffusion", False) in extras
    assert ("vae", yaml_file.parent / "relative_vae", False) in extras

    write(comfy / "models" / "checkpoints" / "sd15.safetensors")
    write(tmp_path / "base" / "models" / "checkpoints" / "mine.ckpt")
    write(tmp_path / "base" / "models" / "checkpoints" / "notes.txt")
    write(comfy / "models" / "clip" / "sub" / "t5.safetensors")
    folders = Folders.at(tmp_path / "base")
    assert folders.model_dirs("checkpoints")[0] == comfy / "models" / "checkpoints"  # is_default first
    shipped = "inkgraph-demo.safetensors"  # the demo model is listed on every install
    assert folders.model_files("checkpoints") == [shipped, "mine.ckpt", "sd15.safetensors"]
    assert folders.model_files("clip") == ["sub/t5.safetensors"]
    expected = comfy / "models" / "checkpoints" / "sd15.safetensors"
    assert folders.model_path("checkpoints", "sd15.safetensors") == expected
    with pytest.raises(FileNotFoundError, match="checkpoints"):
        folders.model_path("checkpoints", "nope.safetensors")
    with pytest.raises(PathEscapeError):
        folders.model_path("checkpoints", "../../../etc/passwd")


def test_listing_is_cached_until_the_tree_changes(tmp_path: Path) -> None:
    folders = Folders.at(tmp_path)
    root = tmp_path / "models" / "loras"
    write(root / "a.safetensors")
    assert folders.model_files("loras") == ["a.safetensors"]
    write(root / "deep" / "b.safetensors")
    assert folders.model_files("loras") == ["a.safetensors", "deep/b.safetensors"]
    time.sleep(0.01)
    os.remove(root / "deep" / "b.safetensors")  # only the subfolder's mtime changes
    assert folders.model_files("loras") == ["a.safetensors"]
    write(root / "diffusion_models_legacy" / "c.pt")
    assert "diffusion_models_legacy/c.pt" in folders.model_files("loras")


def test_legacy_folder_names(tmp_path: Path) -> None:
    write(tmp_path / "models" / "unet" / "u.safetensors")
    write(tmp_path / "models" / "diffusion_models" / "d.safetensors")
    folders = Folders.at(tmp_path)
    assert folders.model_files("diffusion_models") == ["d.safetensors", "u.safetensors"]
    assert folders.model_files("unet") == folders.model_files("diffusion_models")
