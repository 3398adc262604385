"""The gallery in derivations/: up to date with the code, compiles, renders in KaTeX."""

import pytest
from conftest import ROOT, assert_renders, compile_tex_cleanly

from matcalc.cli import main as matcalc
from matcalc.printers.gallery import DOCUMENT_FORMATS, GALLERY, command, gallery_files, main, stale

DERIVATIONS = ROOT / "derivations"
NAMES = [entry.name for entry in GALLERY]


def test_committed_gallery_is_what_the_code_writes():
    assert stale(DERIVATIONS) == [], "run: python3 -m matcalc.printers.gallery"


def test_check_reports_a_stale_file(tmp_path):
    assert main(["--directory", str(tmp_path)]) == 0
    assert main(["--directory", str(tmp_path), "--check"]) == 0
    (tmp_path / f"{NAMES[0]}.md").write_text("old\n")
    assert main(["--directory", str(tmp_path), "--check"]) == 1


def test_gallery_has_the_seven_networks_in_both_formats_with_their_specs():
    names = set(gallery_files())
    for name in NAMES:
        assert {f"{name}.toml", f"{name}.tex", f"{name}.md"} <= names
    assert len(NAMES) == 10  # four in 6.390 notation, six in five other conventions


@pytest.mark.parametrize("name", NAMES)
def test_gallery_document_compiles(name, tmp_path):
    compile_tex_cleanly((DERIVATIONS / f"{name}.tex").read_text(encoding="utf-8"), tmp_path)


@pytest.mark.parametrize("suffix", DOCUMENT_FORMATS)
@pytest.mark.parametrize("entry", GALLERY, ids=NAMES)
def test_the_cli_alone_writes_each_gallery_document(entry, suffix, tmp_path):
    (tmp_path / f"{entry.name}.toml").write_text(entry.spec, encoding="utf-8")
    assert matcalc(["derive", *command(entry, suffix, tmp_path)]) == 0
    written = (tmp_path / f"{entry.name}.{suffix}").read_text(encoding="utf-8")
    assert written == (DERIVATIONS / f"{entry.name}.{suffix}").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_gallery_markdown_renders_in_katex(name):
    assert_renders((DERIVATIONS / f"{name}.md").read_text(encoding="utf-8"))


def test_generic_chapter_has_the_seeds_central_equation():
    tex = (DERIVATIONS / "generic-L-layer.tex").read_text(encoding="utf-8")
    assert r"\overbrace{\Bigl(\underbrace{\frac{\partial A^{\ell}}{\partial Z^{\ell}}}" in tex
    assert r"^{\text{Loss unit}}" in tex and r"\left(\cdots\right)" in tex
    assert r"^{\text{Weight link}}" in tex and r"^{\text{Other layers}}" in tex
