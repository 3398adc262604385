"""A battery of Matrix Cookbook and matrixcalculus.org problems: each derived in its textbook
form (compared as printed), checked against central differences, and read back by verify."""

import json
from pathlib import Path

import numpy as np
import pytest

from matcalc.cli import main
from matcalc.core.numeric import central_difference, evaluate
from matcalc.engine import context as derive_in
from matcalc.printers.latex import to_latex
from matcalc.specs.context import Context, concrete, name_key, random_environment

PROBLEMS = json.loads(
    (Path(__file__).parent.parent / "data" / "cookbook_problems.json").read_text("utf-8")
)["problems"]


def _context(problem) -> Context:
    return Context.from_dict(
        {"shapes": problem["shapes"], "assume": problem["assume"], "define": {"f": problem["f"]}}
    )


def _sizes(context: Context, problem) -> dict:
    return {d: problem["sizes"][d.name] for d in context.dimensions()}


def test_the_battery_is_large_and_sourced():
    assert len(PROBLEMS) >= 60
    assert len({p["name"] for p in PROBLEMS}) == len(PROBLEMS)
    assert all(p["source"].strip() and p["expected"].strip() for p in PROBLEMS)


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p["name"] for p in PROBLEMS])
def test_derived_in_textbook_form_and_against_differences(problem, rng):
    context = _context(problem)
    gradient = derive_in.gradient(context, "f", problem["wrt"])
    assert to_latex(gradient) == problem["expected"]
    sizes = _sizes(context, problem)
    variable = context.symbols[name_key(problem["wrt"])]
    function = concrete(context.expand(context.lookup("f")), sizes)
    derived = concrete(gradient, sizes)
    for _ in range(2):
        env = random_environment((function, derived), rng, assumptions=context.assumed())
        env = {k: v if k in context.assumed() else 0.5 * v for k, v in env.items()}
        symmetric = context.assumptions.get(name_key(problem["wrt"]))

        def value_at(point, env=env, symmetric=symmetric):
            if symmetric in ("symmetric", "positive definite"):
                point = (point + point.T) / 2
            return float(evaluate(function, {**env, variable: point})[0, 0])

        expected = central_difference(value_at, env[variable])
        np.testing.assert_allclose(evaluate(derived, env), expected, rtol=1e-5, atol=1e-7)


def _spec_text(problem) -> str:
    lines = ["[shapes]"]
    lines += [f'{k} = "{v}"' for k, v in problem["shapes"].items()]
    if problem["assume"]:
        lines += ["[assume]", *(f'{k} = "{v}"' for k, v in problem["assume"].items())]
    lines += ["[define]", "f = '" + problem["f"] + "'"]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p["name"] for p in PROBLEMS])
def test_the_printed_result_reads_back_through_verify(problem, tmp_path, capsys):
    if not problem.get("reads_back", True):
        pytest.skip(problem["why_not"])
    path = tmp_path / "problem.toml"
    path.write_text(_spec_text(problem), encoding="utf-8")
    wrt = problem["wrt"]
    written = f"\\{wrt}" if wrt in ("lambda", "mu", "Sigma") else wrt
    equation = f"\\frac{{\\partial f}}{{\\partial {written}}} = {problem['expected']}"
    code = main(["verify", str(path), equation])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err


def test_a_wrong_textbook_result_is_rejected(tmp_path, capsys):
    problem = next(p for p in PROBLEMS if p["name"] == "quadratic form")
    path = tmp_path / "problem.toml"
    path.write_text(_spec_text(problem), encoding="utf-8")
    assert main(["verify", str(path), r"\frac{\partial f}{\partial x} = 2\,B\,x"]) == 1
    assert "holds only when the square" in capsys.readouterr().out
