"""Do the packages keep their layout rules: small modules and functions, no import cycles, the trust boundary?"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUDENT, GRADER = ROOT / "adl4cv_utils", ROOT / "instructor" / "adl4cv_grading"
PACKAGES = (STUDENT, GRADER)


def _modules(packages=PACKAGES) -> dict[str, Path]:
    found = {}
    for package in packages:
        for path in package.rglob("*.py"):
            parts = path.relative_to(package.parent).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) of every import statement in ``path``, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return found


def test_functions_of_the_grading_path_are_short():
    """Is every function of the grader and of the kernel-side probing at most 60 lines long?"""
    long = {}
    for name, path in _modules((GRADER, STUDENT / "probing")).items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno >= 60:
                long[f"{name}.{node.name}"] = node.end_lineno - node.lineno + 1
    assert not long, long


def test_the_student_package_never_imports_the_grader():
    """Does no module of adl4cv_utils import adl4cv_grading (the kernel's side cannot reach the judge's)?"""
    found = {
        n: m for n, path in _modules((STUDENT,)).items() for m, _ in _imports(path) if m.startswith("adl4cv_grading")
    }
    assert not found, found


def test_the_grader_imports_no_private_names_of_the_student_package():
    """Does the judge use only public names of adl4cv_utils (what both sides share is a public spec)?"""
    private = {
        f"{name}: {module}.{n}"
        for name, path in _modules((GRADER,)).items()
        for module, names in _imports(path)
        if module.startswith("adl4cv_utils")
        for n in names
        if n.startswith("_")
    }
    assert not private, sorted(private)


@pytest.mark.slow
def test_the_student_distribution_holds_no_grader_code(tmp_path):
    """Does a non-editable install of the repository root's distribution contain adl4cv_utils and nothing else?"""
    source = tmp_path / "source"  # a copy: setuptools writes build/ beside the pyproject
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(STUDENT, source / "adl4cv_utils", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", tmp_path, source]
    subprocess.run(pip, check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("adl4cv_utils-*.whl")
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"adl4cv_utils"}, tops
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", target, wheel], check=True)
    # Without site's .pth files (-S) the editable installs of this checkout are not on the path: only the
    # wheel's files (first) and the environment's third-party packages are, as in a student's environment.
    site_packages = next(p for p in sys.path if p.endswith("site-packages"))
    code = (
        f"import sys; sys.path[:0] = [{str(target)!r}, {site_packages!r}]\n"
        "import adl4cv_utils, adl4cv_utils.probing, adl4cv_utils.checks.optimizers\n"
        "print(adl4cv_utils.__file__)\n"
        "try:\n    import adl4cv_grading\nexcept ImportError:\n    print('no grader')\n"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [str(target / "adl4cv_utils" / "__init__.py"), "no grader"], out.stdout


def test_no_module_over_400_lines():
    """Is every module of the package (and the judge) at most 400 lines long?"""
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 400}
    assert not long, long


def test_no_import_cycles():
    """Do the package's modules import each other without a cycle (module level and lazy imports alike)?"""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        deps = set()
        for module, names in _imports(path):
            deps |= {module} | {f"{module}.{n}" for n in names}
        graph[name] = {d for d in deps if d in modules and d != name and not name.startswith(d + ".")}
    state: dict[str, int] = {}

    def visit(name, stack):
        state[name] = 1
        for dep in graph[name]:
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack, name, dep]))
            if dep not in state:
                visit(dep, [*stack, name])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [])
