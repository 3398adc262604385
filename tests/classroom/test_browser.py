"""The playground page in a real headless browser (Debian's chromium, driven by Playwright)."""

import pytest
from classroom_data import D, running_server
from conftest import missing, require_tool

BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 30_000
"""Playwright's waits by locator: a wait_for_function would be an eval, which the page's
Content-Security-Policy refuses (as it should)."""


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


@pytest.fixture(scope="module")
def page():
    chromium = require_tool("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed")
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        context = browser.new_context(accept_downloads=True)
        tab = context.new_page()
        requests = []
        tab.on("request", lambda request: requests.append(request.url))
        tab.goto(url + "/")
        tab.wait_for_selector("body[data-ready=true]", timeout=WAIT_MS)
        tab.requests = requests
        tab.base_url = url
        yield tab
        browser.close()


def visible_text(page) -> str:
    """The text a reader sees: KaTeX's MathML copy (for screen readers) left out."""
    return page.evaluate(
        """() => {
        const copy = document.body.cloneNode(true);
        copy.querySelectorAll('.katex-mathml, script, style, textarea, input').forEach(
            (element) => element.remove());
        return copy.innerText;
    }"""
    )


def test_a_preset_renders_as_katex_with_no_raw_tex(page):
    page.select_option("#preset", "three-layer-relu-tanh-softmax")
    expect(page.locator("#derivation h2")).to_contain_text("3-layer", timeout=WAIT_MS)
    page.wait_for_selector("#derivation .katex-display", timeout=WAIT_MS)
    assert page.locator("#derivation .katex").count() > 10
    assert page.locator("#derivation .katex-error").count() == 0
    text = visible_text(page)
    for raw in (r"\frac", r"\partial", r"\begin", "$$"):
        assert raw not in text
    assert page.input_value("#spec").startswith("# ReLU, tanh")


def test_notation_options_and_the_diagram_change_the_derivation(page):
    page.select_option("#preset", "two-layer-sigmoid-squared")
    page.wait_for_selector("#derivation .katex-display", timeout=WAIT_MS)
    page.check("#diagram")
    expect(page.locator("#derivation")).to_contain_text("forward and backward", timeout=WAIT_MS)
    page.select_option("#notation select[data-option=layer_index]", "bracket")
    first_display = page.locator("#derivation .katex-display .katex-mathml").first
    expect(first_display).to_contain_text("[", timeout=WAIT_MS)
    assert page.locator("#derivation .katex-error").count() == 0
    assert r"\xrightarrow" not in visible_text(page)
    page.uncheck("#diagram")
    page.select_option("#notation select[data-option=layer_index]", "")


def test_a_wrong_formula_shows_the_verdict_diagnosis_and_right_formula(page):
    page.select_option("#preset", "two-layer-sigmoid-squared")
    page.fill("#formula", D % "W^1" + r" = A^0 \frac{\partial L}{\partial Z^1}")
    page.click("#check")
    page.wait_for_selector("#verdict-badge.incorrect", timeout=WAIT_MS)
    diagnosis = page.locator("#diagnosis")
    assert diagnosis.inner_text().startswith("missing transpose on")
    assert diagnosis.locator(".katex").count() == 1
    assert page.locator("#expected .katex-display").count() == 1
    assert page.locator("#verdict .katex-error").count() == 0
    assert r"\frac" not in visible_text(page)


def test_a_right_formula_is_correct(page):
    page.fill("#formula", D % "W^1" + r" = A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T")
    page.press("#formula", "Enter")
    page.wait_for_selector("#verdict-badge.correct", timeout=WAIT_MS)
    assert "both sides agree" in page.inner_text("#reason")


def test_a_formula_that_cannot_be_read_shows_the_caret(page):
    formula = D % "W^1" + r" = A^0 (\frac{\partial L}{\partial Z^1}"
    page.fill("#formula", formula)
    page.click("#check")
    page.wait_for_selector("#caret", timeout=WAIT_MS)
    lines = page.inner_text("#caret").split("\n")
    assert lines[0] == formula
    assert lines[1].index("^") == formula.index("(")
    assert page.evaluate("document.getElementById('formula').selectionStart") == formula.index("(")


def test_the_tex_download(page, tmp_path):
    with page.expect_download(timeout=WAIT_MS) as download:
        page.click("button.download[data-format=tex]")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "derivation.tex"
    text = saved.read_text()
    assert text.lstrip("% \n").startswith("6.390") or r"\documentclass" in text
    assert r"\frac{\partial \mathcal{L}}{\partial W^{1}}" in text


def test_the_page_loads_nothing_from_another_site(page):
    assert page.requests
    outside = [url for url in page.requests if not url.startswith(page.base_url)]
    assert outside == []
