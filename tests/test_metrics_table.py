"""The metrics table (rnnlab.metrics): how each metric prints, ranks and is summed over batches."""
import numpy as np
import pytest


def test_the_metrics_table_prints_and_ranks_as_the_if_chains_did():
    from rnnlab.metrics import HIGHER_IS_BETTER, METRICS, format_metric, get_metric
    assert format_metric("accuracy", 0.98765) == "98.77 %" and format_metric("bit_accuracy", 0.5) == "50.00 %"
    assert format_metric("mse", 0.0123456) == "0.0123" and format_metric("mse", float("nan")) == "-"
    assert format_metric("accuracy", None) == "-" and format_metric("cross_entropy", 1.23456) == "1.2346"
    assert HIGHER_IS_BETTER == {"accuracy": True, "bit_accuracy": True, "mse": False, "bits_per_char": False,
                                "perplexity": False, "word_accuracy": True}
    assert get_metric("mse").best([0.3, 0.1, 0.2]) == 0.1 and get_metric("accuracy").best([0.3, 0.1]) == 0.3
    assert METRICS["bit_accuracy"].whole is not None and METRICS["accuracy"].whole is None
    assert [name for name, row in METRICS.items() if row.percent] == ["accuracy", "bit_accuracy", "word_accuracy"]
    with pytest.raises(ValueError, match=r"metric: unknown value 'f1'; expected one of accuracy, bit_accuracy, mse, "
                                         r"bits_per_char, perplexity, word_accuracy$"):
        get_metric("f1")


def test_a_new_metric_is_one_row(monkeypatch):
    """A row with ``finish`` (here bits per step as 2 ** mean): the trainer's running value and the split's
    value both apply it to the mean, not to each batch."""
    from rnnlab import metrics
    row = metrics.Metric("two_to_mse", metrics.METRICS["mse"].at, higher_is_better=False, digits=3,
                         finish=lambda mean: 2.0 ** mean)
    monkeypatch.setitem(metrics.METRICS, row.name, row)
    out, y = np.array([[0.0], [2.0]]), np.array([[1.0], [1.0]])
    assert metrics.metric_value("two_to_mse", out, y) == 2.0
    total, count = metrics.metric_sums("two_to_mse", out, y)
    assert (total, count) == (2.0, 2.0) and metrics.metric_of_sums("two_to_mse", total, count) == 2.0
    assert metrics.format_metric("two_to_mse", 2.0) == "2.000"
