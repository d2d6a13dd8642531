"""`rnnlab explore` under load and bad input: concurrent requests, every bad parameter, bad ports, piped output.

The storm runs 1,000 requests from 8 threads against a real server (a tenth of them malformed) and wants
every good answer byte-for-byte equal to the same request made alone; every bad parameter must get a
400 whose one-line message names the parameter, its value and what is expected.
"""
import json
import os
import queue
import random
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest
import torch

from rnnlab import analysis
from rnnlab.cli import main
from served import serving


@pytest.fixture(scope="module")
def base():
    with serving() as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _strict_json(body):
    def refuse(constant):
        raise AssertionError(f"not JSON: {constant}")
    return json.loads(body, parse_constant=refuse)


def _good_queries(count):
    rng = random.Random(0)
    queries = set()
    while len(queries) < count:
        cell = rng.choice(analysis.CELLS)
        nl = rng.choice(analysis.NONLINEARITIES) if cell == "rnn" else "tanh"
        queries.add(f"cell={cell}&nonlinearity={nl}&hidden_size={rng.randint(2, 7)}&length={rng.randint(2, 7)}"
                    f"&weight_scale={rng.choice([-2, -0.5, 0.5, 1, 1.5, 3])}&bias_scale={rng.choice([-1, 0, 2])}"
                    f"&loss={rng.choice(analysis.LOSSES)}")
    return sorted(queries)


# (path and query, status, fragments the message must hold)
MALFORMED = [
    ("/api/flow?hidden_size=abc", 400, ["hidden_size", "'abc'", "expected an integer in [1, 256]"]),
    ("/api/flow?hidden_size=0", 400, ["hidden_size", "'0'"]),
    ("/api/flow?hidden_size", 400, ["hidden_size", "''"]),
    ("/api/flow?length=1e9", 400, ["length", "'1e9'", "expected an integer in [2, 200]"]),
    ("/api/flow?length=3&length=4", 400, ["length", "'3'", "'4'", "expected one value"]),
    ("/api/flow?weight_scale=nan", 400, ["weight_scale", "'nan'", "expected a finite number in [-5, 5]"]),
    ("/api/flow?bias_scale=-inf", 400, ["bias_scale", "'-inf'"]),
    ("/api/flow?weight_scale=-7.5", 400, ["weight_scale", "'-7.5'"]),
    ("/api/flow?cell=cnn", 400, ["cell", "'cnn'", "expected one of rnn, lstm, gru"]),
    ("/api/flow?cell=lstm&nonlinearity=bogus", 400, ["nonlinearity", "'bogus'"]),
    ("/api/flow?loss=first", 400, ["loss", "'first'"]),
    ("/api/flow?colour=red", 400, ["'colour'", "'red'", "expected only"]),
    ("/api/flow?=5", 400, ["unknown parameter ''", "'5'"]),
    ("/api/flow?weight_scale=%FF", 400, ["weight_scale"]),
    ("/nowhere", 404, ["'/nowhere'", "/draw (draw a digit)"]),
    ("/api/flow/more?cell=rnn", 404, ["'/api/flow/more'"]),
    ("/api", 404, ["'/api'"]),
]


def test_a_storm_of_concurrent_requests_gets_the_answers_of_single_requests(base, monkeypatch):
    good = _good_queries(40)
    alone = {q: _get(f"{base}/api/flow?{q}") for q in good}          # sequentially, before the storm
    assert all(status == 200 for status, _ in alone.values())
    rng = random.Random(1)
    requests = [("/api/flow?" + rng.choice(good), None) for _ in range(900)]
    requests += [(MALFORMED[i % len(MALFORMED)][0], MALFORMED[i % len(MALFORMED)]) for i in range(100)]
    rng.shuffle(requests)
    analysis.clear_model_cache()
    monkeypatch.setattr(analysis, "CACHE_SIZE", 3)      # models are evicted and built again during the storm
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda request: _get(base + request[0]), requests))
    assert len(answers) == 1000
    assert not [status for status, _ in answers if status >= 500]
    wrong = []
    for (target, malformed), (status, body) in zip(requests, answers):
        if malformed is None:
            if (status, body) != alone[target[len("/api/flow?"):]]:
                wrong.append(target)
        else:
            error = _strict_json(body)["error"]
            if status != malformed[1] or "\n" in error or not all(f in error for f in malformed[2]):
                wrong.append((target, status, error))
    assert wrong == []


