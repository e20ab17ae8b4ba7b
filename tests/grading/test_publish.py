"""Does the published student tree hold no solution, no hidden test, no judge and no importable answer?"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

from adl4cv_grading.publish import publish, student_pyproject

REPO = Path(__file__).resolve().parents[2]
NOT_PUBLISHED = (
    "solutions",
    "tests",
    "adl4cv_grading",
    "benchmarks",
    ".ci",
    "adl4cv_grading",
    "nbgrader_config.py",
    "docs/student",
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("published") / "student"
    publish(dest)
    return dest


def _notebooks(kind: str):
    for path in sorted((REPO / kind).glob("*/*.ipynb")):
        yield path, json.loads(path.read_text())["cells"]


def _regions(begin: str, end: str) -> list[str]:
    """The text between the markers in every solution notebook (one string per region)."""
    found = []
    for _, cells in _notebooks("solutions"):
        for cell in cells:
            text = "".join(cell["source"])
            for chunk in text.split(begin)[1:]:
                found.append(chunk.split(end)[0].strip())
    return [r for r in found if r]


def _texts(tree: Path) -> dict[Path, str]:
    out = {}
    for path in tree.rglob("*"):
        if (
            path.is_file()
            and path.suffix in (".py", ".ipynb", ".md", ".yml", ".toml", ".txt", "")
            and path.stat().st_size
        ):
            out[path] = path.read_text(errors="replace")
    return out


def test_published_tree_holds_only_student_files(tree):
    """Are solutions, tests, the judge, benchmarks and the grading coordinator left out, and the rest there?"""
    for name in NOT_PUBLISHED:
        assert not (tree / name).exists(), name
    for name in ("book", "exercises", "adl4cv_utils/checks", "_config.yml", "_toc.yml", "README.md", "LICENSE"):
        assert (tree / name).exists(), name
    assert sorted(p.name for p in (tree / "exercises").iterdir()) == sorted(
        p.name for p in (REPO / "solutions").iterdir()
    )
    assert list((tree / "adl4cv_utils" / "checks" / "expected").glob("*.pt"))


def test_no_solution_or_hidden_test_source(tree):
    """Does no published file contain a solution region, a hidden-test region or their markers?"""
    texts = _texts(tree)
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
        assert not [p for p, t in texts.items() if marker in t], marker
    secrets = _regions("### BEGIN SOLUTION", "### END SOLUTION") + _regions(
        "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
    )
    assert len(secrets) > 30
    for path, text in texts.items():
        if path.suffix == ".ipynb":  # notebooks store lines as JSON strings: compare the cells' text
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"])
        leaked = [s.splitlines()[0] for s in secrets if s in text]
        assert not leaked, f"{path.relative_to(tree)} holds solution or hidden-test source: {leaked[:3]}"


def test_instructor_parts_of_the_contract_are_left_out(tmp_path):
    """Does the student contract take its tables from docs/contract.md without instructor parts, column and rows?"""
    repo = tmp_path / "repo"
    for name in ("book", "exercises", "adl4cv_utils", "docs/student"):
        (repo / name).mkdir(parents=True)
    (repo / "docs" / "student" / "README.md").write_text("students\n")
    (repo / "docs" / "student" / "contract.md").write_text("intro\n<!-- table: Clauses -->\nend\n")
    (repo / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    (repo / "Makefile").write_text((REPO / "Makefile").read_text())
    (repo / "docs" / "contract.md").write_text(
        "# Contract\n<!-- instructor -->\nsecret judge notes\n<!-- /instructor -->\n## Clauses and checks\n\n"
        "| clause | check | checked by |\n|---|---|---|\n| public clause | `check_a` | tests/x.py |\n"
        "| all | the judge | `instructor/adl4cv_grading/rules.py` |\n"
    )
    publish(tmp_path / "out", repo=repo)
    text = (tmp_path / "out" / "docs" / "contract.md").read_text()
    assert text.startswith("intro\n| clause | check |\n") and text.endswith("end\n"), text
    assert "public clause" in text and "secret" not in text and "judge" not in text and "tests/x.py" not in text
    assert not (tmp_path / "out" / "_vendor").exists()  # nothing vendored here: the Makefile fetches it
    assert "npm pack" in (tmp_path / "out" / "Makefile").read_text()


def test_student_docs_name_no_instructor_file(tree):
    """Do the published README, contract and exercise pages name none of the grader's files or folders?"""
    words = ("adl4cv_grading", "instructor/", "judge", "reference.py", "solutions/", "adl4cv-grade")
    pages = [
        tree / "README.md",
        tree / "Makefile",
        *(tree / "docs").rglob("*.md"),
        *(tree / "book/exercises").glob("*"),
    ]
    found = [(p.relative_to(tree), w) for p in pages for w in words if w in p.read_text().lower()]
    assert not found, found
    contract = (tree / "docs" / "contract.md").read_text()
    assert "<!-- table:" not in contract and "`SGDMomentum(params, lr, momentum=0.9)`" in contract
    assert "check_single_step" in contract and "| question | decision |" in contract


def test_publish_needs_only_the_standard_library(tmp_path):
    """Does `make publish` run with no environment: no venv step, publish.py under `python -I -S`?"""
    dry = subprocess.run(["make", "-n", "publish", "DEST=x"], cwd=REPO, capture_output=True, text=True)
    assert dry.returncode == 0 and "venv" not in dry.stdout and "pip" not in dry.stdout, dry.stdout
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    cmd = ["make", "-s", "publish", f"DEST={tmp_path / 'out'}", f"PYTHON={sys.executable} -S"]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "docs" / "contract.md").exists() and (tmp_path / "out" / "Makefile").exists()
    if (REPO / "_vendor" / "mathjax" / "tex-chtml.js").exists():
        assert (tmp_path / "out" / "_vendor" / "mathjax" / "tex-chtml.js").exists()


