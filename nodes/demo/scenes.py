"""Synthetic scenes for the demo model: one shape on a plain background, drawn with Pillow, and a prompt.

The same vocabulary serves three purposes: training data (scene → image + a templated prompt), the fixed
evaluation set (prompt + seed → the attributes the image must show), and the measurement that reads those
attributes back from a generated image with plain statistics (border colour; the largest far-from-border
blob's colour, bounding-box fill ratio, bounding-box centre and area). Keeping them in one module keeps the
three in agreement.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")
FILL_RATIO = {"circle": 0.785, "square": 1.0, "triangle": 0.5}  # shape area / bounding-box area

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 35), "orange": (245, 135, 20), "yellow": (240, 215, 30), "green": (35, 160, 60),
    "blue": (30, 80, 215), "purple": (125, 50, 175), "pink": (240, 125, 185), "brown": (115, 70, 35),
    "white": (245, 245, 245), "black": (20, 20, 20),
}
PLAIN_BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "white": (250, 250, 250), "black": (12, 12, 12), "gray": (128, 128, 128), "beige": (230, 220, 190),
    "light blue": (165, 205, 240),
}
# Any shape colour can also be a background (white and black keep their plain-background shades).
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    **PLAIN_BACKGROUNDS, **{name: rgb for name, rgb in COLOURS.items() if name not in PLAIN_BACKGROUNDS}}
SIZES = {"small": 0.28, "large": 0.52}  # side of the bounding box as a fraction of the image
SIZE_SPLIT = 0.38  # bounding-box side (as a fraction of the image) between the two sizes, jitter included
THIRDS = (0.27, 0.5, 0.73)  # shape centres, as fractions of the image: each well inside its third
POSITIONS: dict[str, tuple[float, float]] = {  # centre of the shape, as fractions of the image
    "top left": (THIRDS[0], THIRDS[0]), "top": (THIRDS[1], THIRDS[0]), "top right": (THIRDS[2], THIRDS[0]),
    "left": (THIRDS[0], THIRDS[1]), "center": (THIRDS[1], THIRDS[1]), "right": (THIRDS[2], THIRDS[1]),
    "bottom left": (THIRDS[0], THIRDS[2]), "bottom": (THIRDS[1], THIRDS[2]),
    "bottom right": (THIRDS[2], THIRDS[2]),
}
# How people say each position; the first is the canonical phrase (prompt_for without an rng, the README).
POSITION_PHRASES: dict[str, tuple[str, ...]] = {
    "top left": ("in the top left", "top left", "in the upper left", "in the top left corner",
                 "in the upper left corner", "at the top left", "upper left corner", "top left corner"),
    "top": ("at the top", "top", "at the top center", "in the top middle", "top center", "at the top middle",
            "upper middle", "at the top of the image"),
    "top right": ("in the top right", "top right", "in the upper right", "in the top right corner",
                  "in the upper right corner", "at the top right", "upper right corner", "top right corner"),
    "left": ("on the left", "left", "on the left side", "left side", "at the left", "in the middle left",
             "center left", "on the left of the image"),
    "center": ("in the center", "in the middle", "center", "in the centre", "middle", "centered",
               "in the middle of the image", "at the center"),
    "right": ("on the right", "right", "on the right side", "right side", "at the right", "in the middle right",
              "center right", "on the right of the image"),
    "bottom left": ("in the bottom left", "bottom left", "in the lower left", "in the bottom left corner",
                    "in the lower left corner", "at the bottom left", "lower left corner",
                    "bottom left corner"),
    "bottom": ("at the bottom", "bottom", "at the bottom center", "in the bottom middle", "bottom center",
               "at the bottom middle", "lower middle", "at the bottom of the image"),
    "bottom right": ("in the bottom right", "bottom right", "in the lower right", "in the bottom right corner",
                     "in the lower right corner", "at the bottom right", "lower right corner",
                     "bottom right corner"),
}
PHRASES = {position: phrases[0] for position, phrases in POSITION_PHRASES.items()}
BACKGROUND_PHRASES = ("on {a} {name} background", "{name} background", "on {name}", "against {a} {name} background",
                      "with {a} {name} background", "on a plain {name} background")
MIN_CONTRAST = 110.0  # RGB distance between a shape and its background


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    return float(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)) ** 0.5)


def visible(colour: str, background: str) -> bool:
    return _distance(COLOURS[colour], BACKGROUNDS[background]) >= MIN_CONTRAST


def article(word: str) -> str:
    """English's indefinite article for the word that follows it ("an orange", "a red")."""
    return "an" if word[:1] in "aeiou" else "a"


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


