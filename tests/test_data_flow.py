"""The package's imports follow the data flow, and no merge left its markers in a file.

core <- reading <- specs <- engine <- printers <- checks <- classroom, cli: a module imports
only from its own layer or the layers before it.  Two kinds of import are not data flow and are
allowed anywhere: those only a type checker runs (``if TYPE_CHECKING:``), and those inside the
methods by which an object displays itself (``__str__``, ``__repr__``, ``_repr_latex_``, ...),
which print it with the printers.
"""

import ast
import subprocess

import pytest
from conftest import ROOT

LAYERS = {
    "errors": 0,
    "core": 1,
    "reading": 2,
    "specs": 3,
    "engine": 4,
    "printers": 5,
    "checks": 6,
    "classroom": 7,
    "cli": 8,
    "__main__": 8,
    "__init__": 8,
}
DISPLAY = {"__str__", "__repr__", "_repr_latex_", "_repr_markdown_", "_repr_html_"}
MODULES = sorted((ROOT / "matcalc").rglob("*.py"))


def layer(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "matcalc" or len(parts) < 2:
        return None
    return LAYERS.get(parts[1])


def imports(tree: ast.AST):
    """(module imported, line) for every import that runs, outside display methods."""
    pending = [(tree, False)]
    while pending:
        node, skipped = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend((child, skipped) for child in node.orelse)
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in DISPLAY:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, node.lineno
        elif isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        pending.extend((child, skipped) for child in ast.iter_child_nodes(node))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_import_runs_back_up_the_data_flow(path):
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    own = layer(module.removesuffix(".__init__")) if path.name != "__init__.py" else None
    if path.name == "__init__.py" and path.parent.name != "matcalc":
        own = layer(f"matcalc.{path.parent.name}")
    if own is None:
        own = LAYERS["__init__"]
    backwards = [
        f"line {line}: {name}"
        for name, line in imports(ast.parse(path.read_text(encoding="utf-8")))
        if (theirs := layer(name)) is not None and theirs > own
    ]
    assert not backwards, f"{module} imports from a later layer: {backwards}"


def test_the_layers_cover_every_folder():
    folders = {p.parent.name for p in MODULES if p.parent.name != "matcalc"}
    files = {p.stem for p in MODULES if p.parent.name == "matcalc"}
    assert folders | files <= set(LAYERS)


def test_a_display_method_is_the_only_way_back():
    """The rule is not vacuous: the printers are imported by the display methods of core."""
    source = (ROOT / "matcalc" / "core" / "expr.py").read_text(encoding="utf-8")
    assert "matcalc.printers" in source
    assert not [n for n, _ in imports(ast.parse(source)) if n.startswith("matcalc.printers")]


def test_no_merge_markers_in_tracked_files():
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not listed:
        pytest.skip("not a git checkout")
    marked = []
    for name in listed:
        path = ROOT / name
        if path.suffix in {".png", ".pdf", ".woff2", ".woff", ".ttf"} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in text.splitlines()):
            marked.append(name)
    assert not marked
