"""The documentation site: `mkdocs build --strict` passes, every formula of the built pages
renders in KaTeX, the site loads nothing from elsewhere, and no document names a file that is
not in the repository."""

import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import JS, ROOT, missing, require_tool

DOCS = ROOT / "docs"
MATH = re.compile(r'<(span|div) class="arithmatex">(.*?)</\1>', flags=re.S)
DELIMITERS = {"span": ("\\(", "\\)"), "div": ("\\[", "\\]")}
SOURCE = re.compile(
    r'<(?:script|img)[^>]* src="([^"]+)"|<link rel="(?:stylesheet|icon)"[^>]* href="([^"]+)"'
)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    try:
        import material  # noqa: F401
        import mkdocs  # noqa: F401
        import pymdownx  # noqa: F401
    except ImportError:
        missing("mkdocs-material is not installed (pip install -e '.[test]')")
    if not (JS / "node_modules" / "katex" / "dist").is_dir():
        missing("KaTeX is not installed: run npm install in tests/js")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml")]
        + ["-d", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "WARNING" not in done.stderr, done.stderr[-3000:]
    return out


def pages(site: Path) -> list[Path]:
    return sorted(site.rglob("*.html"))


def formulas(page: Path) -> list[dict]:
    found = []
    for tag, body in MATH.findall(page.read_text(encoding="utf-8")):
        left, right = DELIMITERS[tag]
        tex = html.unescape(body).strip()
        assert tex.startswith(left) and tex.endswith(right), tex[:200]
        found.append({"tex": tex[len(left) : -len(right)], "display": tag == "div"})
    return found


def test_every_docs_page_is_built(site):
    built = {page.relative_to(site).parent.as_posix() for page in pages(site)}
    for source in DOCS.glob("*.md"):
        name = "." if source.stem == "index" else source.stem
        assert name in built, f"{source.name} has no page"


def test_every_formula_of_the_site_renders_in_katex(site):
    node = require_tool("node")
    math = [formula for page in pages(site) for formula in formulas(page)]
    assert len(math) > 100  # the rule catalog alone has more
    assert any(formula["display"] for formula in math)
    assert any(r"\underbrace" in formula["tex"] for formula in math)
    rendered = subprocess.run(
        [node, str(JS / "render_math.js")],
        input=json.dumps(math),
        capture_output=True,
        text=True,
        cwd=JS,
        timeout=120,
        check=True,
    )
    assert json.loads(rendered.stdout) == []


def test_the_site_loads_katex_from_itself(site):
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        for script, link in SOURCE.findall(text):
            source = (script or link).split("#")[0].split("?")[0]
            assert not re.match(r"(https?:)?//", source), f"{page}: loads {source}"
            base = site if source.startswith("/") else page.parent  # 404.html: from the root
            assert (base / source.lstrip("/")).resolve().is_file(), f"{page}: no {source}"
        if MATH.search(text):
            assert "katex/katex.min.js" in text and "javascripts/katex-init.js" in text
    fonts = list((site / "katex" / "fonts").glob("KaTeX_Main-Regular.*"))
    assert fonts, "KaTeX's fonts are not in the site"
    style = (site / "katex" / "katex.min.css").read_text(encoding="utf-8")
    for font in re.findall(r"url\((fonts/[^)]+)\)", style):
        assert (site / "katex" / font).is_file(), font


# ------------------------------------------------------------------ files the documents name

DOCUMENTS = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
NAMED = re.compile(r"(?<![\w./-])((?:[\w-]+/)*[\w.-]+\.(?:md|ipynb|cff|yml))\b")
WRITTEN = re.compile(r"-o +\S+$")  # a file a shown command writes, e.g. -o net.md
OUTPUTS = {"summary.md"}  # files matcalc grade writes into its output folder


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_a_document_names_only_files_in_the_repository(document):
    text = document.read_text(encoding="utf-8")
    for match in NAMED.finditer(text):
        name = match.group(1)
        if WRITTEN.search(text[max(0, match.start() - 40) : match.end()]) or name in OUTPUTS:
            continue
        places = (ROOT / name, DOCS / name, document.parent / name)
        assert any(place.exists() for place in places), f"{document.name} names {name}"
