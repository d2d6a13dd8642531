"""`rnnlab explore`: serve the gradient explorer on loopback.

    GET /             the page (static/index.html)
    GET /explore.js   its script (static/explore.js): sliders -> /api/flow -> two canvas plots
    GET /draw, /draw.js   the draw page: draw a digit, watch a trained run read it row by row
    GET /api/runs, POST /api/read   its answers (rnnlab.explore.draw); bad input gets HTTP 400
    GET /text, /text.js   the text page: type text, watch a trained character-level model's units
    GET /api/text-runs, POST /api/units   its answers (rnnlab.explore.text)
    any request   refused with 403 unless its Host is a loopback name or address of this server (localhost,
                  127.0.0.1, [::1] with the port: no DNS rebinding), and a POST unless it comes from the page
                  itself (Origin, Sec-Fetch-Site); see rnnlab.explore.guard.  Other methods: 405
    GET /api/flow?cell=rnn&nonlinearity=tanh&hidden_size=16&length=10&weight_scale=1&bias_scale=1&loss=last
                      rnnlab.analysis.explore() as JSON; a bad value gets HTTP 400 with a one-line message
                      {"error": "<parameter>: expected <what>, got '<value>'"}; another path gets 404

Every parameter is optional (the defaults of explore()) and may appear once:

    cell          one of rnn, lstm, gru             hidden_size   an integer in [1, 256]
    nonlinearity  one of identity, relu, tanh       length        an integer in [2, 200]
    loss          one of every, last                weight_scale, bias_scale   a finite number in [-5, 5]

Integers are plain decimal digits ("16", not "16.0" or "1_6"); numbers are decimal or scientific
("0.5", "-2", "1e-1"), never nan or inf.  A value of the answer that overflows float64 (an exploding RNN
at length 200) is sent as null, so the body is always strict JSON.  Requests are served on threads and
each answer depends on its parameters only (see rnnlab.analysis.explore).

Everything the page needs comes from the package, so it works without internet.
"""
from __future__ import annotations

import contextlib
import html
import json
import math
import re
import socket
import sys
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from ..analysis import CELLS, LIMITS, LOSSES, NONLINEARITIES, explore
from ..cells import get_cell
from .draw import MAX_BODY, BadRequest, Reader, run_rows
from .guard import allowed_hosts, host_problem, json_depth_problem, origin_problem
from .text import TextReader, text_run_rows

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/index.html": ("index.html", "text/html; charset=utf-8"),
          "/explore.js": ("explore.js", "text/javascript; charset=utf-8"),
          "/draw": ("draw.html", "text/html; charset=utf-8"),
          "/draw.js": ("draw.js", "text/javascript; charset=utf-8"),
          "/text": ("text.html", "text/html; charset=utf-8"),
          "/text.js": ("text.js", "text/javascript; charset=utf-8")}
INTEGERS, NUMBERS = ("hidden_size", "length"), ("weight_scale", "bias_scale")
CHOICES = {"cell": CELLS, "nonlinearity": NONLINEARITIES, "loss": LOSSES}
CELL_OPTIONS_MARK = b"<!-- CELL OPTIONS: the server writes one option per cell of the registry -->"


def cell_options() -> str:
    """The page's choice of cell, one ``<option>`` per cell the explorer builds (from the cell registry)."""
    return "".join(f'<option value="{name}">{html.escape(get_cell(name).title)}</option>' for name in CELLS)

PARAMETERS = ("cell", "nonlinearity", "hidden_size", "length", "weight_scale", "bias_scale", "loss")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _shown(text: str, limit: int = 40) -> str:
    """repr() of a value for a message: one line whatever it holds, cut after ``limit`` characters."""
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def _parse_value(name: str, text: str) -> int | float | str:
    """One parameter's text -> its value; ValueError "<name>: expected <what>, got '<text>'"."""
    if name in INTEGERS:
        low, high = LIMITS[name]
        if len(text) < 12 and _INTEGER.fullmatch(text) and low <= int(text) <= high:
            return int(text)
        raise ValueError(f"{name}: expected an integer in [{low}, {high}], got {_shown(text)}")
    if name in NUMBERS:
        low, high = LIMITS[name]
        value = float(text) if _NUMBER.fullmatch(text) else None
        if value is not None and math.isfinite(value) and low <= value <= high:
            return value
        finite = "finite " if text.strip().lower().lstrip("+-") in ("nan", "inf", "infinity") else ""
        raise ValueError(f"{name}: expected a {finite}number in [{low:g}, {high:g}], got {_shown(text)}")
    if text in CHOICES[name]:
        return text
    raise ValueError(f"{name}: unknown value {_shown(text)}; expected one of {', '.join(CHOICES[name])}")


