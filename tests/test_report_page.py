"""The comparison report as a reader sees it, in headless Chromium: what made it (settings, date, rnnlab's
version, the processor), the table, and confusion matrices whose counts read at the page's size.  The
screenshot is kept in test-artifacts/report.png."""
import json

import pytest

from browser import ARTIFACTS, chromium_page
from rnnlab import plots, tasks
from rnnlab.cli import main
from rnnlab.machine import processor
from rnnlab.runs import results_table
from rnnlab.version import version
from stroke_digits import stroke_dataset, stroke_drawer


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """`rnnlab compare rnn gru` on stroke digits (a stand-in for MNIST): its folder and what it printed."""
    root = tmp_path_factory.mktemp("runs")
    patch = pytest.MonkeyPatch()
    patch.setattr(tasks, "load_dataset", lambda *a, **k: stroke_dataset("strokes", 200, 150, stroke_drawer(0)))
    patch.setenv("RNNLAB_FUSED", "0")           # the NumPy engine's reference steps: nothing to compile
    try:
        code = main(["compare", "rnn", "gru", "--task", "mnist-rows", "--opt", "split=official", "--hidden-size",
                     "8", "--epochs", "2", "--batch-size", "50", "--lr", "0.02", "--engine", "numpy", "--quiet",
                     "--runs-dir", str(root), "--name", "cmp"])
    finally:
        patch.undo()
    assert code == 0
    return root / "cmp"


def test_compare_keeps_its_results_and_prints_their_table(compared, capsys):
    record = json.loads((compared / "compare.json").read_text())
    assert [r["label"] for r in record["results"]] == ["rnn", "gru"]
    assert record["rnnlab"] == version and processor() in record["machine"] and record["date"][:2] == "20"
    table = results_table(record)
    assert table.splitlines()[0] == "| model | parameters | test accuracy | training time |"
    summary = json.loads((compared / "gru" / "summary.json").read_text())
    assert f"| gru | {summary['parameters']:,} | {100 * summary['final_test_metric']:.2f} % |" in table


def test_confusion_counts_are_written_large_enough_to_read():
    import numpy as np
    labels = np.arange(1000) % 10
    outputs = np.eye(10)[(labels + (np.arange(1000) % 17 == 0)) % 10]
    fig = plots.confusion({"a": (labels, outputs), "b": (labels, outputs)})
    counts = [t for ax in fig.axes for t in ax.texts]
    assert len(counts) == 2 * 20 and min(t.get_fontsize() for t in counts) >= 10
    assert {t.get_text() for t in counts} >= {"95", "6"}


def test_the_report_page_names_what_made_it(compared):
    with chromium_page({"width": 1400, "height": 900}) as (page, _):
        page.goto((compared / "report.html").as_uri())
        made = page.locator(".made").inner_text()
        assert f"rnnlab {version}" in made and processor() in made and "finished 20" in made
        settings = page.locator("table.settings").nth(0).inner_text()
        assert "hidden_size\t8" in settings and "lr\t0.02" in settings and "engine\tnumpy" in settings
        differ = page.locator("table.settings").nth(1).inner_text()
        assert "cell\trnn\tgru" in differ
        shrink = page.evaluate("""() => {
            const img = [...document.images].find(i => i.src.endsWith('confusion.png'));
            return img.clientWidth / img.naturalWidth; }""")
        assert shrink > 0.9, "the confusion matrices are shown at (nearly) their own size"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