def test_published_pyproject_has_no_grading(tree):
    """Does the published pyproject parse, keep the package data, and name no grader, dev extra or script?"""
    meta = tomllib.loads((tree / "pyproject.toml").read_text())
    assert "scripts" not in meta["project"]
    assert set(meta["project"]["optional-dependencies"]) == {"book"}
    assert meta["tool"]["setuptools"]["packages"]["find"]["include"] == ["adl4cv_utils*"]
    assert "pytest" not in meta["tool"] and "adl4cv-grading" not in (tree / "pyproject.toml").read_text()
    assert "checks/expected/*.pt" in meta["tool"]["setuptools"]["package-data"]["adl4cv_utils"]
    assert "adl4cv-grade" not in student_pyproject((REPO / "pyproject.toml").read_text())


def test_published_package_imports_on_its_own(tree):
    """Does the published package import (every module, the stored expected values) from the tree alone?"""
    modules = _modules(tree)
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "from adl4cv_utils.checks import fixtures\n"
        "assert fixtures.expected('training', 'evaluate/seed=0/n=10/bs=4')\n"
        "assert 'adl4cv_grading' not in sys.modules\n"
        "import adl4cv_utils; print(adl4cv_utils.__file__)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tree), "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith(str(tree))


# ---------------------------------------------------------------------------------------------
# No importable answer: every public callable of the published package, graded as each graded name
# ---------------------------------------------------------------------------------------------


def _modules(tree: Path) -> list[str]:
    root = tree / "adl4cv_utils"
    names = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(tree).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def _public_callables(tree: Path) -> dict[str, object]:
    """{qualified name: object} of the public functions and classes defined in the published package."""
    found = {}
    for name in _modules(tree):
        source = (tree / Path(*name.split("."))).with_suffix(".py")
        source = source if source.exists() else tree / Path(*name.split(".")) / "__init__.py"
        here = REPO / source.relative_to(tree)
        assert here.read_bytes() == source.read_bytes(), f"{source} differs from the repository's copy"
        module = importlib.import_module(name)  # the repository's copy: byte for byte the published one
        for attr, obj in vars(module).items():
            if attr.startswith("_") or not callable(obj) or getattr(obj, "__module__", "") != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found[f"{name}.{attr}"] = obj
    return found


def _test_calls(cells) -> list[tuple[str, str, ast.Call]]:
    """(module, check, call) of every check call in the notebook's test cells (visible and hidden)."""
    calls = []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not meta.get("grade") or meta.get("solution"):
            continue
        text = "".join(cell["source"]).replace("### BEGIN HIDDEN TESTS", "").replace("### END HIDDEN TESTS", "")
        for node in ast.walk(ast.parse(text)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr.startswith("check_")
            ):
                calls.append((node.func.value.id, node.func.attr, node))
    return calls


def _solution_namespace(cells) -> dict:
    """The notebook's imports and solution definitions, executed (instructor side: the answers)."""
    namespace: dict = {}
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        text = "".join(cell["source"])
        try:
            tree = ast.parse(text)
        except SyntaxError:  # IPython magics: the Colab cell
            continue
        if tree.body and all(
            isinstance(s, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)) for s in tree.body
        ):
            exec(compile(tree, "<solution>", "exec"), namespace)  # noqa: S102 - the instructor's own solutions
    return namespace


def _arity(obj) -> int:
    params = inspect.signature(obj).parameters.values()
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _compatible(candidate, arity: int) -> bool:
    try:
        inspect.signature(candidate).bind(*[object()] * arity)
    except (TypeError, ValueError):
        return False
    return True


def _graded_calls():
    """{(assignment, graded name): [(check function, args, kwargs) with the name as a placeholder]}."""
    table: dict = {}
    for path, cells in _notebooks("solutions"):
        namespace = _solution_namespace(cells)
        for module, check, call in _test_calls(cells):
            fn = getattr(namespace[module], check)
            args = [namespace[a.id] if isinstance(a, ast.Name) else ast.literal_eval(a) for a in call.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
            for i, a in enumerate(call.args):
                if isinstance(a, ast.Name):
                    table.setdefault((path.parent.name, a.id), []).append((fn, args, kwargs, i))
    return table


@pytest.mark.filterwarnings("ignore::UserWarning")  # helpers tried with arguments they were not made for
def test_no_public_callable_passes_the_checks_of_a_graded_name(tree):
    """Does no public function or class of the published package pass every check of any graded name?"""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    candidates = _public_callables(tree)
    table = _graded_calls()
    assert len(table) >= 20 and len(candidates) > 50
    passing, tried = [], 0
    for (assignment, name), calls in sorted(table.items()):
        arity = _arity(calls[0][1][calls[0][3]])
        for qualname, candidate in candidates.items():
            if not _compatible(candidate, arity):
                continue
            tried += 1
            for fn, args, kwargs, i in calls:
                try:
                    passed = fn(*args[:i], candidate, *args[i + 1 :], **kwargs).passed
                except Exception:  # noqa: BLE001 - e.g. a candidate that is itself a check, given a tensor
                    passed = False
                plt.close("all")  # plotting helpers tried as answers open figures
                if not passed:
                    break
            else:
                passing.append(f"{qualname} passes every check of {assignment}'s {name}")
    assert tried > 100
    assert not passing, "\n".join(passing)
