"""Camera trajectories as Plücker ray embeddings (Sitzmann et al. 2021), the input of Wan's Fun-camera
models, as ComfyUI's WanCameraEmbedding computes them (after CameraCtrl and VideoX-Fun).

A preset motion (pan, zoom, roll) gives each frame a camera-to-world pose that grows linearly with the
frame index; poses are made relative to the first; every pixel's ray (origin o, direction d) becomes
(o × d, d). The first frame is repeated four times and each group of four frames is stacked into the
channels, so the embedding has one entry per latent frame: [1, 24, (F + 3) / 4, H, W].
"""

from __future__ import annotations

import math

import torch

BASE_TRANSLATION = 1.5
BASE_ANGLE = math.pi / 3
POSES = {  # (rotation about x, y, z; translation) per unit of progress
    "Static": ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    "Pan Up": ((0.0, 0.0, 0.0), (0.0, -1.0, 0.0)),
    "Pan Down": ((0.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
    "Pan Left": ((0.0, 0.0, 0.0), (-1.0, 0.0, 0.0)),
    "Pan Right": ((0.0, 0.0, 0.0), (1.0, 0.0, 0.0)),
    "Zoom In": ((0.0, 0.0, 0.0), (0.0, 0.0, 2.0)),
    "Zoom Out": ((0.0, 0.0, 0.0), (0.0, 0.0, -2.0)),
    "Anti Clockwise (ACW)": ((0.0, 0.0, -1.0), (0.0, 0.0, 0.0)),
    "ClockWise (CW)": ((0.0, 0.0, 1.0), (0.0, 0.0, 0.0)),
}
POSE_WIDTH, POSE_HEIGHT = 1280, 720  # the aspect the intrinsics were written for


def _rotation(x: float, y: float, z: float) -> torch.Tensor:
    cx, sx, cy, sy, cz, sz = math.cos(x), math.sin(x), math.cos(y), math.sin(y), math.cos(z), math.sin(z)
    rx = torch.tensor([[1, 0, 0], [0, cx, -sx], [0, sx, cx]], dtype=torch.float64)
    ry = torch.tensor([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]], dtype=torch.float64)
    rz = torch.tensor([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]], dtype=torch.float64)
    return rz @ ry @ rx


def trajectory(pose: str, speed: float, frames: int) -> torch.Tensor:
    """Camera-to-world matrices [F, 4, 4] of a preset motion, relative to the first frame."""
    angle, translation = POSES[pose]
    out = []
    for i in range(frames):
        progress = i / frames * speed
        matrix = torch.eye(4, dtype=torch.float64)
        matrix[:3, :3] = _rotation(*(progress * BASE_ANGLE * a for a in angle))
        matrix[:3, 3] = torch.tensor([progress * BASE_TRANSLATION * t for t in translation], dtype=torch.float64)
        out.append(matrix)
    poses = torch.stack(out)
    to_first = torch.linalg.inv(poses[0])
    return torch.cat([torch.eye(4, dtype=torch.float64)[None], to_first @ poses[1:]]).float()


def plucker(poses: torch.Tensor, width: int, height: int, fx: float, fy: float, cx: float, cy: float
            ) -> torch.Tensor:
    """Per-pixel Plücker coordinates [F, 6, H, W] for camera-to-world ``poses`` and normalised intrinsics
    (the focal length rescaled from the 16:9 the presets assume to this aspect, as CameraCtrl does)."""
    if POSE_WIDTH / POSE_HEIGHT > width / height:
        fx = height * POSE_WIDTH / POSE_HEIGHT * fx / width
    else:
        fy = width / (POSE_WIDTH / POSE_HEIGHT) * fy / height
    fx, fy, cx, cy = fx * width, fy * height, cx * width, cy * height
    rows, cols = torch.meshgrid(torch.arange(height, dtype=torch.float32) + 0.5,
                                torch.arange(width, dtype=torch.float32) + 0.5, indexing="ij")
    directions = torch.stack(((cols - cx) / fx, (rows - cy) / fy, torch.ones_like(rows)), dim=-1)
    directions = directions / directions.norm(dim=-1, keepdim=True)  # [H, W, 3]
    rays = directions.reshape(1, -1, 3) @ poses[:, :3, :3].transpose(-1, -2)  # [F, HW, 3]
    origins = poses[:, None, :3, 3].expand_as(rays)
    out = torch.cat([torch.linalg.cross(origins, rays, dim=-1), rays], dim=-1)
    return out.reshape(poses.shape[0], height, width, 6).permute(0, 3, 1, 2)


def embedding(pose: str, width: int, height: int, length: int, speed: float = 1.0, fx: float = 0.5,
              fy: float = 0.5, cx: float = 0.5, cy: float = 0.5) -> torch.Tensor:
    """WanCameraEmbedding's tensor [1, 24, (length + 3) // 4, height, width]."""
    rays = plucker(trajectory(pose, speed, length), width, height, fx, fy, cx, cy)  # [F, 6, H, W]
    rays = torch.cat([rays[:1].repeat(4, 1, 1, 1), rays[1:]])  # the first frame stands for four
    groups = rays.shape[0] // 4
    rays = rays[: groups * 4].reshape(groups, 4, 6, height, width).transpose(1, 2)  # [T, 6, 4, H, W]
    return rays.reshape(groups, 24, height, width).transpose(0, 1).unsqueeze(0).contiguous()
