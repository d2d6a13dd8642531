"""rnnlab's explore server for the tests of its pages and API: started on a free loopback port in a daemon thread,
shut down and closed when the block ends, whatever happened in it."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rnnlab.explore import make_server


@contextmanager
def serving(runs_dir: str | Path | None = None) -> Iterator[object]:
    """The running server (``server.server_address[1]`` is its port), reading the runs under ``runs_dir``
    (make_server's default when None)."""
    httpd = make_server("127.0.0.1", 0, **({} if runs_dir is None else {"runs_dir": runs_dir}))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
