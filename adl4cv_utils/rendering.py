"""Pinhole cameras, their rays, and a scene of spheres rendered exactly, to train and test a NeRF on (chapter 14).

Conventions (those of the NeRF code): a camera looks along its own ``-z`` axis, ``x`` points
right and ``y`` up in the image; a pose is a ``(4, 4)`` camera-to-world matrix whose columns are
the camera's axes and position in world coordinates. The world's ``z`` axis points up.

* ``look_at``, ``orbit_poses`` -- camera poses looking at a point;
* ``camera_rays`` -- one ray (origin, unit direction) through the centre of every pixel;
* ``SphereScene``, ``render_scene`` -- coloured, Lambert-shaded spheres, rendered by intersecting
  each ray with each sphere (the ground truth the NeRF chapter learns from);
* ``scene_field`` -- the same scene as a volume (density, colour) at any 3-D point;
* ``plot_cameras`` -- camera frusta in a 3-D matplotlib axes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True)


def look_at(eye, target=(0.0, 0.0, 0.0), up=(0.0, 0.0, 1.0)) -> torch.Tensor:
    """The ``(4, 4)`` camera-to-world pose of a camera at ``eye`` looking at ``target`` (``up``: world up)."""
    eye, target, up = (torch.as_tensor(v, dtype=torch.float32) for v in (eye, target, up))
    forward = _unit(target - eye)
    right = torch.linalg.cross(forward, up)
    if right.norm() < 1e-6:
        raise ValueError("look_at: the viewing direction is parallel to `up`; choose another up vector")
    right = _unit(right)
    true_up = torch.linalg.cross(right, forward)
    pose = torch.eye(4)
    pose[:3, 0], pose[:3, 1], pose[:3, 2], pose[:3, 3] = right, true_up, -forward, eye  # camera looks along -z
    return pose


def orbit_poses(n: int, radius: float = 4.0, elevation_deg: float = 30.0, start_deg: float = 0.0) -> torch.Tensor:
    """``(n, 4, 4)`` poses evenly spaced on a circle of ``radius`` at ``elevation_deg``, looking at the origin."""
    if n < 1:
        raise ValueError(f"n: expected a positive number of cameras, got {n!r}")
    elevation = math.radians(elevation_deg)
    poses = []
    for k in range(n):
        azimuth = math.radians(start_deg) + 2 * math.pi * k / n
        eye = radius * torch.tensor(
            [math.cos(elevation) * math.cos(azimuth), math.cos(elevation) * math.sin(azimuth), math.sin(elevation)]
        )
        poses.append(look_at(eye))
    return torch.stack(poses)


def camera_rays(pose: torch.Tensor, height: int, width: int, focal: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Origins and unit directions ``(H, W, 3)`` of the rays through every pixel centre of a pinhole camera."""
    if pose.shape != (4, 4):
        raise ValueError(f"pose: expected a (4, 4) camera-to-world matrix, got shape {tuple(pose.shape)}")
    rows, cols = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")  # (H, W)
    dirs_cam = torch.stack([(cols - width / 2) / focal, -(rows - height / 2) / focal, -torch.ones_like(rows)], -1)
    dirs = _unit(dirs_cam @ pose[:3, :3].T)  # (H, W, 3): rotate into the world frame
    origins = pose[:3, 3].expand_as(dirs)  # (H, W, 3): every ray starts at the camera centre
    return origins, dirs


