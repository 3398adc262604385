"""The package as people get it: its name and license, its version, the sdist (whose own tests
run) and the wheel installed outside the checkout."""

import os
import subprocess
import sys
import tarfile
import tomllib
import venv

import pytest
from conftest import ROOT, missing

import matcalc

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def test_the_distribution_name_is_not_the_unrelated_matcalc_on_pypi():
    # `matcalc` on PyPI is a materials-science package; the import package keeps that name.
    assert PROJECT["name"] == matcalc.DISTRIBUTION == "matcalc-nn"
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["matcalc*"]


def test_the_license_file_is_the_declared_license():
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n") and 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_the_citation_names_this_version_and_license():
    text = (ROOT / "CITATION.cff").read_text(encoding="utf-8")
    fields = dict(
        line.split(": ", 1) for line in text.splitlines() if ": " in line and line[0] != " "
    )
    assert fields["cff-version"] == "1.2.0"
    assert fields["version"].strip('"') == PROJECT["version"]
    assert fields["license"] == PROJECT["license"]


def test_version_is_the_declared_one():
    assert matcalc.__version__ == PROJECT["version"]
    assert "__version__" in dir(matcalc)


# ------------------------------------------------------------------ sdist and wheel

SDIST_MUST_HOLD = [
    "LICENSE",
    "README.md",
    "CITATION.cff",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/test_cli.py",
    "tests/data/public_cases.json",
    "tests/data/context_cases.json",
    "tests/golden/logistic-default.tex",
    "tests/js/package.json",
    "tests/js/render_math.js",
    "docs/rules.md",
    "derivations/logistic-regression.toml",
    "mkdocs.yml",
    "mkdocs_hooks.py",
    "docs/notebook.ipynb",
    "matcalc/cli.py",
]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """`python -m build` (the sdist, then the wheel built from it) into a temp directory."""
    try:
        import build  # noqa: F401
    except ImportError:
        missing("build is not installed (pip install -e '.[test]')")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out, done.stdout + done.stderr


def test_build_gives_no_deprecation_warning(dist):
    _, log = dist
    assert "Deprecat" not in log and "deprecat" not in log


def sdist_names(out) -> set[str]:
    (sdist,) = out.glob("matcalc_nn-*.tar.gz")
    with tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        return {name.removeprefix(top + "/") for name in archive.getnames()}


def test_the_sdist_holds_what_its_tests_read(dist):
    names = sdist_names(dist[0])
    assert set(SDIST_MUST_HOLD) <= names, set(SDIST_MUST_HOLD) - names
    tracked = subprocess.run(
        ["git", "ls-files", "tests", "docs", "derivations"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if tracked.returncode == 0:
        assert set(tracked.stdout.split()) <= names
    assert not any("node_modules" in name or "__pycache__" in name for name in names)


def test_the_sdists_own_tests_run(dist, tmp_path):
    (sdist,) = dist[0].glob("matcalc_nn-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = tmp_path.iterdir()
    katex = ROOT / "tests" / "js" / "node_modules"
    if katex.is_dir():  # npm's packages are not in the sdist: `npm install` there makes them
        (tree / "tests" / "js" / "node_modules").symlink_to(katex, target_is_directory=True)
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    collected = subprocess.run(
        [*command, "--collect-only"], capture_output=True, text=True, cwd=tree, env=env, timeout=300
    )
    assert collected.returncode == 0, collected.stdout[-3000:]
    ran = subprocess.run(
        [*command, "tests/test_cli.py", "tests/test_api.py", "-k", "not pdf"],
        capture_output=True,
        text=True,
        cwd=tree,
        env=env,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stdout[-3000:]
    assert " passed" in ran.stdout.splitlines()[-1] and "failed" not in ran.stdout


def test_the_wheel_installs_and_runs_outside_the_checkout(dist, tmp_path):
    (wheel,) = dist[0].glob("matcalc_nn-*.whl")
    env_dir = tmp_path / "env"
    # The environment's own packages provide SymPy and NumPy; the wheel brings matcalc.
    venv.create(env_dir, system_site_packages=True, with_pip=False)
    python = env_dir / "bin" / "python"
    # Without PYTHONPATH: a checkout on it (and its egg-info) would count as installed already.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps"]
        + ["--no-index", "--force-reinstall", str(wheel)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    away = tmp_path / "elsewhere"
    away.mkdir()
    probe = subprocess.run(
        [str(python), "-c", "import matcalc; print(matcalc.__file__); print(matcalc.__version__)"],
        capture_output=True,
        text=True,
        cwd=away,
        env=env,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    location, version = probe.stdout.split()
    assert location.startswith(str(env_dir)) and version == PROJECT["version"]
    derived = subprocess.run(
        [str(env_dir / "bin" / "matcalc"), "derive", "--wrt", "W^2"],
        capture_output=True,
        text=True,
        cwd=away,
        env=env,
        timeout=120,
    )
    assert derived.returncode == 0, derived.stderr
    assert r"\frac{\partial \mathcal{L}}{\partial W^{2}}" in derived.stdout
