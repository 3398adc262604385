"""What the playground and grader tests share: specs, formulas, an app, a live server.

A module, not a conftest.py: tests import ``conftest`` by name, which must stay the one in tests/.
"""

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from matcalc.classroom.presets import preset_text
from matcalc.classroom.server import Settings, create_app

TWO_LAYER = preset_text("two-layer-sigmoid-squared")
RIDGE = preset_text("ridge-regression")
D = r"\frac{\partial L}{\partial %s}"
RIGHT_W1 = D % "W^1" + r" = A^0 \left(\frac{\partial L}{\partial Z^1}\right)^T"
WRONG_W1 = D % "W^1" + r" = A^0 \frac{\partial L}{\partial Z^1}"


@contextlib.contextmanager
def playground_client(**settings) -> Iterator:
    """A TestClient of the playground (one worker process unless said otherwise)."""
    from starlette.testclient import TestClient

    options = {"workers": 1, "time_limit": 30, "allowed_hosts": ("testserver",), **settings}
    app = create_app(Settings(**options))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def running_server(**settings) -> Iterator[str]:
    """The playground under uvicorn in a thread on a free 127.0.0.1 port: its base URL."""
    import uvicorn

    port = free_port()
    app = create_app(Settings(allowed_hosts=("127.0.0.1", "localhost"), **settings))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
