"""The position drill: how the demo UNet learns where its prompt puts the shape.

Where a shape goes is decided in the sampler's first steps, from near-pure noise, and a convolutional UNet
without positional embeddings can only tell where it is from the zero padding at the image's borders.
Trained on the full scene distribution, the model settled with position ignored and never left that
state: its text encoder barely told "top left" from "bottom right" (their encodings differed by 0.9 against
12.7 for two colours), so no gradient asked the UNet for coordinates, and without coordinates the position
words were of no use to learn — 13,000 steps, and later 4,700 more on the noisy end alone, stayed at chance.

Measured way out (UNet + text encoder from the shipped model, timesteps 700–999, the prompt's position
read from the x₀ guess at t = 999): batches of one scene kind — a large red square on white, the canonical
phrase — in which position is the only thing the prompt changes, put all nine positions right within 300
steps; varied scenes from the start stayed at chance after 500. After the solo phase the drill widens
(more kinds of scene, both sizes, every phrasing) and then stays as a quarter of each batch, so the skill
carries over to every colour, shape and background and is not trained away.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .scenes import (
    BACKGROUND_PHRASES,
    BACKGROUNDS,
    COLOURS,
    PHRASES,
    POSITION_PHRASES,
    POSITIONS,
    SHAPES,
    SIZES,
    Scene,
    compose,
    visible,
)

FIRST_KIND = ("square", "red", "white")  # the most pixels of the strongest contrast: the clearest signal
SOLO_STEPS = 500  # one kind of scene, large, the canonical phrase
GROW_STEPS = 600  # kinds double every GROW_DOUBLING steps, both sizes, every phrasing
GROW_DOUBLING = 60
DRILL_SHARE = 0.25  # of each batch after the growth phase
DRILL_FROM = 700  # drill samples' timesteps: the noisy end, where position is decided
JITTERS = 2  # drawn variants of each (kind, position, size)
KINDS = 120  # kinds of scene in the drill (of about 300 visible combinations)


def kinds(seed: int, count: int) -> list[tuple[str, str, str]]:
    """``count`` (shape, colour, background) kinds of scene, the first always FIRST_KIND, the rest a seeded
    shuffle of every visible combination."""
    every = [(shape, colour, background) for shape in SHAPES for colour in COLOURS for background in BACKGROUNDS
             if visible(colour, background) and (shape, colour, background) != FIRST_KIND]
    random.Random(seed).shuffle(every)
    return [FIRST_KIND, *every][:max(1, count)]


def drill_scenes(seed: int, count: int) -> list[Scene]:
    """Every position × size × JITTERS drawings of each kind, grouped by kind (kind i holds the scenes
    ``i * per_kind() …``), so a batch can keep to the kinds in use."""
    rng = random.Random(seed)
    out = []
    for shape, colour, background in kinds(seed, count):
        for position in POSITIONS:
            for size in SIZES:
                wiggle = 0.05 if size == "small" else 0.03
                for _ in range(JITTERS):
                    jitter = (rng.uniform(-wiggle, wiggle), rng.uniform(-wiggle, wiggle), rng.uniform(-0.12, 0.12))
                    out.append(Scene(shape, colour, background, size, position, jitter))
    return out


def per_kind() -> int:
    return len(POSITIONS) * len(SIZES) * JITTERS


@dataclass(frozen=True)
class Plan:
    """What one training step draws from the drill: how many of its samples, from how many kinds, and
    whether this is the solo phase (large shapes and the canonical phrase only)."""

    samples: int
    kinds: int
    solo: bool


def plan(step: int, batch: int, available: int) -> Plan:
    if step < SOLO_STEPS:
        return Plan(batch, 1, True)
    if step < SOLO_STEPS + GROW_STEPS:
        return Plan(batch, min(available, int(2 ** ((step - SOLO_STEPS) / GROW_DOUBLING))), False)
    return Plan(round(DRILL_SHARE * batch), available, False)


def pick(rng: random.Random, scenes: list[Scene], step_plan: Plan) -> int:
    """An index into ``drill_scenes``' list for one drill sample."""
    size = per_kind()
    while True:
        index = rng.randrange(step_plan.kinds) * size + rng.randrange(size)
        if not step_plan.solo or scenes[index].size == "large":
            return index


def prompt(scene: Scene, rng: random.Random, solo: bool) -> str:
    """A drill prompt always names the position (ordinary prompts leave it out a fifth of the time)."""
    if solo:
        return compose(scene, PHRASES[scene.position], BACKGROUND_PHRASES[0])
    return compose(scene, rng.choice(POSITION_PHRASES[scene.position]), rng.choice(BACKGROUND_PHRASES),
                   order=rng.choices((0, 1, 2), weights=(6, 2, 2))[0], size=rng.random() < 0.8)
