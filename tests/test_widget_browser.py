"""The gradient-flow notebook's visualiser in a real headless Chromium: Voilà runs the notebook at FULL=False
on 127.0.0.1, Playwright moves the weight slider, and the numbers the page shows must be those of
rnnlab.analysis.explore for the same settings.

Needs Debian's `chromium` (apt-get install -y chromium), voila and playwright (the test extra:
pip install -e '.[test,notebooks]'); without them the test is skipped with that message.  The screenshot is kept
in test-artifacts/gradient-widget.png.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rnnlab.analysis import explore

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "gradient-flow-in-rnns-and-lstms.ipynb"
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("RNNLAB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed: `apt-get install -y chromium` (Debian) to run the browser test",
                allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (in the test extra)")
pytest.importorskip("voila", reason="pip install voila (in the test extra: pip install -e '.[test,notebooks]')")
nbformat = pytest.importorskip("nbformat", reason="pip install nbformat (comes with voila and nbclient)")

SETTINGS = {"cell": "rnn", "nonlinearity": "identity", "hidden_size": 16, "length": 10, "bias_scale": 1.0,
            "loss": "last"}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(url, process, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"voila exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise TimeoutError(f"voila did not answer {url} within {seconds} s")


@pytest.fixture
def voila_url(tmp_path):
    """Voilà on 127.0.0.1 serving a copy of the notebook with FULL = False; its own Jupyter dirs; stopped by PID."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params.source = "FULL = False"
    path = tmp_path / "gradient-flow.ipynb"
    nbformat.write(nb, path)
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR",
                 "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR", "MPLCONFIGDIR"):
        env[name] = str(tmp_path / name.lower())
        Path(env[name]).mkdir()
    env.pop("MPLBACKEND", None)
    port = _free_port()
    log = open(tmp_path / "voila.log", "wb")  # noqa: SIM115  (kept open while the server runs)
    process = subprocess.Popen(
        [sys.executable, "-m", "voila", str(path), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1",
         "--Voila.port_retries=0", "--show_tracebacks=True"], cwd=tmp_path, env=env, stdout=log,
        stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(f"{base}/voila/static/voila.js", process)
        yield base + "/"
    finally:
        process.send_signal(signal.SIGTERM)           # its kernel ends with it
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _numbers(locator):
    """The numbers after the colon of a widget's line of text."""
    return [float(v) for v in locator.inner_text().split(":", 1)[1].split()]


def _expect_numbers(widget, weight_scale):
    expected = explore(weight_scale=weight_scale, **SETTINGS)
    eig = f"{expected['eigenvalue']:.4g}"
    sync_api.expect(widget.locator(".t-eigenvalue")).to_have_text(re.compile(rf":\s*{re.escape(eig)}$"),
                                                                  timeout=30_000)
    assert _numbers(widget.locator(".t-eigenvalue")) == pytest.approx([expected["eigenvalue"]], rel=1e-3)
    assert _numbers(widget.locator(".t-grad-norms")) == pytest.approx(expected["grad_norms"], rel=1e-3)
    assert _numbers(widget.locator(".t-h-norms")) == pytest.approx(expected["h_norms"], rel=1e-3)
    return expected


def test_moving_the_weight_slider_shows_the_explore_numbers(voila_url):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(voila_url, timeout=120_000)
            # the explorer: the visualiser with a cell menu (the one above it takes a model of your own)
            widget = page.locator(".t-gradient-visualizer", has=page.locator(".t-cell"))
            sync_api.expect(widget).to_have_count(1, timeout=60_000)
            widget.scroll_into_view_if_needed()
            first = _expect_numbers(widget, 1.0)
            plot = widget.locator(".t-plot")
            first_src = plot.get_attribute("src")

            handle = widget.locator(".t-weight .noUi-handle")
            handle.focus()
            handle.press("ArrowRight")                     # one step: 1.00 -> 1.05
            sync_api.expect(widget.locator(".t-weight .widget-readout")).to_have_text("1.05")
            moved = _expect_numbers(widget, 1.05)
            assert moved["eigenvalue"] == pytest.approx(1.05 * first["eigenvalue"], rel=1e-9)

            readout = widget.locator(".t-weight .widget-readout")
            readout.click()
            readout.press("Control+a")
            readout.type("2.5")
            readout.press("Enter")
            sync_api.expect(readout).to_have_text("2.50")
            exploded = _expect_numbers(widget, 2.5)
            assert exploded["ratio"] > 1 > first["ratio"]          # |lambda| > 1 explodes, < 1 vanishes

            # the picture is sent before the numbers, so it is already the new one
            assert plot.get_attribute("src") != first_src
            plot.evaluate("img => img.decode()")
            assert plot.evaluate("img => img.naturalWidth") > 300
            ARTIFACTS.mkdir(exist_ok=True)
            widget.screenshot(path=str(ARTIFACTS / "gradient-widget.png"))
            assert (ARTIFACTS / "gradient-widget.png").stat().st_size > 10_000
            assert page.get_by_text("Traceback").count() == 0
            assert errors == []
        finally:
            browser.close()