def parse_flow_query(query: str) -> dict:
    """Query string -> keyword arguments of explore(); ValueError names the bad, repeated or unknown parameter,
    its value and what is expected (one line: values are shown with repr and cut when long)."""
    params = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        name = unknown[0]
        raise ValueError(f"unknown parameter {_shown(name)} (= {_shown(params[name][0])}); "
                         f"expected only {', '.join(PARAMETERS)}")
    args = {}
    for name in PARAMETERS:
        values = params.get(name)
        if values is None:
            continue
        if len(values) > 1:
            raise ValueError(f"{name}: expected one value, got {len(values)}: "
                             f"{', '.join(_shown(v, 20) for v in values[:4])}{', ...' if len(values) > 4 else ''}")
        args[name] = _parse_value(name, values[0])
    return args


def _strict(value: object) -> object:
    """``value`` with every float that is not finite replaced by None (JSON has no nan or inf)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


class Handler(BaseHTTPRequestHandler):
    """One request: the Host (and, for a POST, the origin) checked first (rnnlab.explore.guard), then the page
    or the answer.  Every refusal is a 4xx whose JSON body holds one line, ``{"error": ...}``; a client that
    stops sending is dropped after ``timeout`` seconds."""
    server_version = "rnnlab-explore"
    timeout = 30

    def _refused(self, post: bool) -> bool:
        """Answer 403 and return True when the request does not name this server or (a POST) comes from
        another origin."""
        allowed = self.server.allowed_hosts
        problem = host_problem(self.headers.get("Host"), allowed)
        if problem is None and post:
            problem = origin_problem(self.headers.get("Origin"), self.headers.get("Sec-Fetch-Site"), allowed)
        if problem is None:
            return False
        self.close_connection = True
        self._json(HTTPStatus.FORBIDDEN, {"error": problem})
        return True

    def _not_allowed(self) -> None:
        """Any method but GET and POST: 405 (not the 501 the standard library sends)."""
        self.close_connection = True
        body = json.dumps({"error": f"method {self.command}: not allowed; GET a page or POST to /api/read"})
        self.send_response(HTTPStatus.METHOD_NOT_ALLOWED)
        self.send_header("Allow", "GET, POST")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_TRACE = do_CONNECT = _not_allowed

    def log_message(self, format: str, *args: object) -> None:   # quiet: the terminal shows the address only
        pass

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict) -> None:
        self._send(status, json.dumps(_strict(payload), allow_nan=False).encode(), "application/json")

    def _flow(self, query: str) -> None:
        try:
            args = parse_flow_query(query)
            result = explore(**args)
        except ValueError as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        except Exception as exc:   # a bug: answer with one line (and say it once on stderr), not a dropped socket
            message = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]
            print(f"rnnlab explore: {message} (for /api/flow?{query[:200]})", file=sys.stderr, flush=True)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message})
            return
        self._json(HTTPStatus.OK, result)

    def do_GET(self) -> None:
        if self._refused(post=False):
            return
        url = urlparse(self.path)
        if url.path in STATIC:
            name, content_type = STATIC[url.path]
            body = resources.files(__package__).joinpath("static", name).read_bytes()
            if name == "index.html":
                body = body.replace(CELL_OPTIONS_MARK, cell_options().encode())
            self._send(HTTPStatus.OK, body, content_type)
        elif url.path == "/api/flow":
            self._flow(url.query)
        elif url.path == "/api/runs":
            self._json(HTTPStatus.OK, {"runs": run_rows(self.server.reader.root)})
        elif url.path == "/api/text-runs":
            self._json(HTTPStatus.OK, {"runs": text_run_rows(self.server.text_reader.root)})
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {_shown(url.path)}; try / (the gradient "
                                                       f"explorer), /draw (draw a digit), /text (type text) or "
                                                       f"/api/flow"})

    def do_POST(self) -> None:
        """/api/read: a drawing read by a listed run (rnnlab.explore.draw); /api/units: typed text read by a text
        run (rnnlab.explore.text); the body is bounded by MAX_BODY and its JSON nesting by guard.MAX_JSON_DEPTH."""
        if self._refused(post=True):
            return
        readers = {"/api/read": self.server.reader, "/api/units": self.server.text_reader}
        reader = readers.get(urlparse(self.path).path)
        if reader is None:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {_shown(self.path)}; POST to /api/read or "
                                                       f"/api/units"})
            return
        length = self.headers.get("Content-Length", "")
        if not length.isdigit() or int(length) > MAX_BODY:
            self.close_connection = True   # the body is not read: the connection cannot be reused
            self._json(HTTPStatus.BAD_REQUEST, {"error": f"Content-Length: expected a number of bytes up to "
                                                         f"{MAX_BODY}, got {_shown(length)}"})
            return
        try:
            body = self.rfile.read(int(length))
        except TimeoutError:
            self.close_connection = True
            self._json(HTTPStatus.REQUEST_TIMEOUT, {"error": f"the body did not arrive within {self.timeout} s"})
            return
        problem = json_depth_problem(body)
        if problem is not None:
            self._json(HTTPStatus.BAD_REQUEST, {"error": problem})
            return
        try:
            result = reader.read(body)
        except BadRequest as exc:
            self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
            return
        except Exception as exc:   # a bug: one line, as /api/flow
            message = f"internal error: {type(exc).__name__}: {exc}".splitlines()[0]
            print(f"rnnlab explore: {message} (for {urlparse(self.path).path})", file=sys.stderr, flush=True)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message})
            return
        self._json(HTTPStatus.OK, result)


class ExploreServer(ThreadingHTTPServer):
    """ThreadingHTTPServer (a daemon thread per request) that reports a dropped connection in one line, not a
    traceback: a page that moves on before its answer arrives is normal when a slider is dragged.
    ``reader`` reads the draw page's drawings with the runs under its folder."""

    reader: Reader = Reader("runs")
    text_reader: TextReader = TextReader("runs")
    allowed_hosts: frozenset[str] = frozenset()
    max_requests = 32     # requests served at once; one more is answered 503 at once (no thread is started for it)
    # connections the kernel holds until the server accepts them (socketserver's default: 5).  A burst of more
    # clients than that overflows the queue; one of 16 clients connecting at once was reset once on a busy machine
    # (the reliability test under pytest -n 2; not reproduced in 4 tries since), so the queue takes bursts of 64
    request_queue_size = 64

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.slots = threading.BoundedSemaphore(self.max_requests)

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        """A thread for the request while fewer than ``max_requests`` are being served; else a one-line 503."""
        if not self.slots.acquire(blocking=False):
            body = b"busy: too many requests at once; try again in a moment\n"
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                b"Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n" % len(body)
                                + body)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: socket.socket, client_address: tuple) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: object, client_address: tuple) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            return
        print(f"rnnlab explore: request from {client_address[0]} failed: {type(exc).__name__}: {exc}",
              file=sys.stderr, flush=True)


