"""Synthetic scenes for the demo model: one shape on a plain background, drawn with Pillow, and a prompt.

The same vocabulary serves three purposes: training data (scene → image + a templated prompt), the fixed
evaluation set (prompt + seed → the attributes the image must show), and the measurement that reads those
attributes back from a generated image with plain statistics (border colour, dominant foreground colour,
bounding-box fill ratio). Keeping them in one module keeps the three in agreement.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")
FILL_RATIO = {"circle": 0.785, "square": 1.0, "triangle": 0.5}  # shape area / bounding-box area

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35), "orange": (245, 135, 20), "yellow": (240, 215, 30), "green": (35, 160, 60),
    "blue": (30, 80, 215), "purple": (125, 50, 175), "pink": (240, 125, 185), "brown": (115, 70, 35),
    "white": (245, 245, 245), "black": (20, 20, 20),
}
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (250, 250, 250), "black": (12, 12, 12), "gray": (128, 128, 128), "beige": (230, 220, 190),
    "light blue": (165, 205, 240),
}
SIZES = {"small": 0.28, "large": 0.52}  # side of the bounding box as a fraction of the image
POSITIONS: dict[str, tuple[float, float]] = {  # centre of the shape, as fractions of the image
    "top left": (0.27, 0.27), "top": (0.5, 0.27), "top right": (0.73, 0.27),
    "left": (0.27, 0.5), "center": (0.5, 0.5), "right": (0.73, 0.5),
    "bottom left": (0.27, 0.73), "bottom": (0.5, 0.73), "bottom right": (0.73, 0.73),
}
PHRASES = {"top left": "in the top left", "top": "at the top", "top right": "in the top right",
           "left": "on the left", "center": "in the center", "right": "on the right",
           "bottom left": "in the bottom left", "bottom": "at the bottom", "bottom right": "in the bottom right"}
MIN_CONTRAST = 110.0  # RGB distance between a shape and its background


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5)


def visible(colour: str, background: str) -> bool:
    return _distance(COLOURS[colour], BACKGROUNDS[background]) >= MIN_CONTRAST


@dataclass(frozen=True)
class Scene:
    shape: str
    colour: str
    background: str
    size: str
    position: str
    jitter: tuple[float, float, float] = (0.0, 0.0, 0.0)  # dx, dy (fractions of the image), size scale − 1

    def box(self, pixels: int) -> tuple[float, float, float, float]:
        """The shape's bounding box in pixels (left, top, right, bottom)."""
        cx, cy = POSITIONS[self.position]
        side = SIZES[self.size] * (1 + self.jitter[2]) * pixels
        cx, cy = (cx + self.jitter[0]) * pixels, (cy + self.jitter[1]) * pixels
        return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


def random_scene(rng: random.Random) -> Scene:
    while True:
        colour, background = rng.choice(list(COLOURS)), rng.choice(list(BACKGROUNDS))
        if visible(colour, background):
            break
    size = rng.choice(list(SIZES))
    wiggle = 0.06 if size == "small" else 0.03  # large shapes have less room to move
    return Scene(rng.choice(SHAPES), colour, background, size, rng.choice(list(POSITIONS)),
                 (rng.uniform(-wiggle, wiggle), rng.uniform(-wiggle, wiggle), rng.uniform(-0.12, 0.12)))


def render(scene: Scene, pixels: int = 128, supersample: int = 4,
           colours: dict[str, tuple[int, int, int]] = COLOURS) -> Image.Image:
    """The scene as an RGB image, anti-aliased by drawing at ``supersample``× and reducing; ``colours``
    names the shape colours (a LoRA's new colour beside the vocabulary's)."""
    big = pixels * supersample
    image = Image.new("RGB", (big, big), BACKGROUNDS[scene.background])
    draw = ImageDraw.Draw(image)
    left, top, right, bottom = scene.box(big)
    fill = colours[scene.colour]
    if scene.shape == "circle":
        draw.ellipse((left, top, right, bottom), fill=fill)
    elif scene.shape == "square":
        draw.rectangle((left, top, right, bottom), fill=fill)
    else:
        draw.polygon([((left + right) / 2, top), (right, bottom), (left, bottom)], fill=fill)
    return image.resize((pixels, pixels), Image.Resampling.BOX) if supersample > 1 else image


# -- prompts -------------------------------------------------------------------------------------------

def prompt_for(scene: Scene, rng: random.Random | None = None) -> str:
    """A templated English prompt for the scene. With ``rng``, wording varies and size, position or
    background are sometimes left out (training then learns their defaults are free choices)."""
    if rng is None:
        return (f"a {scene.size} {scene.colour} {scene.shape} {PHRASES[scene.position]} "
                f"on a {scene.background} background")
    article = rng.choice(["a", "a", "one"])
    size = f"{scene.size} " if rng.random() < 0.8 else ""
    where = f" {PHRASES[scene.position]}" if rng.random() < 0.8 else ""
    background = (rng.choice([f" on a {scene.background} background", f", {scene.background} background"])
                  if rng.random() < 0.85 else "")
    return f"{article} {size}{scene.colour} {scene.shape}{where}{background}"


# -- evaluation ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """What a generated image shows, by simple statistics."""

    background: str
    colour: str
    shape: str
    fill_ratio: float


def _nearest(rgb: tuple[float, float, float], palette: dict[str, tuple[int, int, int]]) -> str:
    return min(palette, key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, palette[name], strict=True)))


def read_image(image: Image.Image) -> Reading:
    """Background = the median border colour; foreground = the median of pixels far from it; shape = the
    palette shape whose bounding-box fill ratio is nearest to the foreground's."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background_rgb = np.median(border, axis=0)
    far = np.linalg.norm(pixels - background_rgb, axis=-1) > MIN_CONTRAST / 2
    background = _nearest(tuple(background_rgb.tolist()), BACKGROUNDS)
    if far.sum() < 0.002 * far.size:
        return Reading(background, "none", "none", 0.0)
    foreground_rgb = np.median(pixels[far], axis=0)
    ys, xs = np.nonzero(far)
    box = (ys.max() - ys.min() + 1) * (xs.max() - xs.min() + 1)
    ratio = float(far.sum() / box)
    shape = min(FILL_RATIO, key=lambda name: abs(FILL_RATIO[name] - ratio))
    return Reading(background, _nearest(tuple(foreground_rgb.tolist()), COLOURS), shape, ratio)


def evaluation_set(count: int = 36, seed: int = 2024) -> list[tuple[Scene, int]]:
    """A fixed list of (scene, sampling seed): every shape, colour and background appears."""
    rng = random.Random(seed)
    out: list[tuple[Scene, int]] = []
    colours = list(COLOURS)
    for index in range(count):
        shape = SHAPES[index % len(SHAPES)]
        colour = colours[index % len(colours)]
        backgrounds = [b for b in BACKGROUNDS if visible(colour, b)]
        background = rng.choice(backgrounds)
        scene = Scene(shape, colour, background, rng.choice(list(SIZES)), rng.choice(list(POSITIONS)))
        out.append((scene, rng.randrange(2 ** 32)))
    return out
