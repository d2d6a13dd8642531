"""`rnnlab explore` against hostile and careless clients, through real HTTP on loopback (issue 35).

- 16 threads reading drawings with a NumPy-engine run get exactly the answers of the same requests sent alone;
- a Host that is not a loopback name of the server (DNS rebinding) is refused, and so is a cross-origin POST;
- a FIFO, a device or a huge file where a run's file should be never hangs a listing or a reading;
- JSON nested 500,000 levels deep, other methods, odd headers: each a 4xx with a one-line reason, never a 500.
"""
import base64
import http.client
import io
import json
import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image, ImageDraw

from rnnlab import tasks
from rnnlab.config import TrainConfig
from rnnlab.data.mnist import ImageDataset
from rnnlab.explore.guard import MAX_JSON_DEPTH, allowed_hosts, host_problem, json_depth_problem, origin_problem
from rnnlab.train import train_run
from served import serving


def _stroke_dataset():
    rng = np.random.default_rng(0)
    labels = np.arange(120) % 10
    images = np.zeros((120, 28, 28), np.uint8)
    for k, label in enumerate(labels):
        picture = Image.new("L", (28, 28), 0)
        angle = np.pi * label / 10
        dx, dy = 9 * np.cos(angle), 9 * np.sin(angle)
        cx, cy = 14 + rng.normal(0, 0.5), 14 + rng.normal(0, 0.5)
        ImageDraw.Draw(picture).line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=3)
        images[k] = np.asarray(picture)
    return ImageDataset("strokes", images[:100], labels[:100].astype(np.uint8), images[100:],
                        labels[100:].astype(np.uint8), tuple("0123456789"), "memory")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder with two small NumPy-engine runs of an image task (an LSTM and a GRU)."""
    root = tmp_path_factory.mktemp("runs")
    patch = pytest.MonkeyPatch()
    patch.setattr(tasks, "load_dataset", lambda *a, **k: _stroke_dataset())
    for cell in ("lstm", "gru"):
        train_run(TrainConfig.from_flat({"task": "mnist-rows", "cell": cell, "hidden_size": 10, "epochs": 1,
                                         "batch_size": 50, "lr": 0.02, "engine": "numpy",
                                         "task_options": {"split": "official"}}),
                  root / cell, progress=False, echo=lambda line: None)
    patch.undo()
    return root


@pytest.fixture(scope="module")
def port(runs):
    with serving(runs) as httpd:
        yield httpd.server_address[1]


def _request(port, method, path, body=None, headers=None, timeout=20):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body, headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _drawing(k: int) -> str:
    picture = Image.new("L", (90, 90), 255)
    ImageDraw.Draw(picture).line([(10 + 7 * k, 10), (80 - 5 * k, 80)], fill=0, width=8)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_sixteen_threads_get_the_answers_of_single_requests(port):
    bodies = [json.dumps({"run": run, "png": _drawing(k)}).encode() for run in ("lstm", "gru") for k in range(4)]
    alone = [_request(port, "POST", "/api/read", body) for body in bodies]
    assert all(status == 200 for status, _ in alone)
    order = [k % len(bodies) for k in range(96)]
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda k: _request(port, "POST", "/api/read", bodies[k]), order))
    wrong = [k for k, answer in zip(order, answers) if answer != alone[k]]
    assert wrong == []


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io", "evil.example:{port}", "localhost:1",
                                  "127.0.0.1.nip.io:{port}", "", "127.0.0.2:{port}", "[::2]:{port}"])
def test_a_host_that_is_not_this_server_is_refused(port, host):
    for method, path in (("GET", "/api/runs"), ("GET", "/"), ("POST", "/api/read")):
        status, body = _request(port, method, path, b"{}" if method == "POST" else None,
                                {"Host": host.format(port=port)})
        error = json.loads(body)["error"]
        assert status == 403 and error.startswith("Host: ") and "\n" not in error, (host, error)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST:{port}", "[::1]:{port}"])
def test_loopback_names_are_served(port, host):
    status, body = _request(port, "GET", "/api/runs", headers={"Host": host.format(port=port)})
    assert status == 200 and [row["id"] for row in json.loads(body)["runs"]]


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://127.0.0.1:1"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:{port}"}])
def test_a_cross_origin_post_is_refused(port, headers):
    headers = {k: v.format(port=port) for k, v in headers.items()}
    body = json.dumps({"run": "gru", "png": _drawing(1)}).encode()
    status, answer = _request(port, "POST", "/api/read", body, headers)
    error = json.loads(answer)["error"]
    assert status == 403 and "own pages only" in error, error
    status, _ = _request(port, "POST", "/api/read", body, {"Origin": f"http://127.0.0.1:{port}",
                                                          "Sec-Fetch-Site": "same-origin"})
    assert status == 200


def test_guard_rules_alone():
    allowed = allowed_hosts("127.0.0.1", 8000)
    assert host_problem("localhost:8000", allowed) is None and host_problem("[::1]:8000", allowed) is None
    assert host_problem("localhost", allowed) and host_problem(None, allowed)
    assert "localhost" in allowed_hosts("127.0.0.1", 80)
    assert host_problem("192.168.1.5:8000", allowed_hosts("192.168.1.5", 8000)) is None
    assert host_problem("evil.example:8000", allowed_hosts("0.0.0.0", 8000))
    assert origin_problem(None, None, allowed) is None and origin_problem(None, "none", allowed) is None
    assert origin_problem("http://localhost:8000", "same-origin", allowed) is None
    assert json_depth_problem(b"[" * (MAX_JSON_DEPTH + 1)) and json_depth_problem(b"[" * MAX_JSON_DEPTH) is None
    assert json_depth_problem(b'{"png": "' + b"[" * 1000 + b'\\"[["}') is None


@pytest.mark.parametrize("body", [b"[" * 500_000, b'{"run": ' * 200_000, b"[" * 500_000 + b"]" * 500_000,
                                  b'{"run": "gru", "png": ' + b"[" * 100 + b"]" * 100 + b"}"])
def test_deep_json_is_a_400(port, body):
    status, answer = _request(port, "POST", "/api/read", body)
    error = json.loads(answer)["error"]
    assert status == 400 and "nested more than" in error and "\n" not in error


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE"])
def test_other_methods_are_a_405(port, method):
    status, body = _request(port, method, "/api/read", b"{}")
    assert status == 405
    if method != "HEAD":
        assert "not allowed" in json.loads(body)["error"]


@pytest.mark.parametrize("length", ["-1", "abc", "1e3", "0x10", str(10 ** 30)])
def test_odd_content_lengths_are_a_400(port, length):
    status, body = _request(port, "POST", "/api/read", b"{}", {"Content-Length": length})
    assert status == 400 and "Content-Length" in json.loads(body)["error"]


@pytest.fixture
def odd_runs(runs, tmp_path):
    """A copy of the runs folder with odd files where run files should be (a FIFO, /dev/zero, a huge file)."""
    root = tmp_path / "odd"
    shutil.copytree(runs, root)
    for name, victim in (("fifo-task", "task.json"), ("fifo-config", "config.json"), ("fifo-summary", "summary.json"),
                         ("fifo-model", "model.npz")):
        shutil.copytree(runs / "gru", root / name)
        (root / name / victim).unlink()
        os.mkfifo(root / name / victim)
    shutil.copytree(runs / "gru", root / "device")
    (root / "device" / "task.json").unlink()
    (root / "device" / "task.json").symlink_to("/dev/zero")
    shutil.copytree(runs / "gru", root / "huge")
    with open(root / "huge" / "config.json", "ab") as handle:
        handle.truncate(64 * 2 ** 20)                      # sparse: 64 MiB of nothing
    shutil.copytree(runs / "gru", root / "deep")
    (root / "deep" / "task.json").write_text("[" * 100_000 + "]" * 100_000)
    shutil.copytree(runs / "gru", root / "damaged")
    (root / "damaged" / "task.json").write_text('{"view": "rows"}')
    shutil.copytree(runs / "gru", root / "bomb")
    (root / "bomb" / "model.npz").write_bytes(b"PK\x05\x06" + bytes(18))
    return root


def test_odd_files_never_hang_the_pages(odd_runs):
    with serving(odd_runs) as httpd:
        port = httpd.server_address[1]
        status, body = _request(port, "GET", "/api/runs", timeout=10)
        assert status == 200
        assert sorted(row["id"] for row in json.loads(body)["runs"]) == ["bomb", "damaged", "fifo-summary", "gru",
                                                                         "lstm"]
        for run, fragment in (("damaged", "its task.json is damaged"), ("bomb", "model.npz: damaged")):
            status, body = _request(port, "POST", "/api/read", json.dumps({"run": run, "png": _drawing(2)}).encode(),
                                    timeout=10)
            assert status == 400 and fragment in json.loads(body)["error"], body
        for run in ("gru", "fifo-summary"):
            status, body = _request(port, "POST", "/api/read", json.dumps({"run": run, "png": _drawing(2)}).encode(),
                                    timeout=10)
            assert status == 200, body
        status, body = _request(port, "POST", "/api/read", json.dumps({"run": "fifo-task", "png": _drawing(2)})
                                .encode(), timeout=10)
        assert status == 400 and "is not one of the runs listed" in json.loads(body)["error"]


def test_requests_beyond_the_servers_limit_are_answered_503_at_once(runs):
    """Many slow clients cannot make the server start a thread each: past ``max_requests`` at once, a request is
    answered 503 without a thread, and once the slow ones leave, requests are served again."""
    import socket
    import time
    with serving(runs) as httpd:
        httpd.slots = threading.BoundedSemaphore(2)     # before any request: two at once
        port = httpd.server_address[1]
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]   # connected, sending nothing
        time.sleep(0.3)
        status, body = _request(port, "GET", "/")
        assert status == 503 and body.startswith(b"busy: too many requests at once")
        for connection in slow:
            connection.close()
        deadline = time.monotonic() + 10
        while (status := _request(port, "GET", "/")[0]) == 503 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert status == 200
