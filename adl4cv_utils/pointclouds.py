"""3-D shapes as point clouds, voxels, meshes and graphs, generated in code (chapter 15).

* ``sample_shape`` -- points on the surface of a sphere, cube, cylinder, cone or torus, with a
  flag per point that says whether it lies on a flat face (for a per-point task);
* ``ShapePointClouds`` -- a labelled data set of randomly rotated and stretched shapes;
* ``knn_graph`` -- each point's ``k`` nearest neighbours, the edges of a graph on a point cloud;
* ``voxelize``, ``torus_mesh``, ``mesh_edges`` -- the other two representations of the chapter.
"""

from __future__ import annotations

import math

import torch
from torch.utils.data import Dataset

SHAPES = ("sphere", "cube", "cylinder", "cone", "torus")


def _sphere(n, g):
    p = torch.randn(n, 3, generator=g)
    return 0.9 * p / p.norm(dim=1, keepdim=True), torch.zeros(n, dtype=torch.bool)


def _cube(n, g):
    face = torch.randint(0, 6, (n,), generator=g)  # all six faces have the same area
    p = torch.rand(n, 3, generator=g) * 2 - 1
    axis, sign = face // 2, (face % 2) * 2 - 1
    p[torch.arange(n), axis] = sign.float()
    return 0.75 * p, torch.ones(n, dtype=torch.bool)


def _cylinder(n, g, r=0.7, h=0.8):
    on_cap = torch.rand(n, generator=g) < (2 * r**2) / (2 * r**2 + 4 * r * h)  # cap area / total area
    angle = torch.rand(n, generator=g) * 2 * math.pi
    radius = torch.where(on_cap, r * torch.rand(n, generator=g).sqrt(), torch.full((n,), r))
    sign = torch.randint(0, 2, (n,), generator=g) * 2 - 1
    z = torch.where(on_cap, h * sign.float(), h * (torch.rand(n, generator=g) * 2 - 1))
    return torch.stack([radius * angle.cos(), radius * angle.sin(), z], 1), on_cap


def _cone(n, g, r=0.8, h=1.6):
    slant = math.hypot(r, h)
    on_base = torch.rand(n, generator=g) < r / (r + slant)  # base area pi r^2 vs side area pi r s
    angle = torch.rand(n, generator=g) * 2 * math.pi
    u = torch.rand(n, generator=g).sqrt()  # uniform over a disc or over the cone's side
    radius = r * u
    z = torch.where(on_base, torch.full((n,), -h / 2), h / 2 - h * u)
    return torch.stack([radius * angle.cos(), radius * angle.sin(), z], 1), on_base


def _torus(n, g, big=0.65, small=0.3):
    kept = []
    while sum(len(k) for k in kept) < n:  # rejection: the outer side of a torus has more area
        u, v, w = (torch.rand(2 * n, generator=g) for _ in range(3))
        v = v * 2 * math.pi
        keep = w < (big + small * v.cos()) / (big + small)
        kept.append(torch.stack([u[keep] * 2 * math.pi, v[keep]], 1))
    u, v = torch.cat(kept)[:n].T
    ring = big + small * v.cos()
    return torch.stack([ring * u.cos(), ring * u.sin(), small * v.sin()], 1), torch.zeros(n, dtype=torch.bool)


_SAMPLERS = {"sphere": _sphere, "cube": _cube, "cylinder": _cylinder, "cone": _cone, "torus": _torus}


