"""Do the 2-D test surfaces have their minima where documented, and does run_on_surface record paths?"""

import pytest
import torch

from adl4cv_utils.surfaces import elongated_bowl, rosenbrock, run_on_surface, saddle_valley


def test_minima():
    """Are the documented minima really minima (zero value, zero gradient)?"""
    for f, p in ((elongated_bowl, [0.0, 0.0]), (rosenbrock, [1.0, 1.0])):
        point = torch.tensor(p, dtype=torch.float64, requires_grad=True)
        value = f(point)
        value.backward()
        assert value.item() == pytest.approx(0.0) and point.grad.abs().max() < 1e-12
    assert saddle_valley(torch.zeros(4, 2)).shape == (4,)


def test_run_on_surface_descends():
    """Does SGD on the bowl produce a (steps + 1, 2) path that ends lower than it starts?"""
    path = run_on_surface(elongated_bowl, lambda ps: torch.optim.SGD(ps, lr=0.05), start=(-4.0, 2.0), steps=50)
    assert path.shape == (51, 2)
    assert elongated_bowl(path[-1]) < 0.01 * elongated_bowl(path[0])
    with pytest.raises(ValueError, match="steps"):
        run_on_surface(elongated_bowl, lambda ps: torch.optim.SGD(ps, lr=0.1), steps=0)