@dataclass
class SphereScene:
    """Spheres with centres ``(S, 3)``, radii ``(S,)`` and colours ``(S, 3)``, lit from direction ``light``."""

    centres: torch.Tensor
    radii: torch.Tensor
    colours: torch.Tensor
    light: torch.Tensor = field(default_factory=lambda: _unit(torch.tensor([0.4, -0.6, 1.0])))
    background: torch.Tensor = field(default_factory=lambda: torch.ones(3))
    ambient: float = 0.3

    @classmethod
    def default(cls) -> SphereScene:
        """Three spheres (red, green, blue) of different sizes around the origin, on a white background."""
        centres = torch.tensor([[0.55, -0.35, 0.0], [-0.5, -0.45, -0.15], [0.0, 0.6, 0.25]])
        radii = torch.tensor([0.5, 0.4, 0.45])
        colours = torch.tensor([[0.9, 0.2, 0.15], [0.2, 0.75, 0.25], [0.2, 0.35, 0.9]])
        return cls(centres, radii, colours)

    def shade(self, index: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
        """Lambert shading ``(..., 3)`` of sphere ``index`` ``(...)`` at surface (or inner) points ``(..., 3)``."""
        normals = _unit(points - self.centres[index])  # (..., 3)
        diffuse = (normals @ self.light).clamp(min=0.0)  # (...,)
        return self.colours[index] * (self.ambient + (1 - self.ambient) * diffuse[..., None])


def render_scene(scene: SphereScene, origins: torch.Tensor, dirs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Colour ``(..., 3)`` and depth ``(...)`` (inf where no sphere is hit) of rays, by exact ray-sphere tests."""
    offset = origins[..., None, :] - scene.centres  # (..., S, 3): from each centre to the ray origin
    b = (dirs[..., None, :] * offset).sum(-1)  # (..., S)
    disc = b**2 - (offset**2).sum(-1) + scene.radii**2  # |o + t d - c|^2 = r^2, with |d| = 1
    t = -b - disc.clamp(min=0).sqrt()  # the nearer of the two intersections
    t = torch.where((disc > 0) & (t > 0), t, torch.full_like(t, math.inf))
    depth, index = t.min(dim=-1)  # (...,): the first sphere along each ray
    hit = torch.isfinite(depth)
    points = origins + torch.where(hit, depth, 0.0)[..., None] * dirs
    rgb = torch.where(hit[..., None], scene.shade(index, points), scene.background)
    return rgb, depth


def render_views(
    scene: SphereScene, poses: torch.Tensor, height: int, width: int, focal: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, H, W, 3)`` and depth maps ``(N, H, W)`` of ``scene`` seen from ``poses`` ``(N, 4, 4)``."""
    images, depths = [], []
    for pose in poses:
        rgb, depth = render_scene(scene, *camera_rays(pose, height, width, focal))
        images.append(rgb)
        depths.append(depth)
    return torch.stack(images), torch.stack(depths)


def scene_field(scene: SphereScene, points: torch.Tensor, density: float = 50.0) -> tuple[torch.Tensor, torch.Tensor]:
    """The scene as a volume: density ``(...)`` (``density`` inside a sphere, else 0) and colour ``(..., 3)``."""
    dist = (points[..., None, :] - scene.centres).norm(dim=-1) - scene.radii  # (..., S): < 0 inside sphere s
    nearest, index = dist.min(dim=-1)
    sigma = torch.where(nearest < 0, density, 0.0)
    rgb = torch.where((nearest < 0)[..., None], scene.shade(index, points), scene.background)
    return sigma, rgb


def plot_cameras(ax, poses: torch.Tensor, scale: float = 0.4, focal: float = 1.2, colour: str = "k"):
    """Draw each pose ``(N, 4, 4)`` as a small pyramid (its frustum) into a 3-D axes; returns the axes."""
    corners_cam = torch.tensor([[-0.5, -0.5, -focal], [0.5, -0.5, -focal], [0.5, 0.5, -focal], [-0.5, 0.5, -focal]])
    for pose in poses:
        centre = pose[:3, 3]
        corners = (scale * corners_cam) @ pose[:3, :3].T + centre  # (4, 3) in world coordinates
        for c in corners:
            ax.plot(*torch.stack([centre, c]).T.numpy(), color=colour, lw=0.7)
        loop = torch.cat([corners, corners[:1]])
        ax.plot(*loop.T.numpy(), color=colour, lw=0.7)
    return ax
