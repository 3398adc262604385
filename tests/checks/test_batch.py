"""verify --batch: one record per non-blank physical line, in order, whatever a line holds."""

import io
import json
import subprocess
import sys
import time

import pytest
from conftest import ROOT

from matcalc.checks import verify as verify_module
from matcalc.checks.verify import verify_batch
from matcalc.cli import main
from matcalc.specs import context

GENERAL = r"\frac{\partial L}{\partial W^l} = A^{l-1}\left(\frac{\partial L}{\partial Z^l}\right)^T"
WRONG = r"\frac{\partial L}{\partial W^l} = A^{l-1}\frac{\partial L}{\partial Z^l}"
TANH = 'input = 3\nloss = "squared"\n[[layer]]\nsize = 2\nactivation = "tanh"\n'
SWISH = (
    'input = 3\nloss = "squared"\n[[layer]]\nsize = 2\n'
    'activation = { name = "swish", latex = "z \\\\sigma(z)" }\n'
)
SWISH_BY_NAME = 'input = 3\nloss = "squared"\n[[layer]]\nsize = 2\nactivation = "swish"\n'


def case(spec, equation, ident=None) -> bytes:
    record = {"spec": spec, "equation": equation}
    if ident is not None:
        record["id"] = ident
    return json.dumps(record).encode()


def crashing(monkeypatch):
    """verify raises a TypeError (an internal error, not a MatcalcError) on CRASH equations."""
    real = verify_module.verify

    def verify(network, equation):
        if "CRASH" in equation:
            raise TypeError("unsupported operand type(s) for +: 'int' and 'NoneType'")
        return real(network, equation)

    monkeypatch.setattr(verify_module, "verify", verify)


def run(path, jobs=1):
    out = io.StringIO()
    code = verify_batch(str(path), out, jobs)
    return code, [json.loads(line) for line in out.getvalue().splitlines()]


def mixed_lines(count: int) -> tuple[list[bytes], list[tuple[int, str, object]]]:
    """``count`` physical lines of every kind, and the (line, verdict, id) expected of each
    non-blank one."""
    kinds = [
        (case(TANH, GENERAL, "ok"), "correct", "ok"),
        (case(TANH, WRONG, 7), "incorrect", 7),
        (case(TANH, "CRASH", "boom"), "error", "boom"),
        (b'{"spec": "x", "equation": "\xff\xfe", "id": 3}', "error", None),
        (
            case(TANH, GENERAL + "\u2028", "sep").replace(b"\\u2028", "\u2028".encode()),
            "correct",
            "sep",
        ),
        (case(TANH, GENERAL, "nel\x85").replace(b"\\u0085", "\x85".encode()), "correct", "nel\x85"),
        (case(TANH, GENERAL, "ff") + b"\x0c", "error", None),
        (b"", None, None),
        (b"   \r", None, None),
        (b"not json", "error", None),
        (case(TANH, r"\frac{", "bad"), "error", "bad"),
    ]
    lines, expected = [], []
    for number in range(1, count + 1):
        raw, verdict, ident = kinds[(number - 1) % len(kinds)]
        lines.append(raw)
        if verdict is not None:
            expected.append((number, verdict, ident))
    return lines, expected


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_non_blank_line_gets_one_record_in_order(jobs, tmp_path, monkeypatch):
    crashing(monkeypatch)
    lines, expected = mixed_lines(200)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, records = run(path, jobs)
    assert code == 1
    assert [(r["line"], r["verdict"], r.get("id")) for r in records] == expected
    crash = next(r for r in records if r.get("id") == "boom")
    assert "TypeError" in crash["error"] and "\n" not in crash["error"]
    assert "not UTF-8: byte 0xff at column 28" in records[3]["error"]


def test_jobs_do_not_change_the_output(tmp_path, monkeypatch):
    crashing(monkeypatch)
    lines, _ = mixed_lines(60)
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(lines))
    assert run(path, 1) == run(path, 2)


def test_definitions_do_not_leak_from_one_line_to_the_next(tmp_path):
    path = tmp_path / "leak.jsonl"
    path.write_bytes(b"\n".join([case(SWISH, GENERAL), case(SWISH_BY_NAME, GENERAL)]))
    _, records = run(path)
    assert records[0]["verdict"] == "correct"
    assert records[1]["verdict"] == "error" and "swish" in records[1]["error"]


