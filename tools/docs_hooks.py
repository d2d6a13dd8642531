"""mkdocs hooks (mkdocs.yml): the repository's top-level pages join the site, with their links made to work there.

README.md becomes the home page (index.md), RESULTS.md, CHANGELOG.md and LICENSE join it; their links are written
for GitHub (README.md links docs/commands.md, docs/results.md links ../RESULTS.md), so each page's links to these
files are rewritten to the site's names as the page is read.  Nothing in docs/ or at the top is changed on disk.
The API reference pages drop the Sphinx role names (``:func:``) that the docstrings put before a name.
"""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
TOP = {"README.md": "index.md", "RESULTS.md": "results-suite.md", "CHANGELOG.md": "changelog.md",
       "LICENSE": "license.md"}
LINK = re.compile(r"\]\((?P<target>[^)#\s]+)(?P<rest>[^)]*)\)")
# the docstrings' Sphinx roles (:class:`Result`), which mkdocstrings renders as ":class:" before the code
ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj):(?=<code>)")


def on_files(files, config):
    for source, page in TOP.items():
        text = (ROOT / source).read_text(encoding="utf-8")
        if source == "LICENSE":
            text = f"# Licence\n\n```text\n{text}```\n"
        files.append(File.generated(config, page, content=text))
    return files


def _site_target(target: str, top_level: bool) -> str:
    """Where a link written for the repository points in the site (unchanged if it is not one of ours)."""
    path = target if top_level else (target[3:] if target.startswith("../") else None)
    if path is None:
        return target
    if path in TOP:
        return TOP[path]
    if top_level and path.startswith("docs/"):
        return path[len("docs/"):]
    return target


def on_page_markdown(markdown, page, config, files):
    top_level = page.file.src_uri in TOP.values()

    def rewrite(match: re.Match) -> str:
        return f"]({_site_target(match['target'], top_level)}{match['rest']})"
    return LINK.sub(rewrite, markdown)


def on_page_content(html, page, config, files):
    return ROLE.sub("", html)
