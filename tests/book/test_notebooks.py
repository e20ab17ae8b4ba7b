"""Do the chapter notebooks follow the book's rules (fast, static checks; the build test executes them)?"""

from __future__ import annotations

import re

import nbformat
import pytest
import yaml
from conftest import REPO

from book.lecture import SECTIONS

CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
COLAB_INSTALL = f'%pip install -q "adl4cv-utils @ git+{CONFIG["repository"]["url"]}"'
# Putting work on the GPU (not: checking `device.type == "cuda"` to synchronise a timer).
CUDA_USE = re.compile(r"\.cuda\(|torch\.device\(\s*[\"']cuda|device\s*=\s*[\"']cuda")


def toc_files(node=TOC) -> list[str]:
    files = [node["root"]] if "root" in node else []
    for key in ("parts", "chapters", "sections"):
        for child in node.get(key, []):
            files += ([child["file"]] if "file" in child else []) + toc_files(child)
    return files


def page_path(entry: str):
    for suffix in (".ipynb", ".md"):
        if (REPO / f"{entry}{suffix}").exists():
            return REPO / f"{entry}{suffix}"
    return None


CHAPTERS = [page_path(f) for f in toc_files() if page_path(f) and page_path(f).suffix == ".ipynb"]


def normalise(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def headings() -> list[str]:
    found = []
    for entry in toc_files():
        path = page_path(entry)
        if path is None:
            continue
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        else:
            text = path.read_text()
        found += [normalise(h) for h in re.findall(r"^#{1,4}\s+(.+)$", text, flags=re.MULTILINE)]
    return found


def test_every_toc_entry_exists_and_nothing_private_is_in_the_book():
    """Does every _toc.yml entry exist, and are solutions/, exercises/ and tests/ kept out of the book?"""
    for entry in toc_files():
        assert page_path(entry) is not None, f"_toc.yml lists {entry}, which does not exist"
        assert entry.startswith("book/"), f"only book/ pages belong in the book: {entry}"
    excluded = set(CONFIG["exclude_patterns"])
    assert {"_build", "exercises", "solutions", "tests", ".venv", ".*", "**/.*"} <= excluded


@pytest.mark.parametrize("chapter", sorted(SECTIONS))
def test_lecture_sections_are_covered(chapter):
    """Does each section of the lecture appear inside some heading of the book?"""
    all_headings = headings()
    missing = [s for s in SECTIONS[chapter] if not any(normalise(s) in h for h in all_headings)]
    assert not missing, f"lecture sections of {chapter} without a heading in the book: {missing}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_skeleton(path):
    """No saved outputs, the Colab install cell, one seeded setup, and the gpu-tag rule?"""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") for c in code), f"{path.name} has saved outputs; the build executes it"
    sources = "\n".join(c.source for c in code)
    assert COLAB_INSTALL in sources, f"{path.name} lacks the Colab install cell ({COLAB_INSTALL})"
    assert "set_seed(" in sources and "quick_mode()" in sources, f"{path.name} must set the seed and QUICK once"
    gpu_cells = [c for c in code if "gpu" in c.metadata.get("tags", [])]
    for cell in code:
        if CUDA_USE.search(cell.source):
            assert cell in gpu_cells, f"{path.name}: a cell using CUDA must be tagged gpu:\n{cell.source[:200]}"
    for cell in gpu_cells:
        assert "QUICK" in cell.source, f"{path.name}: a gpu cell must size itself with QUICK:\n{cell.source[:200]}"
    if gpu_cells:
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        assert "Change runtime type" in text, f"{path.name} has gpu cells but no Colab GPU instructions"


def test_exercise_pages_link_their_notebooks():
    """Does every assignment have a book page that links its exercise notebook on Colab?"""
    for folder in sorted((REPO / "exercises").iterdir()):
        page = REPO / "book" / "exercises" / f"{folder.name}.md"
        assert page.exists(), f"no book page for exercises/{folder.name}"
        text = page.read_text()
        for nb in folder.glob("*.ipynb"):
            assert "colab.research.google.com/github/" in text and f"exercises/{folder.name}/{nb.name}" in text
        assert f"book/exercises/{folder.name}" in toc_files()


def test_every_repository_link_points_at_the_published_repository():
    """Do all GitHub links (Colab buttons, install cells, exercise pages) use _config.yml's repository.url?"""
    url = CONFIG["repository"]["url"].rstrip("/")
    repo = url.removeprefix("https://github.com/")
    link = re.compile(r"github(?:\.com)?/(adl4cv/[A-Za-z0-9_.-]+)")  # github.com/... and Colab's .../github/...
    files = [*(REPO / "book").rglob("*.ipynb"), *(REPO / "book").rglob("*.md"), *(REPO / "solutions").rglob("*.ipynb")]
    files += [*(REPO / "exercises").rglob("*.ipynb"), REPO / "CONTRIBUTING.md"]
    wrong = {(f.name, m) for f in files for m in link.findall(f.read_text()) if m != repo}
    assert not wrong, f"links to another repository than {url}: {sorted(wrong)}"
