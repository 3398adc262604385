"""The playground under uvicorn on loopback: 200 concurrent /verify requests, malformed ones.

Traffic goes to 127.0.0.1 only, in loops bounded in count and time.
"""

import asyncio
import json
import socket
import statistics
import time

import pytest
from classroom_data import RIGHT_W1, TWO_LAYER, WRONG_W1, D, running_server

CONCURRENT = 200
TIME_BOUND = 120.0
CASES = [
    {"spec": TWO_LAYER, "equation": RIGHT_W1},
    {"spec": TWO_LAYER, "equation": WRONG_W1},
    {
        "spec": TWO_LAYER,
        "equation": D % "W^2" + r" = A^1 \left(\frac{\partial L}{\partial Z^2}\right)^T",
    },
    {"spec": TWO_LAYER, "equation": D % "W_0^1" + r" = \frac{\partial L}{\partial Z^1}"},
]
VERDICTS = ["correct", "incorrect", "correct", "correct"]


@pytest.fixture(scope="module")
def base_url():
    with running_server() as url:
        yield url


async def _hammer(base_url: str) -> list[tuple[int, float, dict]]:
    import httpx2

    limits = httpx2.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)
    async with httpx2.AsyncClient(base_url=base_url, limits=limits, timeout=TIME_BOUND) as client:

        async def one(i: int) -> tuple[int, float, dict]:
            case = {"id": i, **CASES[i % len(CASES)]}
            start = time.perf_counter()
            answer = await client.post("/verify", json=case)
            return answer.status_code, time.perf_counter() - start, answer.json()

        return await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(CONCURRENT))), TIME_BOUND
        )


def test_200_concurrent_verify_requests_all_succeed(base_url):
    start = time.perf_counter()
    answers = asyncio.run(_hammer(base_url))
    wall = time.perf_counter() - start
    assert [status for status, _, _ in answers] == [200] * CONCURRENT
    for i, (_, _, record) in enumerate(answers):
        assert record["id"] == i
        assert record["verdict"] == VERDICTS[i % len(CASES)]
    latencies = sorted(seconds for _, seconds, _ in answers)
    p95 = latencies[int(0.95 * len(latencies)) - 1]
    print(
        f"\n{CONCURRENT} concurrent /verify: p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms, wall {wall:.2f} s"
    )
    assert wall < TIME_BOUND


def _raw(base_url: str, data: bytes, read: bool = True) -> bytes:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=2) as connection:
        connection.sendall(data)
        if not read:
            return b""
        chunks = []
        try:
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        except TimeoutError:
            pass
        return b"".join(chunks)


MALFORMED = [
    b"\x00\x01\x02 garbage\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",  # no Host
    b"POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n{",  # cut short
    b"POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n",
    b"POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999\r\n\r\n{}",
    b"POST /verify HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"b" * 200_000 + b"\r\n\r\n",
]


@pytest.mark.parametrize("data", MALFORMED, ids=range(len(MALFORMED)))
def test_a_malformed_request_never_takes_the_server_down(base_url, data):
    import httpx2

    try:
        answer = _raw(base_url, data)
    except OSError:
        answer = b""  # the server may close the connection: what matters is that it lives on
    assert b"Traceback" not in answer
    again = httpx2.post(f"{base_url}/verify", json=CASES[0], timeout=30)
    assert again.status_code == 200
    assert again.json()["verdict"] == "correct"


def test_json_errors_from_the_live_server(base_url):
    import httpx2

    answer = httpx2.post(f"{base_url}/verify", content=b'{"spec": 1', timeout=30)
    assert answer.status_code == 400
    assert json.loads(answer.text)["error"].startswith("not JSON")
