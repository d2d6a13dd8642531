"""`rnnlab explore`: serve the gradient explorer on loopback.

    GET /             the page (static/index.html)
    GET /explore.js   its script (static/explore.js): sliders -> /api/flow -> two canvas plots
    GET /api/flow?cell=rnn&nonlinearity=tanh&hidden_size=16&length=10&weight_scale=1&bias_scale=1&loss=last
                      rnnlab.analysis.explore() as JSON; a bad value gets HTTP 400 with a message

Everything the page needs comes from the package, so it works without internet.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlparse

from ..analysis import explore

STATIC = {"/": ("index.html", "text/html; charset=utf-8"),
          "/index.html": ("index.html", "text/html; charset=utf-8"),
          "/explore.js": ("explore.js", "text/javascript; charset=utf-8")}
INTEGERS, NUMBERS, WORDS = ("hidden_size", "length"), ("weight_scale", "bias_scale"), ("cell", "nonlinearity", "loss")


def parse_flow_query(query: str) -> dict:
    """Query string -> keyword arguments of explore(); ValueError names a bad or unknown parameter."""
    params = parse_qs(query, keep_blank_values=True)
    unknown = sorted(set(params) - set(INTEGERS + NUMBERS + WORDS))
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(unknown)}; expected {', '.join(INTEGERS + NUMBERS + WORDS)}")
    args = {}
    for name, values in params.items():
        text = values[-1]
        if name in INTEGERS:
            try:
                args[name] = int(text)
            except ValueError:
                raise ValueError(f"{name}: expected an integer, got {text!r}") from None
        elif name in NUMBERS:
            try:
                args[name] = float(text)
            except ValueError:
                raise ValueError(f"{name}: expected a number, got {text!r}") from None
            if not math.isfinite(args[name]):
                raise ValueError(f"{name}: expected a finite number, got {text!r}")
        else:
            args[name] = text
    if args.get("cell", "rnn") not in ("rnn", "lstm", "gru"):
        raise ValueError(f"cell: unknown value {args['cell']!r}; expected rnn, lstm or gru")
    return args


class Handler(BaseHTTPRequestHandler):
    server_version = "rnnlab-explore"

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
        self._send(status, json.dumps(payload).encode(), "application/json")

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path in STATIC:
            name, content_type = STATIC[url.path]
            body = resources.files(__package__).joinpath("static", name).read_bytes()
            self._send(HTTPStatus.OK, body, content_type)
        elif url.path == "/api/flow":
            try:
                result = explore(**parse_flow_query(url.query))
            except ValueError as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            self._json(HTTPStatus.OK, result)
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {url.path}; try / or /api/flow"})


def make_server(host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    """A server bound to ``host``:``port`` (port 0: any free port); call serve_forever() on it."""
    return ThreadingHTTPServer((host, port), Handler)


def serve(host: str = "127.0.0.1", port: int = 8000, echo: Callable[[str], object] = print) -> None:
    server = make_server(host, port)
    echo(f"rnnlab explore: open http://{host}:{server.server_address[1]}/  (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()
