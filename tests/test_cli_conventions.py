"""Command-line conventions: --version, options anywhere, '-' for stdin and stdout,
did-you-mean for misspelt names, and a --help that loads neither SymPy nor NumPy."""

import io
import json
import os
import subprocess
import sys
import tomllib

import pytest
from conftest import ROOT, run_probe

import matcalc
from matcalc.cli import main

NET = """input = 4
loss = "squared"

[[layer]]
size = 3
activation = "tanh"

[[layer]]
size = 2
activation = "identity"
"""
RIGHT = r"\frac{\partial L}{\partial W^1} = A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T"
WRONG = r"\frac{\partial L}{\partial W^1} = \frac{\partial L}{\partial Z^1} (A^0)^T"


@pytest.fixture
def net(tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(NET, encoding="utf-8")
    return path


def run(*args, stdin=None, cwd=None):
    """`python -m matcalc ARGS` in a fresh interpreter, as a shell runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "matcalc", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


# ------------------------------------------------------------------ version


def test_version_is_the_packages_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"matcalc {matcalc.__version__}\n"


def test_python_dash_m_matcalc_is_the_command(tmp_path):
    done = run("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"matcalc {matcalc.__version__}"
    done = run("derive", "--wrt", "W^2", cwd=tmp_path)
    assert done.returncode == 0 and r"\partial W^{2}" in done.stdout


# ------------------------------------------------------------------ options anywhere

VERIFY_ORDERS = [
    ["verify", "{net}", "--json", RIGHT],
    ["verify", "--json", "{net}", RIGHT],
    ["verify", "{net}", RIGHT, "--json"],
]


@pytest.mark.parametrize("order", VERIFY_ORDERS, ids=["middle", "first", "last"])
def test_verify_options_stand_anywhere(order, net, capsys):
    assert main([str(net) if arg == "{net}" else arg for arg in order]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] == "correct"


def test_derive_options_stand_anywhere(net, capsys):
    assert main(["derive", "--format", "json", str(net), "--wrt", "W^2"]) == 0
    first = capsys.readouterr().out
    assert main(["derive", "--wrt", "W^2", str(net), "--format", "json"]) == 0
    assert capsys.readouterr().out == first
    assert [g["name"] for g in json.loads(first)["gradients"]] == ["W^2"]


def test_a_third_positional_is_still_an_error(net, capsys):
    assert main(["verify", str(net), RIGHT, "extra"]) == 2
    assert "unrecognized arguments: extra" in capsys.readouterr().err


# ------------------------------------------------------------------ '-' is stdin and stdout


def test_derive_reads_the_spec_from_stdin(net, monkeypatch, capsys):
    assert main(["derive", str(net), "--format", "json"]) == 0
    from_file = capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.StringIO(NET))
    assert main(["derive", "-", "--format", "json"]) == 0
    assert capsys.readouterr().out == from_file


@pytest.mark.parametrize(
    ("equation", "code", "verdict"), [(RIGHT, 0, "correct"), (WRONG, 1, "incorrect")]
)
def test_verify_reads_the_spec_from_stdin(equation, code, verdict):
    done = run("verify", "-", equation, "--json", stdin=NET)
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout)["verdict"] == verdict


def test_a_bad_spec_on_stdin_is_one_line_naming_stdin():
    done = run("derive", "-", stdin="input = = 4\n")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "stdin" in done.stderr and "TOML" in done.stderr


def test_verify_batch_reads_stdin_with_paths_from_the_cwd(net):
    lines = [
        json.dumps({"id": "a", "spec": net.name, "equation": RIGHT}),
        json.dumps({"id": "b", "spec": NET, "equation": WRONG}),
    ]
    done = run("verify", "--batch", "-", stdin="\n".join(lines) + "\n", cwd=net.parent)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["id"], r["verdict"]) for r in records] == [("a", "correct"), ("b", "incorrect")]
    assert done.returncode == 1


@pytest.mark.parametrize("command", [["derive"], ["rules", "--format", "json"]])
def test_output_dash_is_stdout_not_a_file(command, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(command) == 0
    plain = capsys.readouterr().out
    assert main([*command, "-o", "-"]) == 0
    assert capsys.readouterr().out == plain
    assert not (tmp_path / "-").exists()


def test_pdf_to_stdout_is_the_pdf_bytes(tmp_path):
    from conftest import require_tool

    require_tool("pdflatex")
    done = subprocess.run(
        [sys.executable, "-m", "matcalc", "derive", "--format", "pdf", "-o", "-"],
        capture_output=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(b"%PDF-") and done.stdout.rstrip().endswith(b"%%EOF")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ did you mean

MISSPELT = [
    ('activation = "tanh"', 'activation = "tahn"', "did you mean 'tanh'?"),
    ('activation = "tanh"', 'activation = "Sigmoid"', "did you mean 'sigmoid'?"),
    ('activation = "identity"', 'activation = "identiy"', "did you mean 'identity'?"),
    ('loss = "squared"', 'loss = "sqaured"', "did you mean 'squared'?"),
    ('loss = "squared"', 'loss = "nlm"', "did you mean 'nllm'?"),
]


@pytest.mark.parametrize(("right", "wrong", "hint"), MISSPELT)
def test_a_misspelt_name_gets_a_suggestion(right, wrong, hint, tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text(NET.replace(right, wrong, 1), encoding="utf-8")
    assert main(["derive", str(spec)]) == 2
    err = capsys.readouterr().err
    assert hint in err and err.count("\n") == 1


def test_a_name_far_from_any_gets_no_suggestion(tmp_path, capsys):
    spec = tmp_path / "net.toml"
    spec.write_text(NET.replace('"tanh"', '"zzqx"'), encoding="utf-8")
    assert main(["derive", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "zzqx" in err and "did you mean" not in err


# ------------------------------------------------------------------ imports


LIGHT = ["--help"], ["--version"], ["bogus"]


@pytest.mark.parametrize("argv", LIGHT, ids=" ".join)
def test_top_level_help_loads_neither_sympy_nor_numpy(argv):
    probe = (
        "import sys\n"
        "from matcalc.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('sympy', 'numpy', 'lark') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = run_probe(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == ""


def test_the_rules_subcommand_does_not_load_the_verifier():
    probe = (
        "import sys\n"
        "from matcalc.cli import main\n"
        "main(['rules', '--format', 'json', '-o', '-'])\n"
        "print('matcalc.checks.verify' in sys.modules, file=sys.stderr)\n"
    )
    done = run_probe(probe)
    assert done.returncode == 0 and done.stderr.splitlines()[-1] == "False"


@pytest.mark.parametrize("argv", [["derive"], ["derive", "--format", "json"]], ids=" ".join)
def test_the_built_in_example_loads_neither_the_latex_reader_nor_numpy(argv):
    probe = (
        "import contextlib, io, sys\n"
        "from matcalc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({argv!r})\n"
        "loaded = [m for m in ('lark', 'matcalc.reading.parse', 'numpy') if m in sys.modules]\n"
        "print(code, ','.join(loaded))\n"
    )
    done = run_probe(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 "


@pytest.mark.parametrize(("argv", "code"), [(["derive"], 0), (["derive", "nothing.toml"], 2)])
def test_the_command_exits_with_main_s_code_and_a_frozen_heap(argv, code):
    """The shutdown skips walking the heap (``gc.freeze``); atexit handlers still run."""
    probe = (
        "import atexit, contextlib, gc, io, sys\n"
        "from matcalc.cli import command\n"
        "atexit.register(lambda: print(gc.get_freeze_count() > 0, file=sys.stderr))\n"
        f"sys.argv = ['matcalc', *{argv!r}]\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    command()\n"
    )
    done = run_probe(probe)
    assert done.returncode == code
    assert done.stderr.splitlines()[-1] == "True"


def test_the_installed_command_and_python_m_are_the_same_entry_point():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"matcalc": "matcalc.cli:command"}
    assert "command()" in (ROOT / "matcalc" / "__main__.py").read_text()


@pytest.mark.parametrize(
    ("spec", "refused"),
    [
        ('convention = "6.390"\ninput = 2\nbatch = 3\n[[layer]]\nsize = 2\n', True),
        ('convention = "6.390"\ninput = 2\n[[layer]]\nsize = 2\n', False),
    ],
    ids=["batch", "one example"],
)
def test_the_loss_named_like_the_cost_its_gradients_use_is_refused(spec, refused, tmp_path):
    path = tmp_path / "net.toml"
    path.write_text(spec)
    done = run("derive", str(path), "--loss-name", "J")
    if refused:
        assert done.returncode == 2 and done.stdout == ""
        assert "--loss-name J: J is this network's cost" in done.stderr
    else:
        assert done.returncode == 0 and r"\frac{\partial J}{\partial W^{1}}" in done.stdout
