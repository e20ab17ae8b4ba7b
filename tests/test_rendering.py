"""Tests for adl4cv_utils.rendering (cameras, rays, the analytic sphere scene and its volume)."""

import math

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch

from adl4cv_utils.rendering import (
    SphereScene,
    camera_rays,
    look_at,
    orbit_poses,
    plot_cameras,
    render_scene,
    render_views,
    scene_field,
)

matplotlib.use("Agg")


def test_look_at_is_a_rotation_looking_at_the_target():
    """Is the pose's rotation orthonormal (det +1), and does the camera's -z axis point at the target?"""
    pose = look_at((3.0, 1.0, 2.0), target=(0.0, 0.0, 0.5))
    rot = pose[:3, :3]
    assert torch.allclose(rot.T @ rot, torch.eye(3), atol=1e-6) and torch.det(rot).item() == pytest.approx(1.0)
    to_target = torch.tensor([0.0, 0.0, 0.5]) - torch.tensor([3.0, 1.0, 2.0])
    assert torch.allclose(-rot[:, 2], to_target / to_target.norm(), atol=1e-6)
    assert rot[2, 1] > 0  # the image's up axis has a positive world-z component
    with pytest.raises(ValueError, match="parallel"):
        look_at((0.0, 0.0, 3.0))


def test_orbit_poses_sit_on_the_circle():
    """Are orbit cameras at the given radius and elevation, evenly spaced in azimuth?"""
    poses = orbit_poses(8, radius=4.0, elevation_deg=30.0)
    centres = poses[:, :3, 3]
    assert poses.shape == (8, 4, 4)
    assert torch.allclose(centres.norm(dim=1), torch.full((8,), 4.0), atol=1e-5)
    assert torch.allclose(centres[:, 2], torch.full((8,), 4.0 * math.sin(math.radians(30))), atol=1e-5)
    azimuth = torch.atan2(centres[:, 1], centres[:, 0])
    assert torch.allclose(torch.diff(azimuth)[:3], torch.full((3,), 2 * math.pi / 8), atol=1e-5)


def test_camera_rays_go_through_the_pixel_centres():
    """Are rays unit length, from the camera centre, the middle one along the view axis, and right is +x?"""
    pose = look_at((0.0, -4.0, 0.0))
    origins, dirs = camera_rays(pose, 5, 7, focal=10.0)
    assert origins.shape == dirs.shape == (5, 7, 3)
    assert torch.allclose(dirs.norm(dim=-1), torch.ones(5, 7), atol=1e-6)
    assert torch.allclose(origins, torch.tensor([0.0, -4.0, 0.0]).expand(5, 7, 3))
    assert torch.allclose(dirs[2, 3], torch.tensor([0.0, 1.0, 0.0]), atol=1e-6)  # centre pixel looks at the origin
    assert dirs[2, 6, 0] > 0 and dirs[0, 3, 2] > 0  # right column looks right (+x), top row looks up (+z)
    expected = torch.tensor([3.0 / 10.0, 1.0, 0.0])  # pixel centre (2.5, 6.5): 3 pixels right of the centre
    assert torch.allclose(dirs[2, 6], expected / expected.norm(), atol=1e-6)
    with pytest.raises(ValueError, match="pose"):
        camera_rays(torch.eye(3), 2, 2, 1.0)


def test_render_scene_hits_the_sphere_at_the_right_depth():
    """Does a ray at a unit sphere from distance 4 hit at depth 3 with the sphere's colour, and miss beside it?"""
    scene = SphereScene(
        torch.zeros(1, 3), torch.ones(1), torch.tensor([[1.0, 0.0, 0.0]]), light=torch.tensor([0, -1.0, 0])
    )
    origins = torch.tensor([[0.0, -4.0, 0.0], [0.0, -4.0, 0.0]])
    dirs = torch.tensor([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    rgb, depth = render_scene(scene, origins, dirs)
    assert depth[0].item() == pytest.approx(3.0) and math.isinf(depth[1].item())
    assert torch.allclose(rgb[0], torch.tensor([1.0, 0.0, 0.0]))  # lit head-on: full colour
    assert torch.allclose(rgb[1], scene.background)


def test_render_views_and_scene_field_agree():
    """Do views have shape (N, H, W, 3), and is the volume dense exactly inside the spheres with their shading?"""
    scene = SphereScene.default()
    images, depths = render_views(scene, orbit_poses(2), 6, 6, focal=8.0)
    assert images.shape == (2, 6, 6, 3) and depths.shape == (2, 6, 6)
    assert 0 <= images.min() and images.max() <= 1 and torch.isfinite(depths).any()
    sigma, rgb = scene_field(
        scene, torch.stack([scene.centres[0] * 0.99 + 0.01 * scene.centres[1], torch.tensor([5.0, 5, 5])])
    )
    assert sigma.tolist() == [50.0, 0.0] and torch.allclose(rgb[1], scene.background)
    surface = scene.centres[0] + scene.radii[0] * scene.light
    assert torch.allclose(scene_field(scene, surface * 0.999)[1], scene.colours[0], atol=1e-3)


def test_plot_cameras_draws_frusta():
    """Does plot_cameras draw five lines (four edges to the corners and the image rectangle) per camera?"""
    ax = plt.figure().add_subplot(projection="3d")
    plot_cameras(ax, orbit_poses(3))
    assert len(ax.lines) == 15
