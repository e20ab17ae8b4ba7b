"""Does the book build with -W, and does a real Chromium show every page as a reader would?

The build executes every chapter (cached in _build/.jupyter_cache). Screenshots of each page go to
_build/screenshots/ for people to look at.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from book.test_notebooks import toc_files

pytestmark = pytest.mark.slow
HTML = REPO / "_build" / "html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def built_book():
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"]
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, f"book build failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    return HTML


def test_build_has_every_page_and_local_mathjax(built_book):
    """Is there an HTML page per toc entry, MathJax served from the site, and no solutions rendered?"""
    for entry in toc_files():
        assert (built_book / f"{entry}.html").exists(), entry
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").exists()
    assert not list(built_book.rglob("solutions")) and not (built_book / "exercises").exists()
    for page in built_book.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, page


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `apt-get install chromium` (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        yield b
        b.close()


PAGES = [e for e in toc_files() if (REPO / f"{e}.ipynb").exists() or (REPO / f"{e}.md").exists()]


@pytest.mark.parametrize("entry", PAGES)
def test_page_in_chromium(built_book, browser, entry):
    """No execution errors, math typeset (no raw $$), every image loaded, a Colab link on notebooks?"""
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    requests_outside = []
    page.on("request", lambda r: requests_outside.append(r.url) if r.url.startswith("http") else None)
    page.goto((built_book / f"{entry}.html").as_uri())
    page.wait_for_load_state("load")
    page.wait_for_function("() => !window.MathJax || !MathJax.startup || MathJax.startup.promise", timeout=20000)
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    body = page.inner_text("article")
    outputs = " ".join(el.inner_text() for el in page.query_selector_all("article .cell_output"))
    assert "Traceback (most recent call last)" not in outputs, f"execution error shown on {entry}"
    assert page.query_selector_all(".output.traceback, .output.error") == [], f"error output on {entry}"
    if page.query_selector("mjx-container") is None:
        assert "$$" not in body and "\\frac" not in body, f"raw TeX on {entry}"
    assert "$$" not in body, f"math not typeset on {entry}"
    broken = page.evaluate(
        "() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == [], f"images that did not load on {entry}: {broken}"
    if (REPO / f"{entry}.ipynb").exists():
        assert page.query_selector("a[href*='colab.research.google.com']") is not None, f"no Colab link on {entry}"
        assert page.query_selector_all("article img") or entry.endswith("intro"), f"no plot on {entry}"
    shots = REPO / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{entry.replace('/', '_')}.png"), full_page=True)
    page.close()
    assert not [u for u in requests_outside if "mathjax" in u.lower() or "cdn" in u.lower()], requests_outside
