"""Every gallery network fits every page: fragments \\input into an article, an article on
US letter and a beamer frame, and standalone documents on each page, with no overfull box
and no warning in pdflatex's log."""

import pytest
from conftest import compile_tex_cleanly

from matcalc.engine.derive import derive
from matcalc.errors import MatcalcError
from matcalc.printers.document import PAGES
from matcalc.printers.gallery import GALLERY
from matcalc.printers.render import Layout, render_derivation

PACKAGES = (
    "\\usepackage{amsmath,amssymb}\n\\usepackage{tikz}\n\\usetikzlibrary{arrows.meta}\n"
    "\\allowdisplaybreaks\n"
)
WRAPPERS = {
    # name: (the page the fragment is printed for, the document that \input's it)
    "article": (
        "article",
        f"\\documentclass{{article}}\n{PACKAGES}\\begin{{document}}\n"
        "\\input{fragment}\n\\end{document}\n",
    ),
    "article-letterpaper": (
        "article",
        f"\\documentclass[letterpaper]{{article}}\n{PACKAGES}\\begin{{document}}\n"
        "\\input{fragment}\n\\end{document}\n",
    ),
    "beamer-frame": (
        "beamer",
        # No PDF bookmarks: they need a second run, and say so in a warning.
        f"\\documentclass[hyperref={{bookmarks=false}}]{{beamer}}\n{PACKAGES}"
        "\\begin{document}\n\\begin{frame}[allowframebreaks=0.9]\n\\input{fragment}\n"
        "\\end{frame}\n\\end{document}\n",
    ),
}
ENTRIES = {entry.name: entry for entry in GALLERY}


def _render(entry, fmt: str, page: str) -> str:
    layout = Layout(
        entry.layout.steps, entry.layout.diagram, entry.title, entry.layout.gradients, page
    )
    return render_derivation(derive(entry.network()), fmt, notation=entry.notation, layout=layout)


@pytest.mark.parametrize("wrapper", WRAPPERS)
@pytest.mark.parametrize("name", ENTRIES)
def test_fragment_fits_the_document_it_is_input_into(name, wrapper, tmp_path):
    page, document = WRAPPERS[wrapper]
    fragment = _render(ENTRIES[name], "latex", page)
    compile_tex_cleanly(document, tmp_path, {"fragment.tex": fragment})


@pytest.mark.parametrize("page", ["a4", "letter", "beamer"])
@pytest.mark.parametrize("name", ENTRIES)
def test_standalone_document_fits_its_page(name, page, tmp_path):
    tex = _render(ENTRIES[name], "tex", page)
    assert PAGES[page].geometry in tex
    compile_tex_cleanly(tex, tmp_path)


def test_fragments_fit_a_default_article_unless_told_otherwise():
    entry = ENTRIES["three-layer-relu-tanh-softmax"]
    assert _render(entry, "latex", "") == _render(entry, "latex", "article")
    assert _render(entry, "tex", "") == _render(entry, "tex", "a4")


def test_narrower_pages_break_chains_into_more_rows():
    entry = ENTRIES["three-layer-relu-tanh-softmax"]
    rows = {page: _render(entry, "latex", page).count("\\\\\n") for page in ("a4", "beamer")}
    assert rows["beamer"] > rows["a4"]


def test_an_unknown_page_is_one_clear_error():
    with pytest.raises(MatcalcError, match="--page a5: one of a4, letter, article, beamer"):
        _render(ENTRIES["logistic-regression"], "latex", "a5")
