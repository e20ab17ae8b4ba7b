"""``python -m adl4cv_judge MANIFEST`` judges the notebooks a manifest lists; writes verdicts as JSON.

The manifest (JSON, written by the grading coordinator) holds ``assignment``, ``seed``, the limits,
``release`` (the release notebooks' paths) and ``notebooks``: ``{student: {notebook: path}}``. The
result, ``{student: {notebook: {"verdicts": ..., "notes": ...}}}``, is written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import nbformat

from adl4cv_judge.run import judge_notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m adl4cv_judge")
    parser.add_argument("manifest", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    manifest = json.loads(args.manifest.read_text())
    wrap_prefix = manifest.get("wrap")  # the sandbox command line, with "{argv}" where the worker goes
    wrap = None
    if wrap_prefix:

        def wrap(argv: list[str]) -> list[str]:
            out = []
            for item in wrap_prefix:
                out += argv if item == "{argv}" else [item]
            return out

    release_sources = set()
    for path in manifest.get("release", []):
        release_sources |= {c.source.strip() for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"}
    results: dict = {}
    for student, notebooks in manifest["notebooks"].items():
        results[student] = {}
        for name, path in notebooks.items():
            try:
                nb = nbformat.read(path, as_version=4)
                results[student][name] = judge_notebook(
                    manifest["assignment"],
                    nb,
                    int(manifest["seed"]),
                    cell_seconds=float(manifest.get("cell_seconds", 60)),
                    submission_seconds=float(manifest.get("submission_seconds", 600)),
                    wrap=wrap,
                    env=manifest.get("env"),
                    release_sources=release_sources,
                )
            except Exception as error:  # noqa: BLE001 - one notebook's internal error must not stop the others
                results[student][name] = {"error": f"internal error in the judge: {type(error).__name__}: {error}"}
                print(f"judge: {student}/{name}: {shlex.quote(repr(error))}", file=sys.stderr)
    args.out.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
