"""Measured quality of the demo model: generate the fixed evaluation set through the ordinary graph and read
background colour, shape colour, shape, position and size back with plain image statistics
(:func:`scenes.read_image`).

``python -m inkgraph.nodes.demo.evaluate [--grid docs/demo-grid.png]`` prints the table; the test suite asserts the
targets on the same numbers.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inkgraph.engine.core.settings import Settings

from . import architecture as arch
from .scenes import ASPECTS, EVALUATION_SEED, Item, Reading, Scene, evaluation_set, matches, read_image

DEFAULTS = {"steps": 14, "cfg": 1.5, "sampler_name": "dpmpp_2m_sde", "scheduler": "karras"}


def workflow(prompt: str, seed: int, upscale: bool = True, negative: str = "", **sampling: Any) -> dict[str, Any]:
    """The default text-to-image graph on the demo model (what workflows/txt2img.json holds)."""
    graph: dict[str, Any] = {
        "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": arch.CHECKPOINT_NAME}},
        "2": {"class_type": "CLIPTextEncode", "inputs": {"text": prompt, "clip": ["1", 1]}},
        "3": {"class_type": "CLIPTextEncode", "inputs": {"text": negative, "clip": ["1", 1]}},
        "4": {"class_type": "EmptyLatentImage", "inputs": {"width": arch.IMAGE_SIZE, "height": arch.IMAGE_SIZE,
                                                           "batch_size": 1}},
        "5": {"class_type": "KSampler", "inputs": {"seed": seed, **DEFAULTS, **sampling, "denoise": 1.0,
                                                   "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0],
                                                   "latent_image": ["4", 0]}},
        "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
        "9": {"class_type": "PreviewImage", "inputs": {"images": ["6", 0]}},
    }
    if upscale:
        graph["7"] = {"class_type": "UpscaleModelLoader", "inputs": {"model_name": arch.UPSCALER_NAME}}
        graph["8"] = {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["7", 0], "image": ["6", 0]}}
        graph["9"]["inputs"]["images"] = ["8", 0]
    return graph


@dataclass
class Result:
    item: Item
    reading: Reading
    image: Any  # PIL image

    @property
    def scene(self) -> Scene:
        return self.item.scene

    @property
    def matches(self) -> dict[str, bool]:
        return matches(self.item.scene, self.reading)


def generate(runtime: Any, count: int = 72, upscale: bool = True, set_seed: int = EVALUATION_SEED,
             **sampling: Any) -> list[Result]:
    from PIL import Image

    results = []
    for item in evaluation_set(count, set_seed):
        result, outcome = runtime.run(workflow(item.prompt, item.seed, upscale, **sampling))
        if not result.ok or outcome is None or outcome.status_str != "success":
            raise RuntimeError(f"the demo workflow failed: {result.error_body() if not result.ok else outcome}")
        output = outcome.outputs["9"]["images"][0]
        with Image.open(runtime.folders.resolve(output["type"], output["filename"], output["subfolder"])) as png:
            image = png.convert("RGB")
        results.append(Result(item, read_image(image), image))
    return results


def scores(results: list[Result]) -> dict[str, float]:
    """The share of images that honour each aspect of their prompt (background, colour, shape, position,
    size)."""
    return {aspect: sum(r.matches[aspect] for r in results) / len(results) for aspect in ASPECTS}


def grid(results: list[Result], columns: int = 8, cell: int = 160) -> Any:
    """A contact sheet: each image with its prompt under it (wrapped to the cell's width)."""
    import textwrap

    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=11)
    lines, line_height = 3, 13
    label = lines * line_height + 6
    rows = (len(results) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell, rows * (cell + label)), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for index, result in enumerate(results):
        x, y = (index % columns) * cell, (index // columns) * (cell + label)
        sheet.paste(result.image.resize((cell - 4, cell - 4), Image.Resampling.LANCZOS), (x + 2, y + 2))
        for number, text in enumerate(textwrap.wrap(result.item.prompt, 27)[:lines]):
            draw.text((x + 3, y + cell + 1 + number * line_height), text, fill=(20, 20, 20), font=font)
    return sheet


def report(results: list[Result]) -> str:
    """One line per image (✓/✗ for background, colour, shape, position, size) and each figure."""
    lines = []
    for r in results:
        mark = "".join("✓" if ok else "✗" for ok in r.matches.values())
        got = r.reading
        lines.append(f"{mark}  {r.item.prompt:72} → {got.background}, {got.colour}, {got.shape} "
                     f"(fill {got.fill_ratio:.2f}), {got.position} ({got.centre[0]:.2f}, {got.centre[1]:.2f}), "
                     f"{got.size} (side {got.side:.2f})")
    n = len(results)
    lines.append(" ".join(f"{aspect} {sum(r.matches[aspect] for r in results)}/{n} ({value:.0%})"
                          for aspect, value in scores(results).items()))
    return "\n".join(lines)


def main() -> None:
    from inkgraph.engine.runtime import Runtime

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=72)
    parser.add_argument("--set-seed", type=int, default=EVALUATION_SEED,
                        help="seed of the evaluation set: another value gives held-out (prompt, seed) pairs")
    parser.add_argument("--grid", type=Path, help="write a contact sheet of the generated images here")
    parser.add_argument("--no-upscale", action="store_true", help="measure the 128×128 VAE output instead")
    parser.add_argument("--models", type=Path, help="a models folder to evaluate instead of the shipped files "
                        "(e.g. train-demo's --output)")
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"])
    parser.add_argument("--cfg", type=float, default=DEFAULTS["cfg"])
    parser.add_argument("--sampler", default=DEFAULTS["sampler_name"])
    parser.add_argument("--scheduler", default=DEFAULTS["scheduler"])
    args = parser.parse_args()
    import shutil

    import torch

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as base:
        if args.models:
            for sub, name in (("checkpoints", arch.CHECKPOINT_NAME), ("upscale_models", arch.UPSCALER_NAME)):
                (Path(base) / "models" / sub).mkdir(parents=True)
                shutil.copy(args.models / sub / name, Path(base) / "models" / sub / name)
        results = generate(Runtime.create(Settings(base_dir=base)), args.count, not args.no_upscale, args.set_seed,
                           steps=args.steps, cfg=args.cfg, sampler_name=args.sampler, scheduler=args.scheduler)
    print(report(results))
    if args.grid:
        grid(results).save(args.grid)


if __name__ == "__main__":
    main()