def random_scene(rng: random.Random, backgrounds: Mapping[str, object] = BACKGROUNDS) -> Scene:
    """A random visible scene; ``backgrounds`` narrows the background names (the LoRA example keeps to the
    five plain ones its dataset was made with)."""
    while True:
        colour, background = rng.choice(list(COLOURS)), rng.choice(list(backgrounds))
        if visible(colour, background):
            break
    size = rng.choice(list(SIZES))
    # The centre stays inside its third of the image (0.27 ± 0.05 < 1/3), so a drawn scene always shows
    # the position its prompt names; large shapes have less room to move.
    wiggle = 0.05 if size == "small" else 0.03
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

def compose(scene: Scene, where: str | None, background: str | None, order: int = 0, size: bool = True,
            first: str = "") -> str:
    """One prompt for ``scene`` from chosen parts: ``where`` a position phrase, ``background`` one of
    BACKGROUND_PHRASES; ``order`` 0 puts the position before the background, 1 after it, 2 lists the parts
    with commas ("a red circle, top left, white background"); ``first`` replaces the leading article."""
    words = f"{scene.size} {scene.colour}" if size else scene.colour
    thing = f"{first or article(words)} {words} {scene.shape}"
    back = background.format(a=article(scene.background), name=scene.background) if background else None
    if order == 2:
        return ", ".join(part for part in (thing, where, back) if part)
    parts = [where, back] if order == 0 else [back, where]
    return " ".join([thing, *(part for part in parts if part)])


def prompt_for(scene: Scene, rng: random.Random | None = None) -> str:
    """A templated English prompt for the scene. Without ``rng`` the canonical one ("a small red circle in
    the top left on a white background"); with it, wording and order vary, and size, position or background
    are sometimes left out (training then learns that what is left out is a free choice)."""
    if rng is None:
        return compose(scene, PHRASES[scene.position], BACKGROUND_PHRASES[0])
    phrases = POSITION_PHRASES[scene.position]
    where = (phrases[0] if rng.random() < 0.3 else rng.choice(phrases)) if rng.random() < 0.8 else None
    background = ((BACKGROUND_PHRASES[0] if rng.random() < 0.4 else rng.choice(BACKGROUND_PHRASES))
                  if rng.random() < 0.85 else None)
    order = rng.choices((0, 1, 2), weights=(6, 2, 2))[0]
    return compose(scene, where, background, order, size=rng.random() < 0.8,
                   first="one" if rng.random() < 0.15 else "")


# -- evaluation ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """What a generated image shows, by simple statistics."""

    background: str
    colour: str
    shape: str
    fill_ratio: float
    position: str = "none"
    size: str = "none"
    centre: tuple[float, float] = (0.0, 0.0)  # of the shape's bounding box, as fractions of the image
    side: float = 0.0  # square root of the bounding box's area, as a fraction of the image's side


def _nearest(rgb: tuple[float, float, float], palette: dict[str, tuple[int, int, int]]) -> str:
    return min(palette, key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, palette[name], strict=True)))


def largest_blob(mask: object) -> object:
    """The largest 4-connected region of a boolean mask (numpy array), as a mask of the same shape.

    Run-based union-find (each row's runs of True, joined to the overlapping runs of the row above), so a
    512×512 image costs a few thousand Python steps, not a quarter of a million. Stray specks far from the
    shape then move neither its measured bounding box nor its colour."""
    import numpy as np

    array = np.asarray(mask, dtype=bool)
    runs: list[tuple[int, int, int]] = []  # row, start, end (exclusive)
    parent: list[int] = []

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    previous: list[int] = []
    for row in range(array.shape[0]):
        padded = np.concatenate(([False], array[row], [False])).astype(np.int8)
        edges = np.flatnonzero(np.diff(padded))
        current = []
        for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
            index = len(runs)
            runs.append((row, start, end))
            parent.append(index)
            for other in previous:
                _, other_start, other_end = runs[other]
                if other_start < end and start < other_end:
                    parent[find(index)] = find(other)
            current.append(index)
        previous = current
    if not runs:
        return array
    sizes: Counter[int] = Counter()
    for index, (_, start, end) in enumerate(runs):
        sizes[find(index)] += end - start
    biggest = sizes.most_common(1)[0][0]
    out = np.zeros_like(array)
    for index, (row, start, end) in enumerate(runs):
        if find(index) == biggest:
            out[row, start:end] = True
    return out


