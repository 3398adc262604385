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
