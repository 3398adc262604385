"""The playground's JSON API through Starlette's TestClient: records, errors, limits, safety."""

import json
import logging

import pytest
from classroom_data import RIDGE, RIGHT_W1, TWO_LAYER, WRONG_W1, playground_client
from conftest import require_tool

from matcalc.checks.verify import verify
from matcalc.classroom import server
from matcalc.classroom.cases import MAX_FORMULA
from matcalc.classroom.server import MAX_BODY
from matcalc.engine.derive import derive
from matcalc.printers.context import render_context
from matcalc.printers.latex import Notation
from matcalc.printers.render import render_derivation
from matcalc.specs.context import spec_from_toml


@pytest.fixture(scope="module")
def client():
    with playground_client() as test_client:
        yield test_client


# ------------------------------------------------------------------------------ /verify


@pytest.mark.parametrize(
    ("spec", "equation"),
    [
        (TWO_LAYER, RIGHT_W1),
        (TWO_LAYER, WRONG_W1),
        (RIDGE, r"\nabla_\theta J = \frac{2}{n} X^T (X\theta + \theta_0 - Y) + 2 \lambda \theta"),
        (RIDGE, r"\nabla_\theta J = \frac{2}{n} X^T (X\theta + \theta_0 - Y)"),
    ],
    ids=["network-right", "network-wrong", "context-right", "context-wrong"],
)
def test_verify_answers_the_record_of_verify_json(client, spec, equation):
    subject = spec_from_toml(spec)
    expected = verify(subject, equation).to_dict()
    answer = client.post("/verify", json={"spec": spec, "equation": equation})
    assert answer.status_code == 200
    assert answer.json() == expected


def test_an_incorrect_formula_is_200_with_its_diagnosis_and_the_right_formula(client):
    record = client.post("/verify", json={"spec": TWO_LAYER, "equation": WRONG_W1}).json()
    assert record["verdict"] == "incorrect"
    assert record["diagnosis"] == r"missing transpose on \frac{\partial L}{\partial Z^1}"
    assert record["expected"] == r"A^{0}\,\left(\frac{\partial L}{\partial Z^{1}}\right)^{T}"


def test_the_id_of_a_case_comes_back_first(client):
    answer = client.post("/verify", json={"id": "q7", "spec": TWO_LAYER, "equation": RIGHT_W1})
    assert list(answer.json())[:2] == ["id", "verdict"]
    assert answer.json()["id"] == "q7"


def test_the_page_asks_for_the_sentences_in_markdown(client):
    plain = client.post("/verify", json={"spec": TWO_LAYER, "equation": WRONG_W1}).json()
    record = client.post(
        "/verify?markdown=1", json={"spec": TWO_LAYER, "equation": WRONG_W1}
    ).json()
    assert record["diagnosis_markdown"] == r"missing transpose on $\frac{\partial L}{\partial Z^1}$"
    assert record["reason_markdown"].replace("$", "") == record["reason"]
    assert {k: v for k, v in record.items() if not k.endswith("_markdown")} == plain


def test_a_formula_that_cannot_be_read_is_400_with_the_caret_position(client):
    equation = r"\frac{\partial L}{\partial W^1} = A^0 (\frac{\partial L}{\partial Z^1}"
    answer = client.post("/verify", json={"spec": TWO_LAYER, "equation": equation})
    assert answer.status_code == 400
    record = answer.json()
    assert record["position"] == equation.index("(")
    assert record["in_equation"] is True
    assert record["reason"] == "unbalanced: '(' is never closed"
    assert record["error"].splitlines()[-1].index("^") - 2 == record["position"]


