"""verify for a recurrence over T steps: lines with t, t+1 and T, checked unrolled."""

from pathlib import Path

import pytest

from matcalc.checks.verify import VerifyError
from matcalc.checks.verify_recurrence import verify_recurrence
from matcalc.cli import main
from matcalc.specs.context import spec_from_file

RNN_T = Path(__file__).resolve().parents[2] / "derivations" / "architectures" / "rnn-T.toml"
STEP = r"(1 - H_{t+1} \odot H_{t+1}) \odot \frac{\partial L}{\partial H_{t+1}}"
LOCAL = r"(1 - H_t \odot H_t) \odot \frac{\partial L}{\partial H_t}"

CASES = [
    (rf"\frac{{\partial L}}{{\partial H_t}} = W^T ({STEP}) + 2 V^T (V H_t - y_t)", True),
    (rf"\frac{{\partial L}}{{\partial H_t}} = W^T ({STEP})", False),  # the loss at t left out
    (rf"\frac{{\partial L}}{{\partial H_t}} = W ({STEP}) + 2 V^T (V H_t - y_t)", False),
    (r"\frac{\partial L}{\partial H_T} = 2 V^T (V H_T - y_T)", True),
    (r"\frac{\partial L}{\partial H_T} = V^T (V H_T - y_T)", False),
    (rf"\frac{{\partial L}}{{\partial W}} = \sum_{{t=1}}^{{T}} ({LOCAL}) H_{{t-1}}^T", True),
    (rf"\frac{{\partial L}}{{\partial W}} = \sum_{{t=1}}^{{T}} ({LOCAL}) H_t^T", False),
    (rf"\frac{{\partial L}}{{\partial U}} = \sum_{{t=1}}^{{T}} ({LOCAL}) x_t^T", True),
    (r"\frac{\partial L}{\partial V} = \sum_{t=1}^{T} 2 (V H_t - y_t) H_t^T", True),
]


@pytest.mark.parametrize(("equation", "correct"), CASES)
def test_lines_with_t_are_checked_at_every_step(equation, correct):
    verdict = verify_recurrence(spec_from_file(RNN_T), equation)
    assert verdict.correct is correct, verdict.reason
    assert verdict.equation == equation


def test_a_wrong_line_names_the_step_it_fails_at():
    verdict = verify_recurrence(spec_from_file(RNN_T), CASES[1][0])
    assert verdict.reason.startswith("at T = 2, t = 1:")


def test_a_sum_in_a_line_at_a_step_is_an_error():
    with pytest.raises(VerifyError, match="no sum over t"):
        verify_recurrence(
            spec_from_file(RNN_T), r"\frac{\partial L}{\partial H_t} = \sum_{t=1}^{T} H_t"
        )


def test_the_cli_exit_codes(capsys):
    assert main(["verify", str(RNN_T), CASES[0][0]]) == 0
    assert main(["verify", str(RNN_T), CASES[1][0]]) == 1
    assert main(["verify", str(RNN_T), "H_t"]) == 2
    capsys.readouterr()


def test_a_batch_case_against_a_recurrence(tmp_path):
    import io
    import json

    from matcalc.checks.verify import verify_batch

    cases = tmp_path / "cases.jsonl"
    lines = [{"spec": str(RNN_T), "equation": e, "id": i} for i, (e, _) in enumerate(CASES[:2])]
    cases.write_text("\n".join(json.dumps(c) for c in lines) + "\n", encoding="utf-8")
    out = io.StringIO()
    assert verify_batch(str(cases), out) == 1
    verdicts = [json.loads(line)["verdict"] for line in out.getvalue().splitlines()]
    assert verdicts == ["correct", "incorrect"]
