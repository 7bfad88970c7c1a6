"""/object_info of the hook and GLIGEN nodes (issue 19), against shapes written down from ComfyUI's source.

Reference: ComfyUI 0.8.0's ``comfy_extras/nodes_hooks.py`` (V1 classes: NodeId, NodeName, INPUT_TYPES,
RETURN_TYPES/RETURN_NAMES, CATEGORY, EXPERIMENTAL; the combo of CreateHookKeyframesInterpolated is
``comfy.hooks.InterpolationMethod._LIST``) and ``nodes.py`` (GLIGENLoader, GLIGENTextBoxApply: no display
names). SetModelHooksOnCond is defined there but not registered, so ComfyUI does not serve it.
Names, categories, display names, input sections and order, types, defaults, ranges, output types and names,
and the experimental flag; a renamed, reordered or re-ranged input fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from inkgraph.engine.core.object_info import node_info
from inkgraph.engine.core.registry import NodeRegistry
from inkgraph.engine.runtime.packs import default_registry

MAX = 16384


def i(name: str, kind: Any, **options: Any) -> tuple[str, Any, dict[str, Any]]:
    """One input: its name, its type (a list = combo choices) and its options (all of them)."""
    return name, kind, options


COND_AREA = i("set_cond_area", ["default", "mask bounds"])
STRENGTH = i("strength", "FLOAT", default=1.0, min=0.0, max=10.0, step=0.01)
PROPS_OPTIONAL = [i("mask", "MASK"), i("hooks", "HOOKS"), i("timesteps", "TIMESTEPS_RANGE")]
HOOK_STRENGTH = {"default": 1.0, "min": -20.0, "max": 20.0, "step": 0.01}
PERCENT = {"min": 0.0, "max": 1.0, "step": 0.001}
START, END = i("start_percent", "FLOAT", default=0.0, **PERCENT), i("end_percent", "FLOAT", default=1.0, **PERCENT)
PREV_HOOKS, PREV_KF = [i("prev_hooks", "HOOKS")], [i("prev_hook_kf", "HOOK_KEYFRAMES")]
PAIR = (["CONDITIONING", "CONDITIONING"], ["positive", "negative"])
COND = (["CONDITIONING"], ["CONDITIONING"])
HOOKS_OUT = (["HOOKS"], ["HOOKS"])
KF_OUT = (["HOOK_KEYFRAMES"], ["HOOK_KF"])
SINGLE, PAIRS = "advanced/hooks/cond single", "advanced/hooks/cond pair"
CREATE, SCHEDULING, COMBINE = "advanced/hooks/create", "advanced/hooks/scheduling", "advanced/hooks/combine"


def conds(*names: str) -> list[Any]:
    return [i(name, "CONDITIONING") for name in names]


def hooks(*letters: str) -> list[Any]:
    return [i(f"hooks_{letter}", "HOOKS") for letter in letters]


# class_type: (category, display name or None, required, optional, (output types, output names), experimental)
REFERENCE: dict[str, tuple[str, str | None, list[Any], list[Any], tuple[list[str], list[str]], bool]] = {
    "ConditioningSetProperties": (SINGLE, "Cond Set Props", [*conds("cond_NEW"), STRENGTH, COND_AREA],
                                  PROPS_OPTIONAL, COND, True),
    "ConditioningSetPropertiesAndCombine": (SINGLE, "Cond Set Props Combine",
                                            [*conds("cond", "cond_NEW"), STRENGTH, COND_AREA], PROPS_OPTIONAL,
                                            COND, True),
    "PairConditioningSetProperties": (PAIRS, "Cond Pair Set Props",
                                      [*conds("positive_NEW", "negative_NEW"), STRENGTH, COND_AREA], PROPS_OPTIONAL,
                                      PAIR, True),
    "PairConditioningSetPropertiesAndCombine": (
        PAIRS, "Cond Pair Set Props Combine",
        [*conds("positive", "negative", "positive_NEW", "negative_NEW"), STRENGTH, COND_AREA], PROPS_OPTIONAL,
        PAIR, True),
    "PairConditioningCombine": (PAIRS, "Cond Pair Combine", conds("positive_A", "negative_A", "positive_B",
                                                                  "negative_B"), [], PAIR, True),
    "PairConditioningSetDefaultCombine": (PAIRS, "Cond Pair Set Default Combine",
                                          conds("positive", "negative", "positive_DEFAULT", "negative_DEFAULT"),
                                          [i("hooks", "HOOKS")], PAIR, True),
    "ConditioningSetDefaultCombine": (SINGLE, "Cond Set Default Combine", conds("cond", "cond_DEFAULT"),
                                      [i("hooks", "HOOKS")], COND, True),
    "SetClipHooks": ("advanced/hooks/clip", "Set CLIP Hooks",
                     [i("clip", "CLIP"), i("apply_to_conds", "BOOLEAN", default=True),
                      i("schedule_clip", "BOOLEAN", default=False)], [i("hooks", "HOOKS")], (["CLIP"], ["CLIP"]),
                     True),
    "ConditioningTimestepsRange": ("advanced/hooks", "Timesteps Range", [START, END], [],
                                   (["TIMESTEPS_RANGE"] * 3, ["TIMESTEPS_RANGE", "BEFORE_RANGE", "AFTER_RANGE"]),
                                   True),
    "CreateHookLora": (CREATE, "Create Hook LoRA",
                       [i("lora_name", []), i("strength_model", "FLOAT", **HOOK_STRENGTH),
                        i("strength_clip", "FLOAT", **HOOK_STRENGTH)], PREV_HOOKS, HOOKS_OUT, True),
    "CreateHookLoraModelOnly": (CREATE, "Create Hook LoRA (MO)",
                                [i("lora_name", []), i("strength_model", "FLOAT", **HOOK_STRENGTH)], PREV_HOOKS,
                                HOOKS_OUT, True),
    "CreateHookModelAsLora": (CREATE, "Create Hook Model as LoRA",
                              [i("ckpt_name", []), i("strength_model", "FLOAT", **HOOK_STRENGTH),
                               i("strength_clip", "FLOAT", **HOOK_STRENGTH)], PREV_HOOKS, HOOKS_OUT, True),
    "CreateHookModelAsLoraModelOnly": (CREATE, "Create Hook Model as LoRA (MO)",
                                       [i("ckpt_name", []), i("strength_model", "FLOAT", **HOOK_STRENGTH)],
                                       PREV_HOOKS, HOOKS_OUT, True),
    "SetHookKeyframes": (SCHEDULING, "Set Hook Keyframes", [i("hooks", "HOOKS")], [i("hook_kf", "HOOK_KEYFRAMES")],
                         HOOKS_OUT, True),
    "CreateHookKeyframe": (SCHEDULING, "Create Hook Keyframe",
                           [i("strength_mult", "FLOAT", **HOOK_STRENGTH), START], PREV_KF, KF_OUT, True),
    "CreateHookKeyframesInterpolated": (
        SCHEDULING, "Create Hook Keyframes Interp.",
        [i("strength_start", "FLOAT", default=1.0, min=0.0, max=10.0, step=0.001),
         i("strength_end", "FLOAT", default=1.0, min=0.0, max=10.0, step=0.001),
         i("interpolation", ["linear", "ease_in", "ease_out", "ease_in_out"]), START, END,
         i("keyframes_count", "INT", default=5, min=2, max=100, step=1),
         i("print_keyframes", "BOOLEAN", default=False)], PREV_KF, KF_OUT, True),
    "CreateHookKeyframesFromFloats": (
        SCHEDULING, "Create Hook Keyframes From Floats",
        [i("floats_strength", "FLOATS", default=-1, min=-1, step=0.001, forceInput=True), START, END,
         i("print_keyframes", "BOOLEAN", default=False)], PREV_KF, KF_OUT, True),
    "CombineHooks2": (COMBINE, "Combine Hooks [2]", [], hooks("A", "B"), HOOKS_OUT, True),
    "CombineHooks4": (COMBINE, "Combine Hooks [4]", [], hooks(*"ABCD"), HOOKS_OUT, True),
    "CombineHooks8": (COMBINE, "Combine Hooks [8]", [], hooks(*"ABCDEFGH"), HOOKS_OUT, True),
    "GLIGENLoader": ("loaders", None, [i("gligen_name", [])], [], (["GLIGEN"], ["GLIGEN"]), False),
    "GLIGENTextBoxApply": ("conditioning/gligen", None,
                           [*conds("conditioning_to"), i("clip", "CLIP"), i("gligen_textbox_model", "GLIGEN"),
                            i("text", "STRING", multiline=True, dynamicPrompts=True),
                            i("width", "INT", default=64, min=8, max=MAX, step=8),
                            i("height", "INT", default=64, min=8, max=MAX, step=8),
                            i("x", "INT", default=0, min=0, max=MAX, step=8),
                            i("y", "INT", default=0, min=0, max=MAX, step=8)], [], COND, False),
}


@pytest.fixture(scope="module")
def registry() -> NodeRegistry:
    return default_registry(entry_points=False)


@pytest.mark.parametrize("class_type", sorted(REFERENCE))
def test_object_info_matches_comfyui(registry: NodeRegistry, class_type: str) -> None:
    category, display, required, optional, (types, names), experimental = REFERENCE[class_type]
    spec = registry.get(class_type)
    assert spec is not None, f"{class_type} is not registered"
    info = node_info(spec, None)
    assert info["name"] == class_type and info["category"] == category
    assert info["display_name"] == (display or class_type)
    assert info["input_order"].get("required", []) == [n for n, _, _ in required]
    assert info["input_order"].get("optional", []) == [n for n, _, _ in optional]
    if not required:
        assert info["input"]["required"] == {}  # ComfyUI's CombineHooks declare an empty required section
    for section, entries in (("required", required), ("optional", optional)):
        for name, kind, options in entries:
            config = info["input"][section][name]
            assert config[0] == kind, f"{class_type}.{name}: {config[0]!r}"
            given = config[1] if len(config) > 1 else {}
            assert given == options, f"{class_type}.{name}: {given} != {options}"  # no option more, none less
    assert info["output"] == types and info["output_name"] == names
    assert info["output_is_list"] == [False] * len(types) and info["output_node"] is False
    assert info.get("experimental", False) is experimental


def test_set_model_hooks_on_cond_is_not_served(registry: NodeRegistry) -> None:
    assert registry.get("SetModelHooksOnCond") is None  # defined in ComfyUI but left out of its node list
