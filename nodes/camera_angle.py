"""CameraAngle (ComfyUI's ``comfy_extras/nodes_camera_angle.py``): a camera orbiting a subject, as the
``camera_info`` 3-D nodes read (LOAD3D_CAMERA) and a plain-English shot description for prompts (multi-angle
edit models such as Qwen-Image-Edit's multi-angle LoRA are prompted this way).

The scene is the frontend preview's: a unit cube standing on the ground, its centre at (0, 0.5, 0); the
camera sits 6 units away at zoom 0 and 3.2 at zoom 10, looking at the centre with a 35° field of view.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from inkgraph.engine import Float, Int, Output, Socket, String, node

CENTER = (0.0, 0.5, 0.0)
FOV = 35.0
NEAREST, FARTHEST = 3.2, 6.0
AZIMUTH = (0, 360)
ELEVATION = (-30, 60)
ZOOM = (0.0, 10.0)

# eight 45° sectors centred on the front, then clockwise seen from above
SIDES = ("front view", "front-right quarter view", "right side view", "back-right quarter view", "back view",
         "back-left quarter view", "left side view", "front-left quarter view")
# (upper bound, exclusive; None: the rest) → term
HEIGHTS = ((-15.0, "low-angle shot"), (15.0, "eye-level shot"), (45.0, "elevated shot"), (None, "high-angle shot"))
DISTANCES = ((2.0, "wide shot"), (6.0, "medium shot"), (None, "close-up"))


def _first_below(value: float, table: tuple[tuple[float | None, str], ...]) -> str:
    return next(term for bound, term in table if bound is None or value < bound)


def describe(azimuth: float, elevation: float, zoom: float) -> str:
    """"<side> <height> <distance>", e.g. "front view eye-level shot medium shot"."""
    side = SIDES[int((azimuth % 360 + 22.5) // 45) % len(SIDES)]
    return f"{side} {_first_below(elevation, HEIGHTS)} {_first_below(zoom, DISTANCES)}"


def camera_info(azimuth: float, elevation: float, zoom: float) -> dict[str, Any]:
    """The camera's position on its orbit (y up, azimuth 0 on +z, 90° on +x) and what it looks at."""
    yaw, pitch = math.radians(azimuth), math.radians(elevation)
    distance = FARTHEST - (FARTHEST - NEAREST) * zoom / ZOOM[1]
    x, y, z = CENTER
    ground = distance * math.cos(pitch)
    return {"position": {"x": x + ground * math.sin(yaw), "y": y + distance * math.sin(pitch),
                         "z": z + ground * math.cos(yaw)},
            "target": {"x": x, "y": y, "z": z}, "zoom": 1.0, "cameraType": "perspective", "fov": FOV}


@node(display_name="Camera Angle", category="3d", description=(
    "Pick a camera angle around a subject with a 3D preview. Outputs a camera_info for 3D nodes and a "
    "plain-English shot description for prompts."))
def CameraAngle(
    horizontal_angle: Annotated[int, Int(min=AZIMUTH[0], max=AZIMUTH[1], step=1, tooltip=(
        "Azimuth around the subject in degrees. 0 is the front, 90 the right side, 180 the back."))] = 0,
    vertical_angle: Annotated[int, Int(min=ELEVATION[0], max=ELEVATION[1], step=1, tooltip=(
        "Elevation in degrees. Negative looks up from below, positive looks down from above."))] = 0,
    zoom: Annotated[float, Float(min=ZOOM[0], max=ZOOM[1], step=0.1, tooltip=(
        "How close the camera is: 0 is a wide shot, 10 a close-up."))] = 5.0,
    image: Annotated[Any, Socket(type="IMAGE", optional=True, tooltip=(
        "Optional reference image shown on the front of the subject cube in the 3D preview."))] = None,
    view: Annotated[str, String(multiline=False, optional=True, extra={
        "socketless": True, "widgetType": "CAMERA_ANGLE_VIEW"})] = "",
) -> tuple[Annotated[dict[str, Any], Socket(type="LOAD3D_CAMERA"), Output("camera_info")],
           Annotated[str, Socket(type="STRING"), Output("prompt")]]:
    """The camera on its orbit and the shot's description; the angles and zoom are clamped to their ranges
    (the preview's ``view`` widget and the image only serve the frontend)."""
    azimuth = max(AZIMUTH[0], min(AZIMUTH[1], int(horizontal_angle)))
    elevation = max(ELEVATION[0], min(ELEVATION[1], int(vertical_angle)))
    distance = max(ZOOM[0], min(ZOOM[1], float(zoom)))
    return camera_info(azimuth, elevation, distance), describe(azimuth, elevation, distance)


NODES = [CameraAngle]
