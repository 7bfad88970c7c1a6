"""ComfyUI's ``folder_paths`` for ComfyUI packs, answered from Inkgraph's folders.

Model folders come from :class:`engine.paths.Folders` (so ``extra_model_paths.yaml`` applies);
``folder_names_and_paths`` holds every folder ComfyUI has (:mod:`.folder_table`), and folders a pack adds
(``add_model_folder_path``, or writing ``folder_names_and_paths``) are searched after Inkgraph's. Every
lookup by name stays inside its folder, as everywhere in Inkgraph.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core.model_paths import ALIASES, LISTING, MODEL_EXTENSIONS
from ..core.paths import PathEscapeError, next_counter, safe_join, save_target, split_annotation
from . import folders as _folders
from .folder_table import FolderTable
from .stubs import comfy_attribute

supported_pt_extensions: set[str] = set(MODEL_EXTENSIONS)
# Every folder ComfyUI knows (Inkgraph's paths first) plus those packs register.
folder_names_and_paths = FolderTable()


def __getattr__(name: str) -> Any:
    """``base_path``, ``models_dir``, ``output_directory`` … of the current runtime (PEP 562)."""
    f = _folders()
    values = {"base_path": f.base, "models_dir": f.models, "output_directory": f.output,
              "input_directory": f.input, "temp_directory": f.temp, "user_directory": f.user}
    if name in values:
        return str(values[name])
    return comfy_attribute("folder_paths", name)


def map_legacy(folder_name: str) -> str:
    """ComfyUI's old folder names (``clip``, ``unet``) mean today's (``text_encoders``, ``diffusion_models``)."""
    return ALIASES.get(folder_name, folder_name)


def _extensions(folder_name: str) -> frozenset[str] | None:
    return folder_names_and_paths.extensions(folder_name)


def get_folder_paths(folder_name: str) -> list[str]:
    name = map_legacy(folder_name)
    if name not in folder_names_and_paths:
        raise KeyError(folder_name)  # as ComfyUI's dict lookup does
    return list(folder_names_and_paths[name][0])


def add_model_folder_path(folder_name: str, full_folder_path: str, is_default: bool = False) -> None:
    folder_names_and_paths.add_path(folder_name, full_folder_path, is_default)


def get_filename_list(folder_name: str) -> list[str]:
    """Files (``sub/name.ext``) across the folder's directories; the first directory wins a name."""
    names: dict[str, None] = {}
    if map_legacy(folder_name) not in folder_names_and_paths:
        return []
    for directory in get_folder_paths(folder_name):
        names.update(dict.fromkeys(LISTING.files(Path(directory), _extensions(folder_name))))
    return sorted(names)


def filter_files_extensions(files: list[str], extensions: Any) -> list[str]:
    wanted = {e.lower() for e in extensions}
    return sorted(f for f in files if not wanted or os.path.splitext(f)[1].lower() in wanted)


def get_full_path(folder_name: str, filename: str) -> str | None:
    if map_legacy(folder_name) not in folder_names_and_paths:
        return None
    for directory in get_folder_paths(folder_name):
        try:
            candidate = safe_join(Path(directory), filename)
        except PathEscapeError:
            return None
        if candidate.is_file():
            return str(candidate)
    return None


def get_full_path_or_raise(folder_name: str, filename: str) -> str:
    path = get_full_path(folder_name, filename)
    if path is None:
        raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
    return path


def get_input_directory() -> str:
    return str(_folders().input)


def get_output_directory() -> str:
    return str(_folders().output)


def get_temp_directory() -> str:
    return str(_folders().temp)


def get_user_directory() -> str:
    return str(_folders().user)


def get_directory_by_type(type_name: str) -> str | None:
    return {"output": get_output_directory, "temp": get_temp_directory,
            "input": get_input_directory}.get(type_name, lambda: None)()


def annotated_filepath(name: str) -> tuple[str, str | None]:
    """(name without its ``[output]``/``[temp]``/``[input]`` annotation, the folder it names or None)."""
    for kind in ("output", "temp", "input"):
        suffix = f" [{kind}]"
        if name.endswith(suffix):
            return name[: -len(suffix)], get_directory_by_type(kind)
    return name, None


def get_annotated_filepath(name: str, default_dir: str | None = None) -> str:
    filename, folder = split_annotation(name, "input")
    if default_dir is not None and not name.endswith(("[output]", "[temp]", "[input]")):
        return str(safe_join(Path(default_dir), filename))
    return str(_folders().resolve(folder, filename))


def exists_annotated_filepath(name: str) -> bool:
    try:
        return os.path.exists(get_annotated_filepath(name))
    except PathEscapeError:
        return False


def get_input_subfolders() -> list[str]:
    root = _folders().input
    return sorted(str(p.relative_to(root)).replace("\\", "/") for p in root.rglob("*") if p.is_dir())


def get_save_image_path(filename_prefix: str, output_dir: str, image_width: int = 0, image_height: int = 0
                        ) -> tuple[str, str, int, str, str]:
    """(folder, file base name, next counter, subfolder, prefix) for ``<base>_<counter:05>_.png`` files."""
    target, base, subfolder = save_target(Path(output_dir), "output", filename_prefix, image_width, image_height)
    return str(target), base, next_counter(target, base), subfolder, filename_prefix
