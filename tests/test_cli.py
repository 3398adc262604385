import json

from matcalc.cli import main


def test_derive_builtin_example_prints_every_gradient(capsys):
    assert main(["derive"]) == 0
    out = capsys.readouterr().out
    for l in (1, 2, 3):
        assert f"\\partial W^{{{l}}}" in out and f"\\partial W_{{0}}^{{{l}}}" in out


def test_derive_json_one_parameter(capsys):
    assert main(["derive", "--format", "json", "--wrt", "W^2"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [g["name"] for g in record["gradients"]] == ["W^2"]


def test_missing_spec_file_is_exit_2_with_one_line(capsys, tmp_path):
    assert main(["derive", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err
