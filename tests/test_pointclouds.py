"""Tests for adl4cv_utils.pointclouds (shape samples, the data set, kNN graphs, voxels, meshes)."""

import pytest
import torch

from adl4cv_utils.pointclouds import (
    SHAPES,
    ShapePointClouds,
    knn_graph,
    mesh_edges,
    random_rotation,
    sample_shape,
    torus_mesh,
    voxelize,
)


def test_samples_lie_on_their_surfaces():
    """Are sphere points at radius 0.9, cube points on a face, and the flat flags right for cylinder caps?"""
    g = torch.Generator().manual_seed(0)
    sphere, flat = sample_shape("sphere", 500, g)
    assert torch.allclose(sphere.norm(dim=1), torch.full((500,), 0.9)) and not flat.any()
    cube, flat = sample_shape("cube", 500, g)
    assert torch.allclose(cube.abs().amax(dim=1), torch.full((500,), 0.75)) and flat.all()
    cyl, cap = sample_shape("cylinder", 2000, g)
    assert torch.allclose(cyl[cap, 2].abs(), torch.full((int(cap.sum()),), 0.8))
    assert torch.allclose(cyl[~cap, :2].norm(dim=1), torch.full((int((~cap).sum()),), 0.7), atol=1e-6)
    assert 0.25 < cap.float().mean() < 0.35  # caps: 2 r^2 / (2 r^2 + 4 r h) = 0.98 / 3.22 = 0.30 of the area
    for name in SHAPES:
        points, flat = sample_shape(name, 300, g)
        assert points.shape == (300, 3) and flat.shape == (300,) and points.abs().max() <= 1.0
    with pytest.raises(ValueError, match="name"):
        sample_shape("teapot", 10)


def test_random_rotation_is_a_rotation():
    """Is random_rotation orthonormal with determinant +1?"""
    r = random_rotation(torch.Generator().manual_seed(3))
    assert torch.allclose(r.T @ r, torch.eye(3), atol=1e-5) and torch.det(r).item() == pytest.approx(1.0, abs=1e-5)


def test_dataset_is_balanced_and_repeatable():
    """Does the data set hold balanced labels, (P, 3) clouds and per-point flags, the same for one seed?"""
    data = ShapePointClouds(20, n_points=64, seed=1)
    points, label = data[0]
    assert points.shape == (64, 3) and data.points.shape == (20, 64, 3) and data.flat.shape == (20, 64)
    assert torch.bincount(data.labels).tolist() == [4] * 5 and 0 <= label < 5
    assert torch.equal(data.points, ShapePointClouds(20, n_points=64, seed=1).points)


def test_knn_graph_finds_the_nearest_points():
    """Does knn_graph return the nearest other points (never the point itself) on a line of points?"""
    line = torch.tensor([[0.0], [1.0], [3.0], [7.0]]).repeat(1, 3)[None]  # (1, 4, 3)
    idx = knn_graph(line, k=2)
    assert idx.shape == (1, 4, 2)
    assert [sorted(r) for r in idx[0].tolist()] == [[1, 2], [0, 2], [0, 1], [1, 2]]
    with pytest.raises(ValueError, match="k"):
        knn_graph(line, k=4)


def test_voxelize_marks_occupied_cells():
    """Does voxelize set exactly the cells that contain points, ignoring points outside the cube?"""
    points = torch.tensor([[-0.9, -0.9, -0.9], [0.1, 0.1, 0.1], [5.0, 0.0, 0.0]])
    grid = voxelize(points, resolution=4, extent=1.0)
    assert grid.shape == (4, 4, 4) and grid.sum() == 2 and grid[0, 0, 0] and grid[2, 2, 2]


def test_torus_mesh_is_closed():
    """Is the torus mesh closed: V - E + F = 0 (Euler characteristic of a torus), every edge in two faces?"""
    vertices, faces = torus_mesh(8, 6)
    edges = mesh_edges(faces)
    assert vertices.shape == (48, 3) and faces.shape == (96, 3)
    assert len(vertices) - len(edges) + len(faces) == 0
    assert (edges[:, 0] < edges[:, 1]).all() and len(edges) == 3 * len(faces) // 2
