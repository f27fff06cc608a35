"""mkdocs hooks for the manual (mkdocs.yml):

- the site's front page is the README itself, its links into docs/ made relative to docs/, so
  the two cannot drift and the build checks the README's links too;
- links from a page to files of the repository outside docs/ (results files, sources) are
  checked here and shown as code paths, since the site serves only pages; a link to a
  repository file that does not exist fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError

REPO = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"\[([^\]]+)\]\(\.\./([^)#\s]+)\)")


def on_page_read_source(page, config) -> str | None:
    if page.file.src_uri != "index.md":
        return None
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    return readme.replace("](docs/", "](").replace("[docs/", "[")


def on_page_markdown(markdown: str, page, config, files) -> str:
    def replace(match: re.Match) -> str:
        if not (REPO / match.group(2)).exists():
            raise PluginError(f"{page.file.src_path}: link to a missing file {match.group(2)}")
        return f"{match.group(1)} (`{match.group(2)}`)"

    return OUTSIDE.sub(replace, markdown)