BAD_CASES = [
    (b"{", "not JSON"),
    (b"[1, 2]", "a JSON object"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[" * 100_000, "nested too deeply"),
    (json.dumps({"equation": RIGHT_W1}).encode(), '"spec" is missing'),
    (json.dumps({"spec": 3, "equation": RIGHT_W1}).encode(), '"spec" is a int, not a string'),
    (json.dumps({"spec": TWO_LAYER}).encode(), '"equation" is missing'),
    (json.dumps({"spec": TWO_LAYER, "equation": ["x"]}).encode(), "not a string"),
    (json.dumps({"spec": TWO_LAYER, "equation": "x" * (MAX_FORMULA + 1)}).encode(), "at most"),
    (json.dumps({"spec": TWO_LAYER, "equation": "A^0"}).encode(), "an equation is expected"),
    (json.dumps({"spec": "input = 2", "equation": RIGHT_W1}).encode(), "layer"),
]


@pytest.mark.parametrize(("body", "message"), BAD_CASES)
def test_bad_input_is_a_400_with_a_one_line_json_error(client, body, message):
    answer = client.post("/verify", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert message in answer.json()["error"]
    assert "Traceback" not in answer.text


@pytest.mark.parametrize(
    "spec", ["/etc/passwd", "derivations/two-layer-sigmoid-squared.toml", "tests/conftest.py"]
)
def test_a_spec_is_toml_text_never_a_path(client, spec):
    answer = client.post("/verify", json={"spec": spec, "equation": RIGHT_W1})
    assert answer.status_code == 400
    assert "not valid TOML" in answer.json()["error"]
    assert "root:" not in answer.text


def test_a_spec_naming_an_existing_file_is_not_read(client, tmp_path):
    secret = tmp_path / "net.toml"
    secret.write_text(TWO_LAYER)
    answer = client.post("/derive", json={"spec": str(secret), "format": "latex"})
    assert answer.status_code == 400
    assert "sigmoid" not in answer.text


def test_a_body_over_the_limit_is_413(client):
    body = json.dumps({"spec": TWO_LAYER + "#" * MAX_BODY, "equation": RIGHT_W1})
    answer = client.post("/verify", content=body)
    assert answer.status_code == 413
    assert str(MAX_BODY) in answer.json()["error"]


def test_a_streamed_body_over_the_limit_is_413_without_a_length(client):
    def chunks():
        for _ in range(MAX_BODY // 1000 + 2):
            yield b" " * 1000

    answer = client.post("/verify", content=chunks())
    assert answer.status_code == 413


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("get", "/nothing", 404), ("get", "/verify", 405), ("get", "/static/../cli.py", 404)],
)
def test_other_paths_answer_json(client, method, path, status):
    answer = getattr(client, method)(path)
    assert answer.status_code == status
    assert "error" in answer.json()


def test_a_request_from_another_site_is_refused(client):
    answer = client.post(
        "/verify",
        json={"spec": TWO_LAYER, "equation": RIGHT_W1},
        headers={"origin": "http://evil.example"},
    )
    assert answer.status_code == 403
    assert (
        client.post(
            "/verify",
            json={"spec": TWO_LAYER, "equation": RIGHT_W1},
            headers={"origin": "http://testserver"},
        ).status_code
        == 200
    )


def test_another_host_header_is_refused(client):
    assert client.get("/", headers={"host": "attacker.example"}).status_code == 400


# ------------------------------------------------------------------------------ /derive


@pytest.mark.parametrize("fmt", ["latex", "tex", "markdown", "json", "numpy"])
def test_derive_answers_what_render_derivation_prints(client, fmt):
    expected = render_derivation(derive(spec_from_toml(TWO_LAYER)), fmt)
    answer = client.post("/derive", json={"spec": TWO_LAYER, "format": fmt})
    assert answer.status_code == 200
    assert answer.json() == {"output": expected}


def test_derive_of_one_parameter_in_another_notation(client):
    network = spec_from_toml(TWO_LAYER)
    notation = Notation.of(network.declaration).with_(layer_style="bracket", transpose=r"\top")
    expected = render_derivation(derive(network), "latex", "W^2", notation)
    answer = client.post(
        "/derive",
        json={
            "spec": TWO_LAYER,
            "format": "latex",
            "wrt": "W^2",
            "notation": {"layer_index": "bracket", "transpose": "top"},
        },
    )
    assert answer.json()["output"] == expected
    assert "W^{[2]}" in expected


def test_derive_of_an_expression_context(client):
    answer = client.post("/derive", json={"spec": RIDGE, "format": "markdown", "wrt": "theta"})
    assert answer.json()["output"] == render_context(
        spec_from_toml(RIDGE), "markdown", None, "theta"
    )


@pytest.mark.parametrize(
    ("request_json", "message"),
    [
        ({"spec": TWO_LAYER, "format": "pdf"}, '"format"'),
        ({"spec": TWO_LAYER, "format": "html"}, '"format"'),
        ({"spec": RIDGE, "format": "numpy"}, "an expression context prints as"),
        ({"spec": TWO_LAYER, "wrt": "W^9"}, "W^9"),
        ({"spec": TWO_LAYER, "notation": {"layer_index": "curly"}}, "layer_index"),
        ({"spec": TWO_LAYER, "notation": {"colour": "red"}}, "unknown notation option"),
        ({"spec": TWO_LAYER, "notation": ["bracket"]}, '"notation"'),
        ({"spec": TWO_LAYER, "steps": "yes"}, '"steps"'),
        ({"spec": TWO_LAYER, "of": "J"}, '"of"'),
    ],
)
def test_bad_derive_requests_are_400(client, request_json, message):
    answer = client.post("/derive", json=request_json)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


# ------------------------------------------------------------------------------ downloads


@pytest.mark.parametrize(("fmt", "suffix"), [("tex", "tex"), ("numpy", "py"), ("markdown", "md")])
def test_download_is_the_derivation_as_a_file(client, fmt, suffix):
    expected = render_derivation(derive(spec_from_toml(TWO_LAYER)), fmt)
    answer = client.post("/download", json={"spec": TWO_LAYER, "format": fmt})
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == f'attachment; filename="derivation.{suffix}"'
    assert answer.text == expected


def test_no_pdf_is_compiled_without_allow_pdf(client):
    answer = client.post("/download", json={"spec": TWO_LAYER, "format": "pdf"})
    assert answer.status_code == 400
    assert "--allow-pdf" in answer.json()["error"]
    assert client.get("/presets").json()["pdf"] is False


def test_a_pdf_with_allow_pdf():
    require_tool("pdflatex")
    with playground_client(allow_pdf=True) as pdf_client:
        assert pdf_client.get("/presets").json()["pdf"] is True
        answer = pdf_client.post("/download", json={"spec": TWO_LAYER, "format": "pdf"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")


# ------------------------------------------------------------------------------ the page


def test_the_page_and_its_bundled_katex(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "/static/katex/katex.min.js" in page.text
    assert "http" not in page.text.replace('lang="en"', "")  # nothing from another site
    assert "default-src 'self'" in page.headers["content-security-policy"]
    css = client.get("/static/katex/katex.min.css").text
    fonts = {part.split(")")[0] for part in css.split("url(")[1:] if ".woff2" in part}
    assert fonts
    for font in sorted(fonts):
        assert client.get(f"/static/katex/{font}").status_code == 200, font
    assert client.get("/static/app.js").status_code == 200


def test_presets_are_specs_that_derive_and_formulas_that_are_right(client):
    presets = client.get("/presets").json()["presets"]
    assert len(presets) >= 6
    for preset in presets:
        spec_from_toml(preset["spec"])
        record = client.post(
            "/verify", json={"spec": preset["spec"], "equation": preset["formula"]}
        )
        assert record.json()["verdict"] == "correct", preset["name"]
        derived = client.post("/derive", json={"spec": preset["spec"], "format": "latex"})
        assert derived.status_code == 200 and "\\begin{align" in derived.json()["output"]


def test_a_graph_spec_derives_in_every_format_through_the_api(client):
    spec = next(p for p in client.get("/presets").json()["presets"] if p["name"] == "residual")
    for fmt in ("latex", "tex", "markdown", "json", "numpy"):
        answer = client.post("/derive", json={"spec": spec["spec"], "format": fmt})
        assert answer.status_code == 200, fmt
    wrong = r"\frac{\partial L}{\partial A_1} = W_2^T \frac{\partial L}{\partial Z_2}"
    record = client.post("/verify", json={"spec": spec["spec"], "equation": wrong}).json()
    assert record["verdict"] == "incorrect" and "W_{2}^{T}" in record["expected"]


# ------------------------------------------------------------------------------ failures


def test_an_internal_error_is_a_generic_500_logged_on_the_server(client, monkeypatch, caplog):
    async def broken(self, job, payload):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(server.Workers, "run", broken)
    with caplog.at_level(logging.ERROR, logger="matcalc.serve"):
        answer = client.post("/verify", json={"spec": TWO_LAYER, "equation": RIGHT_W1})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (logged by the server)"}
    assert "secret" not in answer.text
    assert "secret detail of the failure" in caplog.text


def test_a_crash_in_a_worker_is_reported_as_data():
    kind, value = server._in_worker("no such job", {})
    assert kind == "crash"
    assert "ValueError" in value


def test_a_request_past_the_time_limit_is_503_and_the_workers_restart():
    with playground_client(time_limit=0.001) as slow_client:
        answer = slow_client.post("/verify", json={"spec": TWO_LAYER, "equation": RIGHT_W1})
        assert answer.status_code == 503
        assert "longer than 0.001 s" in answer.json()["error"]
        slow_client.app.state.workers.time_limit = 60
        again = slow_client.post("/verify", json={"spec": TWO_LAYER, "equation": RIGHT_W1})
        assert again.status_code == 200


def test_allowed_hosts_are_the_bound_address_and_loopback_names():
    assert server.allowed_hosts("0.0.0.0") == ("*",)
    assert server.allowed_hosts("192.0.2.5") == ("192.0.2.5", "127.0.0.1", "localhost", "::1")
    assert server.allowed_hosts("127.0.0.1")[0] == "127.0.0.1"


# ------------------------------------------------------------------------------ the command


def test_the_serve_command_passes_its_options(monkeypatch):
    from matcalc.cli import main

    calls = []
    monkeypatch.setattr(server, "serve", lambda *args, **kwargs: calls.append((args, kwargs)))
    assert main(["serve", "--port", "8123", "--no-browser"]) == 0
    assert main(["serve", "--host", "::1", "--allow-pdf"]) == 0
    assert calls == [
        (("127.0.0.1", 8123), {"browser": False, "allow_pdf": False}),
        (("::1", 8000), {"browser": True, "allow_pdf": True}),
    ]


def test_the_serve_command_refuses_a_port_out_of_range(capsys):
    from matcalc.cli import main

    assert main(["serve", "--port", "70000"]) == 2
    assert "--port 70000" in capsys.readouterr().err


def test_the_command_line_does_not_import_the_web_stack():
    import subprocess
    import sys

    code = "import sys, matcalc.cli; print(sorted({'starlette', 'uvicorn'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
