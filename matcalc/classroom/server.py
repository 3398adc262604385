"""``matcalc serve``: the playground page and its JSON API (Starlette under uvicorn).

``POST /verify`` takes one ``verify --batch`` case and answers the ``verify --json`` record,
``POST /derive`` answers ``{"output": text}``, ``POST /download`` answers a file (.tex, .md,
.py, and .pdf with ``--allow-pdf``).  The work runs in worker processes with a time limit; a
request only ever carries spec *text*, so no request reads a file.  Bad input is a 400 with
``{"error": ...}``; anything else is a generic 500, logged here, never a traceback on the page.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import multiprocessing
import os
import shutil
import tempfile
import traceback
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from matcalc.core.record import record
from matcalc.errors import MatcalcError

log = logging.getLogger("matcalc.serve")

MAX_BODY = 256_000
"""Bytes of one request body: a spec (at most 100,000 characters) and a formula fit."""
TIME_LIMIT = 20.0
"""Seconds of work for one request, waiting in line included."""
STARTUP_LIMIT = 60.0
"""Seconds for the worker processes to start."""
MAX_PENDING = 512
"""Requests in the workers' queue at once; past that the server answers 503 at once."""
WORKER_MEMORY = 4 << 30
"""Bytes of address space of one worker process."""
DOWNLOADS = {"tex": ("tex", "application/x-tex"), "markdown": ("md", "text/markdown"),
             "numpy": ("py", "text/x-python")}  # fmt: skip
STATIC = resources.files("matcalc.classroom").joinpath("static")


class RequestError(Exception):
    """An answer other than 200: its status and its JSON."""

    def __init__(self, status: int, record: dict) -> None:
        super().__init__(record.get("error", ""))
        self.status = status
        self.record = record


# ---------------------------------------------------------------- work done in a worker process


def _in_worker(job: str, payload: dict) -> tuple[str, Any]:
    """Run one job; the answer is ("ok", value), ("bad", error JSON) or ("crash", traceback).

    Errors travel as data: a MatcalcError subclass with its own constructor does not pickle.
    """
    from matcalc.classroom import cases

    try:
        if job == "verify":
            return "ok", cases.case_record(payload["case"], markdown=payload["markdown"])
        if job == "derive":
            return "ok", cases.derive_output(payload)
        if job == "ready":
            return "ok", True
        if job == "pdf":
            return "ok", _pdf(cases.derive_output({**payload, "format": "tex"}))
        raise ValueError(f"unknown job {job}")
    except MatcalcError as error:
        equation = payload.get("case", {}).get("equation") if job == "verify" else None
        return "bad", cases.error_record(error, equation if isinstance(equation, str) else None)
    except RecursionError:
        return "bad", {"error": "the input is nested too deeply"}
    except MemoryError:
        return "bad", {"error": "the input needs more memory than a request may use"}
    except Exception:
        return "crash", traceback.format_exc()


def _pdf(tex: str) -> bytes:
    from matcalc.printers.document import compile_pdf

    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "derivation.pdf"
        compile_pdf(tex, output)
        return output.read_bytes()


def _start_worker() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY, WORKER_MEMORY))
    except (ImportError, ValueError, OSError):
        pass
    from matcalc.classroom import cases  # noqa: F401 - imported once, before the first job


class Workers:
    """A pool of worker processes; a job past the time limit ends its pool, which restarts."""

    def __init__(self, count: int, time_limit: float) -> None:
        self.count = count
        self.time_limit = time_limit
        self.pending = 0
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["matcalc.classroom.cases"])
            self._pool = concurrent.futures.ProcessPoolExecutor(
                self.count, mp_context=context, initializer=_start_worker
            )
        return self._pool

    def restart(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)

    async def start(self) -> None:
        """Start every worker process now, so that the first requests do not wait for them."""
        pool = self._executor()
        futures = [
            asyncio.wrap_future(pool.submit(_in_worker, "ready", {})) for _ in range(self.count)
        ]
        try:
            await asyncio.wait_for(asyncio.gather(*futures), STARTUP_LIMIT)
        except (TimeoutError, concurrent.futures.process.BrokenProcessPool):
            log.warning("the worker processes did not start in %s s", STARTUP_LIMIT)
            self.restart()

    async def run(self, job: str, payload: dict) -> Any:
        if self.pending >= MAX_PENDING:
            raise RequestError(503, {"error": "the server is busy; try again in a moment"})
        self.pending += 1
        try:
            future = self._executor().submit(_in_worker, job, payload)
            try:
                kind, value = await asyncio.wait_for(asyncio.wrap_future(future), self.time_limit)
            except TimeoutError:
                log.warning("a %s request took longer than %s s; workers restarted", job,
                            self.time_limit)  # fmt: skip
                self.restart()
                raise RequestError(
                    503, {"error": f"the request took longer than {self.time_limit:g} s"}
                ) from None
            except concurrent.futures.process.BrokenProcessPool:
                log.error("a worker process died during a %s request; workers restarted", job)
                self.restart()
                raise RequestError(
                    500, {"error": "internal error (logged by the server)"}
                ) from None
        finally:
            self.pending -= 1
        if kind == "bad":
            raise RequestError(400, value)
        if kind == "crash":
            log.error("internal error in a %s request:\n%s", job, value)
            raise RequestError(500, {"error": "internal error (logged by the server)"})
        return value


# ------------------------------------------------------------------------------------ the app


