"""MkDocs hooks (mkdocs.yml): KaTeX's files go into the built site, so that its math renders
without fetching anything."""

from __future__ import annotations

import shutil
from pathlib import Path

from mkdocs.exceptions import PluginError

KATEX = Path(__file__).resolve().parent / "tests" / "js" / "node_modules" / "katex" / "dist"
WANTED = ("katex.min.css", "katex.min.js", "contrib/auto-render.min.js", "fonts")


def on_post_build(config, **kwargs) -> None:  # noqa: ANN001 - MkDocs' hook signature
    """Copy KaTeX's script, style sheet, auto-render extension and fonts into site/katex."""
    missing = [name for name in WANTED if not (KATEX / name).exists()]
    if missing:
        raise PluginError(
            f"KaTeX is not installed ({KATEX / missing[0]} is missing): run npm install in tests/js"
        )
    target = Path(config["site_dir"]) / "katex"
    for name in WANTED:
        source, destination = KATEX / name, target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(source, destination)
