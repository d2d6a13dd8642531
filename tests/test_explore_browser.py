"""The explorer page in a real headless Chromium, driven by Playwright.

Needs Debian's `chromium` (apt-get install -y chromium) and the Python package playwright (in the
test extra); without Chromium the test is skipped with that message.  The screenshot is kept in
test-artifacts/explore.png.
"""
import json
from pathlib import Path

import pytest

from browser import ARTIFACTS, CHROMIUM, chromium_page
from rnnlab.analysis import explore
from served import serving

if not Path(CHROMIUM).exists():
    pytest.skip("Chromium is not installed: `apt-get install -y chromium` (Debian) to run the browser test",
                allow_module_level=True)


@pytest.fixture
def page_url():
    with serving() as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"


def _numbers(page, element_id):
    """Every value (in the page's collapsed "every value" section)."""
    return [float(v) for v in page.locator(f"#{element_id}").text_content().split()]


def _axis(page, canvas_id):
    return json.loads(page.locator(f"#{canvas_id}").get_attribute("data-axis"))


def test_sliders_drive_the_plots_with_the_analysis_numbers(page_url):
    with chromium_page() as (page, errors):
        page.goto(page_url)
        page.wait_for_function("document.getElementById('grad_values').textContent.length > 0")
        first = explore(cell="rnn", nonlinearity="tanh", hidden_size=16, length=10, weight_scale=1.0,
                        bias_scale=1.0, loss="last")
        assert float(page.locator("#eigenvalue").inner_text()) == pytest.approx(first["eigenvalue"], rel=1e-5)
        assert _numbers(page, "grad_values") == pytest.approx(first["grad_norms"], rel=1e-5)

        first_axis = _axis(page, "grad_plot")
        assert all(float(k).is_integer() for k in first_axis), "the log axis spans whole decades"
        page.locator("#weight_scale").fill("2.5")        # moves the slider and fires its input event
        page.wait_for_function("document.body.dataset.settings.includes('weight_scale=2.5')")
        held = _axis(page, "grad_plot")
        assert held[0] <= first_axis[0] and held[1] >= first_axis[1], "held while the slider moves: it only grows"
        moved = explore(cell="rnn", nonlinearity="tanh", hidden_size=16, length=10, weight_scale=2.5,
                        bias_scale=1.0, loss="last")
        eigenvalue = float(page.locator("#eigenvalue").inner_text())
        assert eigenvalue == pytest.approx(moved["eigenvalue"], rel=1e-5)
        assert eigenvalue == pytest.approx(2.5 * first["eigenvalue"], rel=1e-5)
        grads = _numbers(page, "grad_values")
        assert grads == pytest.approx(moved["grad_norms"], rel=1e-5)
        assert grads != pytest.approx(first["grad_norms"], rel=1e-3)
        assert page.locator("#weight_scale_value").inner_text() == "2.50"

        page.locator("#weight_scale").fill("1")
        page.wait_for_function("document.body.dataset.settings.includes('weight_scale=1&')")
        assert _axis(page, "grad_plot") == held                 # back where it started: the axes stay
        page.click("#fit")
        page.wait_for_function(f"document.getElementById('grad_plot').dataset.axis === '{json.dumps(first_axis)}'"
                               .replace(" ", ""))
        page.locator("#weight_scale").fill("2.5")
        page.wait_for_function("document.body.dataset.settings.includes('weight_scale=2.5')")
        page.select_option("#cell", "lstm")
        page.wait_for_function("document.body.dataset.settings.includes('cell=lstm')")
        assert "RNN only" in page.locator("#eigenvalue").inner_text()
        assert _numbers(page, "grad_values") == pytest.approx(
            explore(cell="lstm", weight_scale=2.5)["grad_norms"], rel=1e-5)
        page.locator("#length").fill("200")             # a long sequence: a compact table, not 200 numbers
        page.wait_for_function("document.body.dataset.settings.includes('length=200')")
        assert page.locator("#numbers tr").nth(0).locator("th").count() == 12      # its head and 11 steps
        assert len(_numbers(page, "grad_values")) == 200
        labels = page.evaluate("document.getElementById('numbers').innerText")
        assert "200" in labels and "1e-0." not in page.content()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "explore.png"), full_page=True)
        assert (ARTIFACTS / "explore.png").stat().st_size > 10_000
        assert errors == []