def position_of(x: float, y: float) -> str:
    """The position name of the ninth of the image that holds (x, y), given as fractions of the image."""
    column, row = min(int(x * 3), 2), min(int(y * 3), 2)
    return [name for name, (cx, cy) in POSITIONS.items()
            if min(int(cx * 3), 2) == column and min(int(cy * 3), 2) == row][0]


def read_image(image: Image.Image) -> Reading:
    """Background = the median border colour; the shape = the largest blob of pixels far from it: its
    median colour, the palette shape whose bounding-box fill ratio is nearest to the blob's, the ninth of
    the image its bounding-box centre lies in, small or large by the bounding box's area."""
    import numpy as np

    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    height, width = pixels.shape[:2]
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    background_rgb = np.median(border, axis=0)
    far = np.linalg.norm(pixels - background_rgb, axis=-1) > MIN_CONTRAST / 2
    background = _nearest(tuple(background_rgb.tolist()), BACKGROUNDS)
    if far.sum() < 0.002 * far.size:
        return Reading(background, "none", "none", 0.0)
    blob = np.asarray(largest_blob(far))
    foreground_rgb = np.median(pixels[blob], axis=0)
    ys, xs = np.nonzero(blob)
    box_h, box_w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
    ratio = float(blob.sum() / (box_h * box_w))
    shape = min(FILL_RATIO, key=lambda name: abs(FILL_RATIO[name] - ratio))
    centre = ((xs.min() + xs.max() + 1) / 2 / width, (ys.min() + ys.max() + 1) / 2 / height)
    side = float((box_h * box_w / (height * width)) ** 0.5)
    return Reading(background, _nearest(tuple(foreground_rgb.tolist()), COLOURS), shape, ratio,
                   position_of(*centre), "large" if side >= SIZE_SPLIT else "small",
                   (float(centre[0]), float(centre[1])), side)


@dataclass(frozen=True)
class Item:
    """One entry of the evaluation set: the scene a prompt asks for, the prompt's words, the sampling seed."""

    scene: Scene
    prompt: str
    seed: int


ASPECTS = ("background", "colour", "shape", "position", "size")


def matches(scene: Scene, reading: Reading) -> dict[str, bool]:
    """Which of the prompt's words the image honours."""
    return {aspect: getattr(reading, aspect) == getattr(scene, aspect) for aspect in ASPECTS}


EVALUATION_SEED = 2024


def evaluation_set(count: int = 72, seed: int = EVALUATION_SEED) -> list[Item]:
    """A fixed list of (scene, prompt, sampling seed). Every position appears count/9 times with both sizes
    and all three shapes; colours cycle; each background is the least used one the colour is visible on
    (so all thirteen appear); position phrases cycle through their variants, background phrases and word
    orders vary."""
    rng = random.Random(seed)
    positions, colours, sizes = list(POSITIONS), list(COLOURS), list(SIZES)
    used: Counter[str] = Counter()
    out: list[Item] = []
    for index in range(count):
        position, round_ = positions[index % len(positions)], index // len(positions)
        colour = colours[index % len(colours)]
        candidates = [b for b in BACKGROUNDS if visible(colour, b)]
        fewest = min(used[b] for b in candidates)
        background = rng.choice([b for b in candidates if used[b] == fewest])
        used[background] += 1
        scene = Scene(SHAPES[(index + round_) % len(SHAPES)], colour, background, sizes[round_ % 2], position)
        phrases = POSITION_PHRASES[position]
        prompt = compose(scene, phrases[round_ % len(phrases)], BACKGROUND_PHRASES[index % len(BACKGROUND_PHRASES)],
                         order=(0, 0, 1, 2)[index % 4])
        out.append(Item(scene, prompt, rng.randrange(2 ** 32)))
    return out