def test_one_spec_text_is_parsed_once_and_keeps_its_definitions(tmp_path, monkeypatch):
    calls = []
    real = context.spec_from_toml
    monkeypatch.setattr(context, "spec_from_toml", lambda text: calls.append(text) or real(text))
    path = tmp_path / "same.jsonl"
    path.write_bytes(b"\n".join([case(SWISH, GENERAL), case(TANH, GENERAL)] * 10))
    code, records = run(path)
    assert code == 0 and [r["verdict"] for r in records] == ["correct"] * 20
    assert calls == [SWISH, TANH]


def test_a_graph_spec_is_drawn_once_for_all_its_lines(tmp_path, monkeypatch):
    """A class's lines against one graph spec share its backprop and random values, and get
    the verdicts verify gives each alone."""
    from matcalc.checks import expression
    from matcalc.specs.context import spec_from_toml

    spec = (ROOT / "derivations" / "architectures" / "residual.toml").read_text()
    lines = [
        r"\frac{\partial L}{\partial W_2} = \frac{\partial L}{\partial Z_2} A_1^T",
        r"\frac{\partial L}{\partial W_2} = A_1 \frac{\partial L}{\partial Z_2}^T",
        r"\frac{\partial L}{\partial A_1} = W_2^T \frac{\partial L}{\partial Z_2}",
    ]
    alone = [verify_module.verify(spec_from_toml(spec), line).to_dict() for line in lines]
    made = []
    real = expression.GraphValues.__init__
    monkeypatch.setattr(
        expression.GraphValues, "__init__", lambda self, g: made.append(g) or real(self, g)
    )
    path = tmp_path / "graph.jsonl"
    path.write_text("\n".join(json.dumps({"spec": spec, "equation": e}) for e in lines) + "\n")
    _, records = run(path)
    assert len(made) == 1
    assert [{k: v for k, v in r.items() if k != "line"} for r in records] == alone


def test_a_bad_spec_is_an_error_for_each_of_its_lines(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join([case("[[layer]]\nsize = -1", GENERAL, i) for i in range(3)]))
    _, records = run(path)
    assert [(r["verdict"], r["id"]) for r in records] == [("error", 0), ("error", 1), ("error", 2)]


def test_a_byte_order_mark_and_crlf_are_read_past(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + case(TANH, GENERAL, 1) + b"\r\n" + case(TANH, GENERAL, 2))
    code, records = run(path)
    assert code == 0 and [(r["line"], r["id"], r["verdict"]) for r in records] == [
        (1, 1, "correct"),
        (2, 2, "correct"),
    ]


def test_an_overlong_line_is_its_own_error(tmp_path, monkeypatch):
    monkeypatch.setattr(verify_module, "MAX_LINE_BYTES", 1000)
    path = tmp_path / "long.jsonl"
    path.write_bytes(b"x" * 2500 + b"\n" + case(TANH, GENERAL))
    _, records = run(path)
    assert [(r["line"], r["verdict"]) for r in records] == [(1, "error"), (2, "correct")]
    assert "longer than 1,000 bytes" in records[0]["error"]


@pytest.mark.parametrize("jobs", ["0", "-3"])
def test_jobs_below_one_is_a_usage_error(jobs, tmp_path, capsys):
    path = tmp_path / "one.jsonl"
    path.write_bytes(case(TANH, GENERAL))
    assert main(["verify", "--batch", str(path), "--jobs", jobs]) == 2
    assert "--jobs" in capsys.readouterr().err


def test_jobs_without_batch_is_a_usage_error(capsys):
    assert main(["verify", "net.toml", "A = B", "--jobs", "2"]) == 2
    assert "--batch" in capsys.readouterr().err


def test_interrupt_exits_130_quietly(monkeypatch, capsys, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(verify_module, "verify_batch", interrupted)
    path = tmp_path / "one.jsonl"
    path.write_bytes(case(TANH, GENERAL))
    assert main(["verify", "--batch", str(path)]) == 130
    assert capsys.readouterr().err == ""


def test_sigint_leaves_an_exact_prefix_and_no_traceback(tmp_path):
    """A real Ctrl-C in the middle of a two-process batch: exit 130, each printed line whole."""
    import signal

    path = tmp_path / "slow.jsonl"
    path.write_bytes(b"\n".join(case(TANH, GENERAL, i) for i in range(400)))
    process = subprocess.Popen(
        [sys.executable, "-m", "matcalc", "verify", "--batch", str(path), "--jobs", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )
    first = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    started = time.monotonic()
    rest, err = process.stdout.read(), process.stderr.read()  # not communicate(): buffered
    process.wait(timeout=60)
    assert time.monotonic() - started < 30
    assert process.returncode == 130, err.decode()
    assert b"Traceback" not in err
    records = [json.loads(line) for line in (first + rest).splitlines()]
    assert [r["id"] for r in records] == list(range(len(records)))
