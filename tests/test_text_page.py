"""The text page of `rnnlab explore`: a person types text in headless Chromium and watches a trained character-level
model's units; the page shows exactly rnnlab.text_cells' numbers; bad requests get 400, foreign ones 403.

Needs Debian's `chromium` and playwright for the browser part (skipped without them, as test_explore_browser).
"""
import http.client
import json
import shutil

import numpy as np
import pytest

from browser import ARTIFACTS, chromium_page
from rnnlab import text_cells as tc
from rnnlab.reading import load_model
from served import serving
from text_run import make_text_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder with one small text run (an LSTM) and a copy of it recorded as another task (not offered)."""
    root = tmp_path_factory.mktemp("runs")
    make_text_run(root / "text" / "lstm")
    shutil.copytree(root / "text" / "lstm", root / "other")
    (root / "other" / "task.json").write_text(json.dumps({"task": "adding", "length": 5}))
    (root / "other" / "vocabulary.json").unlink()
    return root


@pytest.fixture(scope="module")
def served(runs):
    with serving(runs) as httpd:
        yield httpd.server_address[1]


def _ask(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    payload = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    connection.request(method, path, payload, {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def _expected(runs, text, of="hidden"):
    model = load_model(runs / "text" / "lstm")
    chars = tc.run_characters(runs / "text" / "lstm")
    return tc.read_text(model.spec, model.weights(), chars, text), model, chars


def test_the_answer_is_text_cells_reading_the_typed_text(served, runs):
    status, listing = _ask(served, "GET", "/api/text-runs")
    assert status == 200 and [row["id"] for row in listing["runs"]] == ["text/lstm"]
    text = 'ab "cab" (d)\nba'
    status, answer = _ask(served, "POST", "/api/units", {"run": "text/lstm", "text": text})
    assert status == 200, answer
    trace, model, chars = _expected(runs, text)
    np.testing.assert_allclose(answer["values"], trace.hidden, atol=6e-5)
    search = tc.find_units(trace)
    assert answer["ranked"] == search.ranked_units() and answer["signed"] is True
    assert answer["best"]["quote"][0][0] == search.best["quote"][0][0]
    found = tc.connectivity(model.spec, model.weights(), chars, text)
    np.testing.assert_allclose(answer["connectivity"]["norms"], found.norms, rtol=1e-9)
    status, forget = _ask(served, "POST", "/api/units", {"run": "text/lstm", "text": text, "of": "forget"})
    assert status == 200 and forget["signed"] is False
    np.testing.assert_allclose(forget["values"], trace.gates["forget"], atol=6e-5)


@pytest.mark.parametrize("body, message", [
    ({"run": "text/lstm", "text": "abZ"}, "'Z' not in the run's vocabulary"),
    ({"run": "text/lstm", "text": "a" * 1001}, "text: expected 1 to 1000 characters, got 1001 characters"),
    ({"run": "text/lstm", "text": ""}, "text: expected 1 to 1000 characters"),
    ({"run": "other", "text": "ab"}, "is not one of the runs listed by /api/text-runs"),
    ({"run": "text/lstm", "text": "ab", "of": "gate"}, "of: 'gate' is not one of hidden, input, forget, cell, output"),
    ({"run": "text/lstm", "png": "x"}, "expected the keys run, text (and of)"),
    (b"{not json", "expected a JSON body"),
])
def test_bad_requests_get_400_with_one_line(served, body, message):
    status, answer = _ask(served, "POST", "/api/units", body)
    assert status == 400 and message in answer["error"] and "\n" not in answer["error"]


def test_foreign_pages_are_refused(served):
    status, answer = _ask(served, "POST", "/api/units", {"run": "text/lstm", "text": "ab"},
                          {"Origin": "http://evil.example"})
    assert status == 403 and "Origin" in answer["error"]
    status, answer = _ask(served, "GET", "/text", headers={"Host": "evil.example"})
    assert status == 403


def _values(page, element_id):
    """The value each character's span shows (its title)."""
    return [float(v) for v in page.eval_on_selector_all(f"#{element_id} span", "spans => spans.map(s => s.title)")]


def test_a_person_types_and_watches_a_unit(served, runs):
    with chromium_page() as (page, errors):
        page.goto(f"http://127.0.0.1:{served}/text")
        page.wait_for_function("document.body.dataset.shown !== undefined")
        text = page.input_value("#typed")
        assert text and set(text) <= set('\n "()abcd')          # the sample, in the run's characters
        trace, _, _ = _expected(runs, text)
        first = tc.find_units(trace).ranked_units()[0]
        assert page.input_value("#unit") == str(first)
        assert _values(page, "coloured") == pytest.approx(trace.hidden[:, first], abs=6e-4)   # shown to 3 places
        assert len(_values(page, "gradient")) == len(text)

        page.locator("#typed").press("End")
        page.locator("#typed").type(' "dab"')                   # typed key by key: the page follows
        typed = text + ' "dab"'
        page.wait_for_function(f"document.body.dataset.shown.startsWith('{len(typed)}:')")
        other = tc.find_units(_expected(runs, typed)[0]).ranked_units()[3]
        page.select_option("#unit", str(other))
        page.wait_for_function(f"document.body.dataset.shown === '{len(typed)}:hidden:{other}'")
        trace, _, _ = _expected(runs, typed)
        assert _values(page, "coloured") == pytest.approx(trace.hidden[:, other], abs=6e-4)
        assert page.locator("#unit_name").inner_text() == f"hidden unit {other}"
        assert page.locator("#best tbody tr").count() >= 4

        page.locator("#typed").type("Z")                        # a character the run never saw
        page.wait_for_function("document.getElementById('error').textContent.includes('vocabulary')")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "text-page.png"), full_page=True)
        assert errors == []
