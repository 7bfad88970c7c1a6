"""CameraAngle (ComfyUI's ``nodes_camera_angle.py``): /object_info against ComfyUI's declaration, the shot
description's sectors and bands and the camera's orbit position by hand."""

from __future__ import annotations

import math

import pytest

from inkgraph import nodes
from inkgraph.engine import spec_of
from inkgraph.engine.core.object_info import node_info
from inkgraph.nodes.camera_angle import CameraAngle, describe


def test_object_info_matches_comfyui() -> None:
    spec = next(spec_of(fn) for fn in nodes.node_list() if spec_of(fn).class_type == "CameraAngle")
    info = node_info(spec, None)
    assert (info["display_name"], info["category"]) == ("Camera Angle", "3d")
    assert info["description"] == ("Pick a camera angle around a subject with a 3D preview. Outputs a camera_info "
                                   "for 3D nodes and a plain-English shot description for prompts.")
    assert info["input"] == {
        "required": {
            "horizontal_angle": ["INT", {"default": 0, "min": 0, "max": 360, "step": 1, "tooltip": (
                "Azimuth around the subject in degrees. 0 is the front, 90 the right side, 180 the back.")}],
            "vertical_angle": ["INT", {"default": 0, "min": -30, "max": 60, "step": 1, "tooltip": (
                "Elevation in degrees. Negative looks up from below, positive looks down from above.")}],
            "zoom": ["FLOAT", {"default": 5.0, "min": 0.0, "max": 10.0, "step": 0.1, "tooltip": (
                "How close the camera is: 0 is a wide shot, 10 a close-up.")}]},
        "optional": {
            "image": ["IMAGE", {"tooltip": "Optional reference image shown on the front of the subject cube in the "
                                           "3D preview."}],
            "view": ["STRING", {"default": "", "multiline": False, "socketless": True,
                                "widgetType": "CAMERA_ANGLE_VIEW"}]}}
    assert info["input_order"] == {"required": ["horizontal_angle", "vertical_angle", "zoom"],
                                   "optional": ["image", "view"]}
    assert info["output"] == ["LOAD3D_CAMERA", "STRING"] and info["output_name"] == ["camera_info", "prompt"]


@pytest.mark.parametrize(("azimuth", "elevation", "zoom", "want"), [
    (0, 0, 5.0, "front view eye-level shot medium shot"),
    (22, -16, 1.9, "front view low-angle shot wide shot"),
    (23, -15, 2.0, "front-right quarter view eye-level shot medium shot"),  # 22.5° and band edges
    (90, 15, 6.0, "right side view elevated shot close-up"),
    (180, 45, 10.0, "back view high-angle shot close-up"),
    (333, 17, 5.0, "front-left quarter view elevated shot medium shot"),
    (360, 60, 0.0, "front view high-angle shot wide shot"),
])
def test_shot_descriptions(azimuth: int, elevation: int, zoom: float, want: str) -> None:
    assert describe(azimuth, elevation, zoom) == want


def test_the_camera_orbits_the_cubes_centre() -> None:
    info, prompt = CameraAngle(horizontal_angle=90, vertical_angle=30, zoom=10.0)
    # zoom 10: 3.2 units away; 90°: on +x; 30° up: ground distance 3.2·cos 30°, height 0.5 + 3.2·sin 30° = 2.1
    position = info["position"]
    assert position["x"] == pytest.approx(3.2 * math.cos(math.radians(30)))
    assert position["y"] == pytest.approx(2.1) and position["z"] == pytest.approx(0.0, abs=1e-12)
    assert info["target"] == {"x": 0.0, "y": 0.5, "z": 0.0}
    assert (info["zoom"], info["cameraType"], info["fov"]) == (1.0, "perspective", 35.0)
    assert prompt == "right side view elevated shot close-up"
    # out-of-range values are clamped: −90° → 0, 99° up → 60, zoom 20 → 10
    clamped, _ = CameraAngle(horizontal_angle=-90, vertical_angle=99, zoom=20.0)
    assert clamped == CameraAngle(horizontal_angle=0, vertical_angle=60, zoom=10.0)[0]
    assert CameraAngle(horizontal_angle=0, vertical_angle=0, zoom=0.0)[0]["position"]["z"] == pytest.approx(6.0)
