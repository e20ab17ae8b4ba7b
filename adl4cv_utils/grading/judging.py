"""How do the judge's verdicts become the grades? Run the judge on a chunk, store its points.

After nbgrader has executed a chunk's notebooks (their outputs and plots are the feedback), the
coordinator runs ``python -m adl4cv_judge`` on the same repaired notebooks. The judge is a separate
process that never runs student code: it starts a sandboxed worker per notebook (see
adl4cv_judge/run.py) and returns a verdict per test cell as JSON. Here those verdicts replace
nbgrader's in-kernel scores (whatever a test cell printed in the student's kernel, its points are
the judge's), and every test cell of the autograded notebook gets an output with the judge's
verdict, so the feedback shows what the judge found.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path

import nbformat

JUDGE_OUTPUT = "adl4cv_judge"  # metadata key of the output cells the judge adds


def new_seed() -> int:
    """A secret seed for one grading run: the judge draws every test input from it."""
    return secrets.randbits(62)


def run_judge(
    assignment: str,
    notebooks: dict[str, dict[str, Path]],
    release: Path,
    work: Path,
    seed: int,
    cell_seconds: float,
    submission_seconds: float,
    wrap: list[str] | None = None,
    env: dict | None = None,
) -> dict:
    """Verdicts for ``notebooks`` ({student: {notebook name: path}}), from a judge process.

    Returns {student: {notebook: {"verdicts": {...}, "notes": [...]}}} or, per notebook,
    {"error": ...}; a judge process that fails gives every notebook an "internal error".
    """
    manifest = {
        "assignment": assignment,
        "seed": seed,
        "cell_seconds": cell_seconds,
        "submission_seconds": submission_seconds,
        "release": [str(p) for p in sorted(Path(release).glob("*.ipynb"))],
        "notebooks": {s: {n: str(p) for n, p in nbs.items()} for s, nbs in notebooks.items()},
        "wrap": wrap,
        "env": env,
    }
    work.mkdir(parents=True, exist_ok=True)
    (work / "judge-manifest.json").write_text(json.dumps(manifest))
    out = work / "judge-verdicts.json"
    backstop = len(notebooks) * (submission_seconds + 120) + 120
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "adl4cv_judge", str(work / "judge-manifest.json"), "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=backstop,
            check=False,
        )
        (work / "judge.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode == 0 and out.exists():
            return json.loads(out.read_text())
        error = f"internal error: the judge exited with {proc.returncode} (see {work / 'judge.log'})"
    except subprocess.TimeoutExpired:
        error = f"internal error: the judge did not finish within {backstop:.0f} s"
    return {s: {n: {"error": error} for n in nbs} for s, nbs in notebooks.items()}


def scores(result: dict) -> dict[str, dict[str, float]]:
    """{notebook stem: {grade_id: points}} from one student's judge result (errors score nothing)."""
    out: dict[str, dict[str, float]] = {}
    for name, res in result.items():
        out[Path(name).stem] = {g: float(v["score"]) for g, v in res.get("verdicts", {}).items()}
    return out


def notes(result: dict) -> list[str]:
    """Reasons worth a line in the CSV: internal errors, cells the judge stopped, delegation."""
    found = []
    for res in result.values():
        if "error" in res:
            found.append(res["error"])
        found += res.get("notes", [])
        for v in res.get("verdicts", {}).values():
            if not v["passed"] and v["message"].startswith("the grader cannot verify"):
                found.append(v["message"])
    return list(dict.fromkeys(found))


def annotate(autograded: Path, result: dict) -> None:
    """Append the judge's verdict to each test cell of the autograded notebooks (the feedback shows it)."""
    for name, res in result.items():
        path = Path(autograded) / name
        if not path.exists():
            continue
        nb = nbformat.read(path, as_version=4)
        verdicts = res.get("verdicts", {})
        for cell in nb.cells:
            md = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = md.get("grade_id")
            if cell.cell_type != "code" or not md.get("grade"):
                continue
            v = verdicts.get(grade_id)
            if v is None:
                text = f"Judge: 0 points: {res.get('error', 'this test was not judged')}\n"
            else:
                text = _verdict_text(v)
            cell.outputs = [o for o in cell.get("outputs", []) if not o.get("metadata", {}).get(JUDGE_OUTPUT)]
            out = nbformat.v4.new_output("stream", name="stdout", text=text)
            out.metadata = {JUDGE_OUTPUT: True}
            cell.outputs.append(out)
        nbformat.write(nb, path)


def _verdict_text(v: dict) -> str:
    head = f"Judge: {v['score']:g}/{v['points']:g} {'PASS' if v['passed'] else 'FAIL'}"
    lines = [f"{head}: {v['message']}"]
    if not v["passed"]:
        for key in ("expected", "got"):
            if v.get(key):
                lines.append(f"  {key}: {v[key]}")
    return "\n".join(lines) + "\n"
