import gc

import pytest

from matcalc.core.collector import collector_paused


@pytest.fixture
def collector_state():
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_collector_is_off_inside_and_as_it_was_after(enabled_before, collector_state):
    (gc.enable if enabled_before else gc.disable)()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled_before


def test_an_error_inside_still_turns_the_collector_back_on(collector_state):
    gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("inside")
    assert gc.isenabled()


def test_derive_and_backprop_leave_the_collector_on(collector_state):
    from matcalc.engine.backprop import backprop
    from matcalc.engine.derive import derive
    from matcalc.specs.examples import EXAMPLE_SPEC
    from matcalc.specs.graph import Graph
    from matcalc.specs.network import Network

    gc.enable()
    derive(Network.from_toml(EXAMPLE_SPEC))
    backprop(
        Graph.from_dict(
            {
                "parameters": ["W"],
                "shapes": {"x": "3", "W": "2 x 3"},
                "define": {"L": r"\|W x\|^2"},
            }
        )
    )
    assert gc.isenabled()