BAD_VALUES = {
    "hidden_size": ["abc", "", "2.5", "1e2", "1_6", " 16", "0x10", "0", "-3", "257", "99999999999999999999",
                    "nan", "inf"],
    "length": ["abc", "", "2.0", "1", "201", "-5", "nan", "inf"],
    "weight_scale": ["abc", "", "nan", "NaN", "inf", "-inf", "Infinity", "5.01", "-5.5", "1e400", "0x1", "1_0",
                     "1,5"],
    "bias_scale": ["abc", "", "nan", "inf", "-Infinity", "6", "-5.0001", "1e400", "--1"],
    "cell": ["", "cnn", "RNN", " rnn"],
    "nonlinearity": ["", "sigmoid", "Tanh"],
    "loss": ["", "first", "all"],
}
REPEATED = {"hidden_size": ("4", "5"), "length": ("3", "3"), "weight_scale": ("1", "abc"), "bias_scale": ("0", "1"),
            "cell": ("rnn", "gru"), "nonlinearity": ("tanh", "relu"), "loss": ("last", "every")}
BAD_CASES = ([(name, [value]) for name, values in BAD_VALUES.items() for value in values]
             + [(name, list(values)) for name, values in REPEATED.items()])


def _error_of(base, query):
    status, body = _get(f"{base}/api/flow?{query}")
    error = _strict_json(body)["error"]
    assert status == 400, (query, status, error)
    assert "\n" not in error and "expected" in error and len(error) < 300, error
    return error


@pytest.mark.parametrize("name,values", BAD_CASES,
                         ids=[f"{n}={'&'.join(v) or 'empty'}" for n, v in BAD_CASES])
def test_every_bad_parameter_value_gets_a_400_naming_it(base, name, values):
    query = "&".join(f"{name}={quote(v, safe='')}" for v in values)
    error = _error_of(base, query)
    assert error.startswith(f"{name}: ")
    assert all(repr(v) in error for v in values), error


@pytest.mark.parametrize("query,fragments", [
    ("cell=lstm&nonlinearity=bogus", ["nonlinearity: unknown value 'bogus'", "identity, relu, tanh"]),
    ("colour=red", ["unknown parameter 'colour' (= 'red')", "cell, nonlinearity"]),
    ("seed=3", ["unknown parameter 'seed' (= '3')"]),
    ("=5", ["unknown parameter '' (= '5')"]),
    ("length=" + "7" * 5000, ["length: expected an integer in [2, 200], got '7777", "(5000 characters)"]),
    ("cell=" + quote("rnn\nx"), ["cell: unknown value 'rnn\\nx'"]),
    ("hidden_size=4&" * 6 + "length=3", ["hidden_size: expected one value, got 6", "..."]),
])
def test_odd_queries_get_a_one_line_400(base, query, fragments):
    error = _error_of(base, query)
    assert all(f in error for f in fragments), error


def test_an_exploding_rnn_still_answers_strict_json(base):
    status, body = _get(f"{base}/api/flow?nonlinearity=identity&hidden_size=256&length=200&weight_scale=5"
                        f"&bias_scale=5")
    data = _strict_json(body)
    assert status == 200 and len(data["grad_norms"]) == 200
    assert all(isinstance(v, float) and v > 0 for v in data["grad_norms"])   # past 1e154: ||v|| = m ||v / m||
    assert data["grad_norms"][0] > 1e150


def test_serving_leaves_torch_global_generator_alone():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    analysis.clear_model_cache()
    analysis.explore(hidden_size=3, length=3)
    assert torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("port", ["70000", "-1", "65536"])
def test_a_port_out_of_range_is_refused_in_one_line(port, capsys):
    assert main(["explore", "--port", port]) == 2
    err = capsys.readouterr().err
    assert err == f"rnnlab explore: port: expected an integer in 0..65535, got {port}; --port 0 picks a free one\n"


def test_the_url_reaches_a_pipe_at_once():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "PYTHONSTARTUP")}
    proc = subprocess.Popen([sys.executable, "-m", "rnnlab", "explore", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    lines = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        try:
            first = lines.get(timeout=30).decode()
        except queue.Empty:
            pytest.fail("no line on stdout within 30 s: is the URL printed without flush?")
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", first)
        assert match, first
        status, body = _get(f"{match.group(0)}api/flow?hidden_size=4&length=4")
        assert status == 200
        assert _strict_json(body)["grad_norms"] == analysis.explore(hidden_size=4, length=4)["grad_norms"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert b"Traceback" not in err, err.decode()
