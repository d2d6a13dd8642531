"""Who may talk to `rnnlab explore`, and what a request body may hold.

The server listens on loopback, but any web page the user visits can still reach it: through DNS rebinding
(a name of the attacker's that resolves to 127.0.0.1, so the browser sends ``Host: evil.example:8000``) or by
posting a form or a fetch from its own origin.  So:

- :func:`host_problem`: the ``Host`` header must name this server by a loopback name or address — ``localhost``,
  ``127.0.0.1``, ``[::1]`` (or the address given to ``--host``, when it is not a wildcard) — with its port;
- :func:`origin_problem`: a request that changes or reads with a body (POST) must come from the page itself:
  an ``Origin`` header, when sent, is this server's own origin, and ``Sec-Fetch-Site``, when sent, says
  ``same-origin`` or ``none`` (typed by the user);
- :func:`json_depth_problem`: a JSON body nested deeper than MAX_JSON_DEPTH is refused before it is parsed
  (Python's parser would recurse once per level).

Each returns None when all is well, else the one-line reason the 4xx answer carries.
"""
from __future__ import annotations

import re

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
WILDCARDS = ("", "0.0.0.0", "::", "[::]")
MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(rb"[\[\]{}]")


def _shown(text: str, limit: int = 60) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + "..."


def allowed_hosts(bound: str, port: int) -> frozenset[str]:
    """The ``Host`` values that name this server: the loopback names (and the bound address when it is not a
    wildcard) with ``:port``, and without it when the port is HTTP's default 80."""
    names = set(LOOPBACK_NAMES)
    if bound not in WILDCARDS:
        names.add(f"[{bound}]" if ":" in bound and not bound.startswith("[") else bound)
    hosts = {f"{name}:{port}" for name in names}
    if port == 80:
        hosts |= names
    return frozenset(host.lower() for host in hosts)


def host_problem(host: str | None, allowed: frozenset[str]) -> str | None:
    """Why the ``Host`` header does not name this server (None: it does)."""
    if host is None:
        return "Host: missing; the explorer answers requests for http://127.0.0.1:PORT/ or http://localhost:PORT/"
    if host.strip().lower() in allowed:
        return None
    return (f"Host: {_shown(host)} is not this server's loopback address; open it as "
            f"http://{sorted(allowed)[0]}/ (other names are refused against DNS rebinding)")


def origin_problem(origin: str | None, fetch_site: str | None, allowed: frozenset[str]) -> str | None:
    """Why a POST looks cross-origin (None: it comes from the page itself or from a program without a browser)."""
    if fetch_site is not None and fetch_site.strip().lower() not in ("same-origin", "none"):
        return (f"Sec-Fetch-Site: {_shown(fetch_site)}; the explorer takes POSTs from its own pages only "
                f"(no cross-origin writes)")
    if origin is None:
        return None
    lowered = origin.strip().lower()
    if lowered.startswith("http://") and lowered[len("http://"):] in allowed:
        return None
    return f"Origin: {_shown(origin)} is not this server; the explorer takes POSTs from its own pages only"


def json_depth_problem(body: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``body`` is nested too deeply to parse (None: at most ``limit`` levels of arrays and objects).
    Strings are skipped first, so brackets inside them do not count."""
    depth = deepest = 0
    for match in _BRACKETS.finditer(_STRING.sub(b'""', body)):
        bracket = match.group()
        depth += 1 if bracket in b"[{" else -1
        deepest = max(deepest, depth)
        if deepest > limit:
            return (f"the JSON body is nested more than {limit} levels deep; send "
                    f'{{"run": "<id>", "png": "data:image/png;base64,..."}}')
    return None
