"""The rule catalog: matcalc rules in every format, and docs/rules.md generated from it."""

import json

import pytest
from conftest import ROOT, compile_tex

from matcalc.cli import main
from matcalc.engine.rules import RULES, Kind
from matcalc.printers.catalog import CATALOG_FORMATS, render_catalog

DOCS = ROOT / "docs" / "rules.md"


def test_json_lists_every_rule_with_name_latex_source_and_kind(capsys):
    assert main(["rules", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["kind"]) for r in records] == [(r.name, r.kind.value) for r in RULES]
    for record in records:
        assert record["latex"] and record["source"] and record["shapes"]


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("trace", "eq. 99"),
        ("trace of a product", "eq. 100"),
        ("determinant", "eq. 49"),
        ("log-determinant", "eq. 57"),
        ("bilinear form", "eq. 70"),
        ("bilinear form of a transpose", "eq. 71"),
        ("quadratic form", "eq. 81"),
        ("bilinear form of an inverse", "eq. 61"),
        ("inverse of a transpose", "eq. 3"),
    ],
)
def test_cookbook_rules_cite_their_equation(name, source):
    records = json.loads(render_catalog("json"))
    (record,) = [r for r in records if r["name"] == name]
    assert "Matrix Cookbook" in record["source"] and source in record["source"]


def test_kind_filter_and_text_format(capsys):
    assert main(["rules", "--kind", "identity"]) == 0
    out = capsys.readouterr().out
    assert "quadratic form" in out and "(B + B^T)" in out and "source: Matrix Cookbook" in out
    assert "softmax" not in out
    identities = json.loads(render_catalog("json", "identity"))
    assert {r["kind"] for r in identities} == {Kind.IDENTITY.value}


def test_unknown_kind_is_exit_2_with_one_line(capsys):
    assert main(["rules", "--kind", "lemma"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--kind lemma" in err


def test_shapes_come_from_the_checked_example():
    (record,) = [r for r in json.loads(render_catalog("json")) if r["name"] == "trace of a product"]
    assert record["shapes"] == r"A: p \times n,\ X: n \times p"


def test_docs_catalog_is_current():
    assert DOCS.read_text(encoding="utf-8") == render_catalog("markdown"), (
        "docs/rules.md is stale: python3 -m matcalc rules --format markdown -o docs/rules.md"
    )


def test_every_format_renders():
    for fmt in CATALOG_FORMATS:
        assert "quadratic form" in render_catalog(fmt)


def test_latex_catalog_compiles(tmp_path):
    compile_tex(render_catalog("latex"), tmp_path)


def test_docs_catalog_renders_in_katex():
    from conftest import assert_renders

    assert_renders(render_catalog("markdown"))
