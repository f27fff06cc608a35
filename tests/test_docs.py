"""The manual (docs/, mkdocs) builds strictly, names only files that exist, and the README stays
a short front page."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# a repository path in backticks: `src/platypus/plan.py`, `benchmarks/results/x.md`, `recipes/`
PATH = re.compile(r"`((?:src|tests|benchmarks|scripts|configs|recipes|docs)/[\w./-]*)`")


def test_the_site_builds_strictly(tmp_path):
    """A link to a missing page, anchor or repository file fails the build (not `-q`: mkdocs
    then hides its warnings and exits 0)."""
    cmd = [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    front = (tmp_path / "site" / "index.html").read_text()
    assert "One example per stage" in front  # the README is the front page
    pages = {p.stem for p in (REPO / "docs").glob("*.md")}
    built = {p.stem for p in (tmp_path / "site").glob("*.html")}
    assert pages <= built, pages - built


def test_named_paths_exist():
    texts = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    missing = []
    for text in texts:
        for name in PATH.findall(text.read_text(encoding="utf-8")):
            if "*" not in name and not (REPO / name.rstrip("/")).exists():
                missing.append(f"{text.name}: {name}")
    assert not missing, missing


def test_the_readme_is_short():
    assert len((REPO / "README.md").read_text().splitlines()) <= 200
