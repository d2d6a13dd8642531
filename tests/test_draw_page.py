"""The draw page of `rnnlab explore`: strokes drawn with the mouse in headless Chromium are read by a trained run
exactly as rnnlab.reading reads the same picture; bad requests get 400.

Needs Debian's `chromium` and playwright for the browser part (skipped without them, as test_explore_browser).
"""
import base64
import http.client
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image, ImageDraw

from browser import ARTIFACTS, chromium_page
from rnnlab import tasks
from rnnlab.config import TrainConfig
from rnnlab.data.mnist import ImageDataset
from rnnlab.explore.draw import MAX_BODY
from rnnlab.reading import read_picture
from rnnlab.train import train_run
from served import serving


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder with one small GRU of an image task and one run recorded as another task (not offered)."""
    rng = np.random.default_rng(0)

    def draw(k):
        image = Image.new("L", (28, 28), 0)
        angle = np.pi * k / 10
        dx, dy = 9 * np.cos(angle), 9 * np.sin(angle)
        cx, cy = 14 + rng.normal(0, 0.5), 14 + rng.normal(0, 0.5)
        ImageDraw.Draw(image).line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=3)
        return np.asarray(image)

    labels = np.arange(200) % 10
    images = np.stack([draw(k) for k in labels]).astype(np.uint8)
    dataset = ImageDataset("strokes", images[:160], labels[:160].astype(np.uint8), images[160:],
                           labels[160:].astype(np.uint8), tuple("0123456789"), "memory")
    root = tmp_path_factory.mktemp("runs")
    patch = pytest.MonkeyPatch()
    patch.setattr(tasks, "load_dataset", lambda *a, **k: dataset)
    quiet = {"progress": False, "echo": lambda line: None}
    train_run(TrainConfig.from_flat({"task": "mnist-rows", "cell": "gru", "hidden_size": 12, "epochs": 1,
                                     "batch_size": 40, "lr": 0.02, "engine": "numpy",
                                     "task_options": {"split": "official"}}),
              root / "digits" / "gru", **quiet)
    patch.undo()
    shutil.copytree(root / "digits" / "gru", root / "adding")          # a run whose task is not an image task
    (root / "adding" / "task.json").write_text(json.dumps({"task": "adding", "length": 5}))
    return root


@pytest.fixture
def server(runs):
    with serving(runs) as httpd:
        yield httpd.server_address[1]


def _post(port, body: bytes, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("POST", "/api/read", body, {"Content-Type": "application/json", **(headers or {})})
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def _png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_only_image_runs_are_offered_and_bad_requests_get_400(server, runs):
    connection = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    connection.request("GET", "/api/runs")
    listed = json.loads(connection.getresponse().read())["runs"]
    assert [row["id"] for row in listed] == ["digits/gru"]
    drawing = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(drawing).line([(60, 10), (60, 110)], fill=0, width=10)
    status, answer = _post(server, json.dumps({"run": "digits/gru", "png": _png(drawing)}).encode())
    assert status == 200 and len(answer["row_probabilities"]) == 28 and set(answer["gates"]) == {
        "reset", "update", "new"}
    jpeg = io.BytesIO()
    drawing.save(jpeg, format="JPEG")
    bad = {
        b"not json": "expected a JSON body",
        json.dumps({"run": "adding", "png": _png(drawing)}).encode(): "'adding' is not one of the runs listed",
        json.dumps({"run": "../digits/gru", "png": _png(drawing)}).encode(): "is not one of the runs listed",
        json.dumps({"run": "digits/gru"}).encode(): "expected exactly the keys run and png",
        json.dumps({"run": "digits/gru", "png": "data:image/png;base64,@@@"}).encode(): "base64 text is damaged",
        json.dumps({"run": "digits/gru", "png": "data:image/png;base64,"
                    + base64.b64encode(jpeg.getvalue()).decode()}).encode(): "expected a PNG picture, got JPEG",
        json.dumps({"run": "digits/gru", "png": _png(Image.new("L", (2000, 10), 255))}).encode(): "more than 1024",
        json.dumps({"run": "digits/gru", "png": _png(Image.new("L", (50, 50), 255))}).encode(): "no digit found",
    }
    for body, message in bad.items():
        status, answer = _post(server, body)
        assert status == 400 and message in answer["error"], (body[:40], answer)
    status, answer = _post(server, b"{}", {"Content-Length": str(MAX_BODY + 1)})
    assert status == 400 and "Content-Length: expected a number of bytes up to" in answer["error"]


def _clear_drops_the_reading(page, box):
    """"clear" empties the pad and what was read from it, and an answer still on its way is not shown."""
    blank = "(id) => document.getElementById(id).getContext('2d').getImageData(0, 0, 20, 20).data.every(v => v === 0)"
    page.click("#clear")
    assert page.locator("#prediction").inner_text() == "?" and page.locator("#maps canvas").count() == 0
    assert page.locator("#row_values").text_content() == "" and page.evaluate(blank, "seen")
    with page.expect_response("**/api/read"):
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.2 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.8 * box["height"], steps=5)
        page.mouse.up()
        page.click("#clear")
    page.wait_for_timeout(300)
    assert page.locator("#prediction").inner_text() == "?" and page.evaluate("document.body.dataset.state") == "cleared"


def test_drawing_with_the_mouse_shows_what_the_python_api_reads(server, runs):
    with chromium_page() as (page, errors):
        page.goto(f"http://127.0.0.1:{server}/draw")
        page.wait_for_function("document.body.dataset.runs === '1'")
        page.evaluate("""window.statuses = []; new MutationObserver(() => window.statuses.push(
            document.getElementById('status').textContent)).observe(document.getElementById('status'),
            {childList: true, characterData: true, subtree: true})""")
        box = page.locator("#pad").bounding_box()
        for stroke in ([(0.3, 0.2), (0.7, 0.2), (0.45, 0.85)], [(0.35, 0.5), (0.65, 0.5)]):   # a 7, crossed
            page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
            page.mouse.up()
        page.wait_for_function("document.body.dataset.read === '2'")   # the answer to the second stroke
        png = page.evaluate("document.getElementById('pad').toDataURL('image/png')")
        picture = Image.open(io.BytesIO(base64.b64decode(png.split(",", 1)[1])))
        expected = read_picture(runs / "digits" / "gru", picture)
        assert int(page.locator("#prediction").inner_text()) == expected.prediction
        shown = [[float(v) for v in line.split()] for line in
                 page.locator("#row_values").text_content().strip().splitlines()]
        assert np.array(shown) == pytest.approx(expected.row_probabilities, abs=6e-5)
        assert page.locator("#maps canvas").count() == 4                 # hidden state + 3 GRU gates
        assert "reading\u2026" in page.evaluate("window.statuses")       # shown while the reading loads
        assert page.locator("#status").inner_text() == ""
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "draw.png"), full_page=True)
        _clear_drops_the_reading(page, box)
        assert errors == []
