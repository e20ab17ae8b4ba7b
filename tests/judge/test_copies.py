"""Is a copy of a library's source flagged for review, and honest code never?"""

from __future__ import annotations

import inspect

import nbformat
import pytest
import torchvision.models.resnet as tv_resnet
from conftest import REPO

from adl4cv_grading import copies, static

RESNET = inspect.getsource(tv_resnet)
BLOCK = inspect.getsource(tv_resnet.BasicBlock)


@pytest.mark.parametrize(
    "cell",
    [
        "%%writefile myresnet.py\n" + RESNET,  # the file written out
        BLOCK,  # the class pasted into a cell
        'open("block.py", "w").write("""\n' + BLOCK.replace('"""', "'''") + '""")\n',  # a string written to a file
    ],
    ids=["writefile", "pasted", "string"],
)
def test_copied_library_source_is_flagged(cell):
    """Does the static report name torchvision's resnet.py for a cell that holds its text?"""
    report = static.analyse("04_resnet", ["import torch", cell], positions=[3, 5])
    assert [(f.what, f.cell) for f in report.copies] == [("torchvision/models/resnet.py", 5)], report.copies
    assert "distinct lines match" in str(report.copies[0])


@pytest.mark.parametrize("path", sorted((REPO / "solutions").glob("*/*.ipynb")), ids=lambda p: p.parent.name)
def test_reference_solutions_are_not_copies(path):
    """Does no cell of any reference solution count as a copy of a library's source?"""
    nb = nbformat.read(path, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    assert static.analyse(path.parent.name, cells).copies == []


def test_compiled_modules_are_judged_from_the_guards_list():
    """Does a module the kernel compiled from a copied file get a note naming both files, and junk entries none?"""
    notes = copies.compiled_copies(
        [["/tmp/k/tv_copy.py", RESNET], ["x", 3], "junk", ["/tmp/k/mine.py", "x = 1\n" * 40]]
    )
    assert len(notes) == 1 and "tv_copy.py" in notes[0] and "torchvision/models/resnet.py" in notes[0], notes
    assert copies.compiled_copies(None) == []