@record
class Settings:
    allow_pdf: bool = False
    time_limit: float = TIME_LIMIT
    workers: int = 0
    """Worker processes; 0: one per core."""
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")


async def _json_body(request: Request) -> dict:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        raise RequestError(413, {"error": f"the request body is larger than {MAX_BODY} bytes"})
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                too_large = f"the request body is larger than {MAX_BODY} bytes"
                raise RequestError(413, {"error": too_large})
    except ClientDisconnect:
        raise RequestError(400, {"error": "the client closed the connection"}) from None
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise RequestError(400, {"error": "the request body is not UTF-8"}) from None
    except json.JSONDecodeError as error:
        raise RequestError(
            400, {"error": f"not JSON: {error.msg} at column {error.colno}"}
        ) from None
    except RecursionError:
        raise RequestError(400, {"error": "not JSON: nested too deeply"}) from None
    if not isinstance(data, dict):
        raise RequestError(400, {"error": "the request body is a JSON object"})
    return data


def _same_origin(request: Request, settings: Settings) -> None:
    """A page of another site cannot post to the playground (it runs on the user's machine)."""
    origin = request.headers.get("origin")
    if origin is None or "*" in settings.allowed_hosts:
        return
    host = origin.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    if host not in settings.allowed_hosts:
        raise RequestError(403, {"error": "requests from another site are refused"})


def create_app(settings: Settings = Settings()) -> Starlette:  # noqa: B008 - immutable
    """The playground: ``GET /``, ``GET /presets``, ``POST /verify``, ``/derive``, ``/download``."""
    workers = Workers(settings.workers or max(1, os.cpu_count() or 1), settings.time_limit)
    pdf_ready = settings.allow_pdf and shutil.which("pdflatex") is not None

    def endpoint(handler: Callable) -> Callable:
        async def run(request: Request) -> Response:
            try:
                if request.method == "POST":
                    _same_origin(request, settings)
                return await handler(request)
            except RequestError as error:
                return JSONResponse(error.record, status_code=error.status)

        return run

    async def page(request: Request) -> Response:
        return FileResponse(str(STATIC.joinpath("index.html")), media_type="text/html")

    async def presets(request: Request) -> Response:
        from matcalc.classroom.presets import preset_table

        return JSONResponse({"presets": preset_table(), "pdf": pdf_ready})

    async def verify(request: Request) -> Response:
        case = await _json_body(request)
        markdown = request.query_params.get("markdown") in ("1", "true")
        record = await workers.run("verify", {"case": case, "markdown": markdown})
        return JSONResponse(record)

    async def derive(request: Request) -> Response:
        data = await _json_body(request)
        return JSONResponse({"output": await workers.run("derive", data)})

    async def download(request: Request) -> Response:
        data = await _json_body(request)
        fmt = data.get("format")
        if fmt == "pdf":
            if not pdf_ready:
                why = "pdflatex is not installed" if settings.allow_pdf else "start the server "
                why += "" if settings.allow_pdf else "with --allow-pdf"
                raise RequestError(400, {"error": f"PDF downloads are off: {why}"})
            content = await workers.run("pdf", data)
            suffix, media = "pdf", "application/pdf"
        elif fmt in DOWNLOADS:
            content = await workers.run("derive", data)
            suffix, media = DOWNLOADS[fmt]
        else:
            choices = ", ".join([*DOWNLOADS, *(["pdf"] if pdf_ready else [])])
            raise RequestError(400, {"error": f'"format" is one of {choices}'})
        headers = {"content-disposition": f'attachment; filename="derivation.{suffix}"'}
        return Response(content, media_type=media, headers=headers)

    async def not_found(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    async def crashed(request: Request, exc: Exception) -> Response:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error (logged by the server)"}, status_code=500)

    routes = [
        Route("/", endpoint(page)),
        Route("/presets", endpoint(presets)),
        Route("/verify", endpoint(verify), methods=["POST"]),
        Route("/derive", endpoint(derive), methods=["POST"]),
        Route("/download", endpoint(download), methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts)),
        ],
        exception_handlers={HTTPException: not_found, Exception: crashed},
        lifespan=_lifespan(workers),
    )

    app.state.workers = workers
    return app


class SecurityHeaders:
    """Every answer: scripts, styles and fonts from this server only; no framing."""

    HEADERS = (
        (
            b"content-security-policy",
            b"default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self'; "
            b"img-src 'self' data:; object-src 'none'; frame-ancestors 'none'",
        ),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
    )

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _lifespan(workers: Workers) -> Callable:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await workers.start()
        yield
        workers.restart()

    return lifespan


def allowed_hosts(host: str) -> tuple[str, ...]:
    """The Host headers the server answers: the bound address and the loopback names."""
    if host in ("0.0.0.0", "::", ""):
        return ("*",)
    return tuple(dict.fromkeys((host, "127.0.0.1", "localhost", "::1")))


def serve(host: str = "127.0.0.1", port: int = 8000, browser: bool = True,
          allow_pdf: bool = False) -> None:  # fmt: skip
    """Run the playground until interrupted; open it in the browser unless ``browser`` is off."""
    import threading
    import webbrowser

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    app = create_app(Settings(allow_pdf=allow_pdf, allowed_hosts=allowed_hosts(host)))
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    if browser:
        threading.Timer(1.0, webbrowser.open, (url,)).start()
    print(f"matcalc playground at {url} (Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
