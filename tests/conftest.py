"""Shared fixtures: random generators and small networks."""

import numpy as np
import pytest

from matcalc.network import Layer, Network


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(390)


@pytest.fixture
def mit_network() -> Network:
    """The 3-layer network of the public cases: 4 -> 3 tanh -> 5 tanh -> 2 identity, squared."""
    return Network([Layer(3, "tanh"), Layer(5, "tanh"), Layer(2, "identity")], input=4)


def require_tool(name: str) -> str:
    """The path of an external program the test needs.

    Missing on a developer's machine, the test is skipped; missing in CI (CI=true), it fails,
    since .ci/run installs it.
    """
    import os
    import shutil

    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed; .ci/run should install it")
        pytest.skip(f"{name} is not installed")
    return path