def sample_shape(name: str, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points ``(n, 3)`` spread uniformly over the surface of shape ``name``, and ``(n,)`` flat-face flags."""
    if name not in _SAMPLERS:
        raise ValueError(f"name: expected one of {SHAPES}, got {name!r}")
    if n < 1:
        raise ValueError(f"n: expected a positive number of points, got {n!r}")
    return _SAMPLERS[name](n, generator if generator is not None else torch.Generator().manual_seed(0))


def random_rotation(generator: torch.Generator | None = None) -> torch.Tensor:
    """A uniformly random ``(3, 3)`` rotation matrix (QR of a Gaussian matrix, signs fixed, det +1)."""
    q, r = torch.linalg.qr(torch.randn(3, 3, generator=generator))
    q = q * torch.sign(torch.diagonal(r))
    if torch.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


class ShapePointClouds(Dataset):
    """``n`` point clouds ``points`` ``(n, P, 3)`` of random shapes, ``labels`` ``(n,)``, ``flat`` ``(n, P)``.

    Each cloud is one of ``SHAPES`` (balanced), stretched by 0.75-1.25 along each axis, rotated at
    random (``rotate``), and jittered with Gaussian noise of standard deviation ``jitter``.
    """

    def __init__(self, n: int, n_points: int = 256, seed: int = 0, rotate: bool = True, jitter: float = 0.01):
        if n < 1 or n_points < 1:
            raise ValueError(f"n, n_points: expected positive ints, got {n!r}, {n_points!r}")
        g = torch.Generator().manual_seed(seed)
        self.classes = SHAPES
        self.labels = torch.arange(n) % len(SHAPES)
        self.labels = self.labels[torch.randperm(n, generator=g)]
        clouds, flats = [], []
        for label in self.labels.tolist():
            points, flat = sample_shape(SHAPES[label], n_points, g)
            points = points * (0.75 + 0.5 * torch.rand(3, generator=g))  # (P, 3): stretch each axis
            if rotate:
                points = points @ random_rotation(g).T
            clouds.append(points + jitter * torch.randn(n_points, 3, generator=g))
            flats.append(flat)
        self.points, self.flat = torch.stack(clouds), torch.stack(flats)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.points[i], self.labels[i]


def knn_graph(points: torch.Tensor, k: int) -> torch.Tensor:
    """Indices ``(B, N, k)`` of each point's ``k`` nearest other points in ``(B, N, 3)`` clouds (self excluded)."""
    if not 1 <= k < points.shape[-2]:
        raise ValueError(f"k: expected 1 <= k < number of points ({points.shape[-2]}), got {k!r}")
    dist = torch.cdist(points, points)  # (B, N, N)
    dist.diagonal(dim1=-2, dim2=-1).fill_(math.inf)
    return dist.topk(k, dim=-1, largest=False).indices


def voxelize(points: torch.Tensor, resolution: int = 16, extent: float = 1.0) -> torch.Tensor:
    """Occupancy grid ``(R, R, R)`` (bool) of the cube ``[-extent, extent]^3``: True where a point falls."""
    if resolution < 1:
        raise ValueError(f"resolution: expected a positive int, got {resolution!r}")
    cells = ((points + extent) / (2 * extent) * resolution).floor().long()  # (N, 3) cell index per point
    inside = ((cells >= 0) & (cells < resolution)).all(dim=1)
    grid = torch.zeros(resolution, resolution, resolution, dtype=torch.bool)
    grid[tuple(cells[inside].T)] = True
    return grid


def torus_mesh(n_major: int = 24, n_minor: int = 12, big: float = 0.65, small: float = 0.3):
    """A triangle mesh of a torus: vertices ``(V, 3)`` on a grid of angles and faces ``(F, 3)`` (vertex indices)."""
    u = torch.arange(n_major) * 2 * math.pi / n_major
    v = torch.arange(n_minor) * 2 * math.pi / n_minor
    uu, vv = torch.meshgrid(u, v, indexing="ij")  # (n_major, n_minor)
    ring = big + small * vv.cos()
    vertices = torch.stack([ring * uu.cos(), ring * uu.sin(), small * vv.sin()], -1).reshape(-1, 3)
    i, j = torch.meshgrid(torch.arange(n_major), torch.arange(n_minor), indexing="ij")
    a, b = i * n_minor + j, ((i + 1) % n_major) * n_minor + j  # a quad a, b, c, d split into two triangles
    c, d = ((i + 1) % n_major) * n_minor + (j + 1) % n_minor, i * n_minor + (j + 1) % n_minor
    faces = torch.cat([torch.stack([a, b, c], -1).reshape(-1, 3), torch.stack([a, c, d], -1).reshape(-1, 3)])
    return vertices, faces


def mesh_edges(faces: torch.Tensor) -> torch.Tensor:
    """The unique undirected edges ``(E, 2)`` (smaller index first) of a triangle mesh's faces ``(F, 3)``."""
    pairs = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])  # (3F, 2)
    return torch.unique(pairs.sort(dim=1).values, dim=0)
