"""SaveLatent and LoadLatent: latents as ``.latent`` files (safetensors), as ComfyUI writes and reads them.

A ``.latent`` file holds ``latent_tensor`` and an empty ``latent_format_version_0`` marker; files without the
marker come from ComfyUI before the latent scale moved into the sampler and are scaled by 1/0.18215 on
loading, as ComfyUI does. The prompt and workflow go into the safetensors metadata, so a shared latent carries
the graph that made it.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from inkgraph.engine import Combo, Context, Hidden, Latent, NodeOutput, Socket, String, node
from inkgraph.engine.core.paths import (
    Folders,
    file_sha256,
    filename_prefix_problem,
    highest_counter,
    next_counter,
    record_counter,
    save_target,
)
from inkgraph.engine.core.safe_write import open_new

from .media_io import input_path, validate_input_file

SUFFIX = ".latent"
LEGACY_SCALE = 1.0 / 0.18215  # files without the version marker hold latents scaled by SD1's factor


def list_latents(folders: Folders) -> list[str]:
    """``.latent`` files directly in input/, sorted (ComfyUI lists only those)."""
    try:
        return sorted(e.name for e in os.scandir(folders.input) if e.is_file() and e.name.endswith(SUFFIX))
    except FileNotFoundError:
        return []


def _check_prefix(filename_prefix: str) -> bool | str:
    problem = filename_prefix_problem(filename_prefix)
    return True if problem is None else f"filename_prefix is not usable: {problem}"


@node(display_name="SaveLatent", category="_for_testing", output_node=True, outputs=[], validate=_check_prefix)
def SaveLatent(
    ctx: Context,
    samples: Annotated[Any, Socket(type="LATENT")],
    filename_prefix: Annotated[str, String()] = "latents/ComfyUI",
    prompt: Annotated[Any, Hidden("PROMPT")] = None,
    extra_pnginfo: Annotated[Any, Hidden("EXTRA_PNGINFO")] = None,
) -> NodeOutput:
    import torch
    from safetensors.torch import save

    tensor = samples["samples"]
    target, base, subfolder = save_target(ctx.folders.directory("output"), "output", filename_prefix, 0, 0)
    metadata = {"prompt": json.dumps(prompt) if prompt is not None else ""}
    if isinstance(extra_pnginfo, dict):
        metadata.update({key: json.dumps(value) for key, value in extra_pnginfo.items()})
    payload = save({"latent_tensor": tensor.contiguous().cpu(), "latent_format_version_0": torch.tensor([])},
                   metadata=metadata)
    counter = next_counter(target, base)
    while True:
        name = f"{base}_{counter:05}_{SUFFIX}"
        try:
            handle = open_new(target / name)  # never over an existing file or through a link
        except FileExistsError:
            counter = max(counter, highest_counter(target, base)) + 1
            continue
        with handle:
            handle.write(payload)
        break
    record_counter(target, base, counter)
    return NodeOutput(ui={"latents": [{"filename": name, "subfolder": subfolder, "type": "output"}]})


@node(display_name="LoadLatent", category="_for_testing")
class LoadLatent:
    """Loads a ``.latent`` file from input/ (``name [output]`` reads one SaveLatent wrote)."""

    def execute(self, ctx: Context, latent: Annotated[str, Combo(options=list_latents)]) -> Latent:
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = input_path(ctx.folders, latent)
        try:
            tensors = load_file(str(path), device="cpu")
        except (SafetensorError, OSError) as exc:
            raise ValueError(f"LoadLatent: input 'latent' {latent!r} is not a readable .latent file: {exc}") from exc
        if "latent_tensor" not in tensors:
            raise ValueError(f"LoadLatent: input 'latent' {latent!r} holds no latent_tensor "
                             f"(found {', '.join(sorted(tensors)) or 'nothing'})")
        scale = 1.0 if "latent_format_version_0" in tensors else LEGACY_SCALE
        return {"samples": tensors["latent_tensor"].float() * scale}

    @staticmethod
    def fingerprint(latent: str, folders: Folders) -> str:
        """The file's sha256: a file replaced under the same name re-runs the node."""
        return file_sha256(input_path(folders, latent))

    @staticmethod
    def validate(latent: str, folders: Folders) -> bool | str:
        return validate_input_file(folders, latent, "latent")


NODES = [SaveLatent, LoadLatent]