def check_port(port: object) -> int:
    """``port`` if it is a TCP port number (0: the system picks a free one), else ValueError."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port: expected an integer in 0..65535, got {port!r}; --port 0 picks a free one")
    return port


def make_server(host: str = "127.0.0.1", port: int = 8000, runs_dir: str | Path = "runs") -> ThreadingHTTPServer:
    """A server bound to ``host``:``port`` (port 0: any free port); call serve_forever() on it.  The draw
    page offers the runs of image tasks under ``runs_dir``.
    ValueError for a port outside 0..65535 (before binding); OSError when the address cannot be bound."""
    server = ExploreServer((host, check_port(port)), Handler)
    server.reader = Reader(runs_dir)
    server.text_reader = TextReader(runs_dir)
    server.allowed_hosts = allowed_hosts(host, server.server_address[1])
    return server


def _say(line: str) -> None:
    print(line, flush=True)   # flushed: stdout is block-buffered in a pipe or a log, and the URL must show


def serve(host: str = "127.0.0.1", port: int = 8000, echo: Callable[[str], object] = _say,
          runs_dir: str | Path = "runs") -> None:
    """Serve the explorer until Ctrl-C; the first line ``echo``-ed holds its URL, http://HOST:PORT/
    (the draw page: http://HOST:PORT/draw, the text page: http://HOST:PORT/text, with the runs under ``runs_dir``)."""
    server = make_server(host, port, runs_dir)
    url = f"http://{host}:{server.server_address[1]}/"
    echo(f"rnnlab explore: open {url}  (draw a digit: {url}draw; type text: {url}text; Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()
