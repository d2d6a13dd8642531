"""Figures from results in memory: training curves, confusion matrices, galleries, samples, lengths, and what the
cells of a character-level language model learned (:mod:`rnnlab.text_figures`: ``unit_text``, ``unit_search``,
``gate_saturation``, ``connectivity``).

Every function returns a :class:`matplotlib.figure.Figure` drawn without pyplot, so importing or
calling them never changes matplotlib's backend; in a notebook the figure shows inline when it is
the cell's value (or through ``display(fig)``).  The HTML report of `rnnlab train` draws with the
same functions from a run directory's files.

Conventions, as the course notebooks show their numbers: accuracies in percent, epochs on whole
numbers, the loss of ``mse_onehot`` as the mean squared error over the classes.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .argcheck import check_int, check_text, fail_type, fail_value
from .figure import Figure
from .metrics import METRICS, analyze_confusion, confusion_matrix
from .text_figures import connectivity, gate_saturation, unit_search, unit_text  # noqa: F401 (what the cells learned)
from .trainer import History


def _histories(items: object) -> dict[str, History]:
    """name -> History from a History, a Result, a list of either, or a mapping name -> either."""
    if isinstance(items, Mapping):
        pairs = list(items.items())
    elif isinstance(items, (list, tuple)):
        pairs = [(getattr(i, "name", None) or getattr(i, "label", f"model {k}"), i) for k, i in enumerate(items)]
    else:
        pairs = [(getattr(items, "name", None) or getattr(items, "label", "model"), items)]
    return {name: getattr(item, "history", item) for name, item in pairs}


def _metric_axis(ax, metric: str) -> None:
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if metric in METRICS and METRICS[metric].percent:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.grid(alpha=0.3)


def curves(items: object, title: str | None = None, baseline: float | None = None,
           baseline_label: str = "baseline") -> Figure:
    """The course's 2 x 2 figure: training and test loss, training and test metric per epoch (the
    validation numbers dashed beside the test ones when there are any), one line per model.
    ``baseline``: a value of the metric drawn across both metric panels (a text run's n-gram)."""
    _check_histories(items)
    check_text("title", title, "text", optional=True)
    check_text("baseline_label", baseline_label, "text")
    if baseline is not None and (isinstance(baseline, bool) or not isinstance(baseline, (int, float))):
        raise fail_type("baseline", baseline, "a number (a value of the metric) or None")
    histories = _histories(items)
    metric = next(iter(histories.values())).metric
    fig = Figure(figsize=(11, 7.5))
    axes = fig.subplots(2, 2)
    panels = [("train_loss", None, "training loss"), ("test_loss", "val_loss", "test loss"),
              ("train_metric", None, f"training {metric}"), ("test_metric", "val_metric", f"test {metric}")]
    for ax, (column, val_column, heading) in zip(axes.ravel(), panels):
        for name, history in histories.items():
            line, = ax.plot(history.column("epoch"), history.column(column), marker="o", label=name)
            val = history.column(val_column) if val_column else []
            if any(v is not None for v in val):
                ax.plot(history.column("epoch"), val, ls="--", color=line.get_color(), label=f"{name} (validation)")
        if baseline is not None and "metric" in column:
            ax.axhline(baseline, color="grey", ls=":", label=baseline_label)
        ax.set_title(heading)
        ax.set_xlabel("epoch")
        _metric_axis(ax, metric if "metric" in column else "")
    axes[0, 0].legend()
    axes[0, 1].legend(fontsize=7)
    if baseline is not None:
        axes[1, 1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def iteration_loss(items: object, smooth: int = 1) -> Figure:
    """The training loss of every optimizer step (averaged over ``smooth`` steps) and the validation
    loss at the end of each epoch, against the step."""
    _check_histories(items)
    check_int("smooth", smooth, 1)
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    for name, history in _histories(items).items():
        losses = np.asarray(history.iteration_loss, dtype=float)
        if smooth > 1 and len(losses) >= smooth:
            losses = np.convolve(losses, np.ones(smooth) / smooth, mode="valid")
        line, = ax.plot(np.arange(1, len(losses) + 1) + (smooth - 1), losses, lw=1, label=f"{name}: training")
        steps_per_epoch = len(history.iteration_loss) / max(len(history.epochs), 1)
        val = [(e.epoch * steps_per_epoch, e.val_loss) for e in history.epochs if e.val_loss is not None]
        if val:
            ax.plot(*zip(*val), marker="o", color=line.get_color(), ls="--", label=f"{name}: validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confusion(items: object) -> Figure:
    """One confusion matrix per model, its counts written in the cells (zeros left blank) in a size that
    reads at the figure's own size; a Result, a list or a mapping of them, or a mapping name -> (labels, outputs).

    The colour is each count's share of its true class on a square-root scale, so a confusion of a few
    per cent stands out beside a diagonal of thousands."""
    from matplotlib.colors import PowerNorm
    _check_pairs(items)
    pairs = _prediction_pairs(items)
    fig = Figure(figsize=(4.8 * len(pairs), 5.0))
    axes = fig.subplots(1, len(pairs), squeeze=False)
    for ax, (name, (labels, outputs)) in zip(axes[0], pairs.items()):
        classes = outputs.shape[-1]
        counts = confusion_matrix(labels, outputs.argmax(-1), classes)
        share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        ax.imshow(share, cmap="Blues", norm=PowerNorm(0.5, vmin=0.0, vmax=1.0))
        size = 10 if classes <= 10 else 7 if classes <= 20 else 5
        for i in range(classes):
            for j in range(classes):
                if counts[i, j]:
                    ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=size,
                            color="white" if share[i, j] > 0.45 else "black")
        best = analyze_confusion(counts)
        ax.set_title(f"{name}\nbest class {best['best']}, worst {best['worst']}", fontsize=11)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        ax.set_xticks(range(classes))
        ax.set_yticks(range(classes))
        ax.tick_params(length=0)
    fig.tight_layout()
    return fig


def _prediction_pairs(items: object) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if isinstance(items, Mapping):
        pairs = dict(items)
    elif isinstance(items, (list, tuple)):
        pairs = {item.name: item for item in items}
    else:
        pairs = {items.name: items}
    return {name: (v if isinstance(v, tuple) else (v.data.test.y, v.test_outputs)) for name, v in pairs.items()}


def gallery(images: np.ndarray | Sequence[np.ndarray], titles: Sequence[str] | None = None, columns: int = 8,
            colors: Sequence[str] | None = None) -> Figure:
    """Pictures in a grid with a title under each (digits: 28 x 28 arrays, or sequences of 28 rows)."""
    _check_gallery(images, titles, columns, colors)
    images = [np.asarray(i).reshape(28, -1) if np.asarray(i).size == 784 else np.asarray(i) for i in images]
    if not images:
        fig = Figure(figsize=(4, 0.8))
        fig.text(0.5, 0.5, "no pictures to show", ha="center", va="center")
        return fig
    columns = max(1, min(columns, len(images)))
    rows = (len(images) + columns - 1) // columns
    fig = Figure(figsize=(1.5 * columns, 1.8 * rows))
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, (ax, image) in enumerate(zip(axes.ravel(), images)):
        ax.imshow(image, cmap="gray_r" if image.mean() < 0.5 else "gray")
        if titles is not None:
            ax.set_title(titles[k], fontsize=8, color=(colors[k] if colors else "black"))
    fig.tight_layout()
    return fig


def predictions(result: object, count: int = 16, start: int = 0) -> Figure:
    """Test pictures with the predicted and the true class (mistakes in red)."""
    _check_picture_result(result)
    check_int("count", count, 1)
    check_int("start", start, 0)
    index = np.arange(start, min(start + count, len(result.data.test.y)))
    return _labelled(result, index)


def mistakes(result: object, count: int = 16) -> Figure:
    """The first ``count`` test pictures the model got wrong, with what it read and what they are."""
    _check_picture_result(result)
    check_int("count", count, 1)
    wrong = np.flatnonzero(result.predicted_classes() != result.data.test.y)[:count]
    return _labelled(result, wrong)


def _labelled(result: object, index: np.ndarray) -> Figure:
    predicted, true = result.predicted_classes()[index], result.data.test.y[index]
    titles = [f"read {p}, is {t}" for p, t in zip(predicted, true)]
    colors = ["black" if p == t else "red" for p, t in zip(predicted, true)]
    return gallery(_pictures(result, index), titles, colors=colors)


def _pictures(result: object, index: np.ndarray) -> np.ndarray:
    """Test sequences as 28 x 28 pictures (the pixel permutation undone when there is one)."""
    x = result.data.test.x[index].reshape(len(index), -1)
    permutation = result.data.info.get("permutation")
    if permutation is not None:
        restored = np.empty_like(x)
        restored[:, np.asarray(permutation)] = x
        x = restored
    return x.reshape(len(index), 28, 28)


def samples(items: object, count: int = 3) -> Figure:
    """Regression and memory tasks: target and output of a few test sequences (every-step tasks),
    or outputs against targets (last-step tasks)."""
    _check_pairs(items)
    check_int("count", count, 1)
    pairs = _prediction_pairs(items)
    fig = Figure(figsize=(4.6 * len(pairs), 3.6))
    axes = fig.subplots(1, len(pairs), squeeze=False)
    for ax, (name, (y, out)) in zip(axes[0], pairs.items()):
        if y.ndim == 3:
            for k in range(min(count, len(y))):
                line, = ax.plot(y[k, :, 0], label=f"target {k}")
                ax.plot(out[k, :, 0], "--", color=line.get_color(), label=f"output {k}")
            ax.set_xlabel("step")
            ax.legend(fontsize=7)
        else:
            ax.scatter(y[:, 0], out[:, 0], s=6)
            low, high = float(min(y.min(), out.min())), float(max(y.max(), out.max()))
            ax.plot([low, high], [low, high], color="grey", lw=1)
            ax.set_xlabel("target")
            ax.set_ylabel("prediction")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def lengths(items: object, trained_bits: int | None = None) -> Figure:
    """Binary addition: bit accuracy (and whole sums right, dashed) against the length of the numbers;
    a Result, a list or mapping of them, or a mapping name -> {"bits=k": accuracy}."""
    _check_lengths(items, trained_bits)
    named = items if isinstance(items, Mapping) else _prediction_names(items)
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for name, item in named.items():
        extra = item if isinstance(item, Mapping) else item.extra_tests
        bits = [int(k.split("=")[1]) for k in extra]
        line, = ax.plot(bits, list(extra.values()), marker="o", label=f"{name}: bits right")
        whole = {} if isinstance(item, Mapping) else item.extra_whole
        if whole:
            ax.plot(bits, [whole[k] for k in extra], ls="--", color=line.get_color(), label=f"{name}: sums right")
        if trained_bits is None and not isinstance(item, Mapping):
            trained_bits = item.data.info.get("bits")
    if trained_bits:
        ax.axvline(trained_bits, color="grey", ls=":", label="trained at")
    ax.set_xlabel("bits per number")
    ax.set_ylabel("accuracy")
    _metric_axis(ax, "accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _prediction_names(items: object) -> dict:
    return {item.name: item for item in items} if isinstance(items, (list, tuple)) else {items.name: items}


def prediction_gallery(results: Sequence[Mapping]) -> Figure:
    """``rnnlab predict``'s pictures: each prepared 28 x 28 image with its prediction, confidence and file name."""
    titles = [f"{r['predicted']} ({100 * max(r['probabilities']):.0f} %)\n{r['file'][:14]}" for r in results]
    return gallery([r["image"] for r in results], titles, columns=10)


def labelled_summary(results: Sequence[Mapping], score: Mapping, count: int = 40) -> Figure:
    """``rnnlab predict --labels``: the confusion matrix, the accuracy per class and the first ``count``
    mistakes with their prepared 28 x 28 images (what the network read), 'read p, is t'."""
    wrong = score["mistakes"][:count]
    columns = 10
    rows = (len(wrong) + columns - 1) // columns
    fig = Figure(figsize=(13, 4.6 + 1.45 * rows))
    grid = fig.add_gridspec(1 + rows, columns, height_ratios=[4.6] + [1.45] * rows)
    counts = score["confusion"]
    ax = fig.add_subplot(grid[0, :4])
    ax.imshow(counts, cmap="Blues")
    for i, j in zip(*np.nonzero(counts)):
        ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,
                color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set(xlabel="predicted", ylabel="true", xticks=range(len(counts)), yticks=range(len(counts)),
           title=f"{score['count']} pictures: {100 * score['accuracy']:.1f} % read correctly")
    bars = fig.add_subplot(grid[0, 5:])
    per_class = [np.nan if v is None else 100 * v for v in score["per_class"]]
    bars.bar(range(len(per_class)), per_class, color="tab:blue")
    bars.set(xticks=range(len(per_class)), ylim=(0, 100), xlabel="true digit", ylabel="read correctly (%)",
             title=f"per class; mistakes below ({len(score['mistakes'])}, the first {len(wrong)} shown)")
    for k, index in enumerate(wrong):
        cell = fig.add_subplot(grid[1 + k // columns, k % columns])
        cell.imshow(results[index]["image"], cmap="gray", vmin=0, vmax=1)
        cell.set_title(f"read {results[index]['predicted']}, is {results[index]['label']}\n"
                       f"{results[index]['file'][:14]}", fontsize=7, color="red")
        cell.axis("off")
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------ argument checks
# Each public function above checks its arguments first, so a wrong one is a TypeError or ValueError naming it
# (what was given, what is expected) before anything is drawn, never an AttributeError from inside matplotlib.
RESULTS = "a lab Result or History, a list of them, or a mapping name -> one of them"
PAIRS = "a lab Result, a list of them, or a mapping name -> Result or (labels, outputs)"


def _is_result(item: object) -> bool:
    """A lab Result, by what the figures read from it (views do not import the notebook API)."""
    return all(hasattr(item, name) for name in ("history", "data", "test_outputs", "name"))


def _listed(items: object, expected: str) -> list:
    """The things ``items`` holds (a mapping's values, a list's items, or itself), at least one."""
    listed = list(items.values()) if isinstance(items, Mapping) else \
        list(items) if isinstance(items, (list, tuple)) else [items]
    if not listed:
        raise fail_value("items", items, expected + " (at least one)")
    return listed


def _check_histories(items: object) -> None:
    for item in _listed(items, RESULTS):
        if not isinstance(getattr(item, "history", item), History):
            raise fail_type("items", items, RESULTS, f"{given_name(item)} holds no training history")


def _check_pairs(items: object) -> None:
    for item in _listed(items, PAIRS):
        if isinstance(items, Mapping) and isinstance(item, tuple) and len(item) == 2:
            labels, outputs = np.asarray(item[0]), np.asarray(item[1])
            if outputs.ndim < 2 or len(labels) != len(outputs):
                raise fail_value("items", items, "labels (N,) and outputs (N, classes) of the same N")
        elif not _is_result(item):
            raise fail_type("items", items, PAIRS, f"{given_name(item)} is neither")


def _check_lengths(items: object, trained_bits: object) -> None:
    expected = "a binary-add Result, a list or mapping of them, or a mapping name -> {'bits=k': accuracy}"
    for item in _listed(items, expected):
        if not isinstance(item, Mapping) and not (_is_result(item) and hasattr(item, "extra_tests")):
            raise fail_type("items", items, expected, f"{given_name(item)} is neither")
    if trained_bits is not None:
        check_int("trained_bits", trained_bits, 1)


def _check_gallery(images: object, titles: object, columns: object, colors: object) -> None:
    if isinstance(images, (str, bytes)) or not isinstance(images, (np.ndarray, Sequence)):
        raise fail_type("images", images, "a list (or array) of pictures, each a 2-D array such as 28 x 28")
    check_int("columns", columns, 1)
    for name, labels in (("titles", titles), ("colors", colors)):
        if labels is not None and (isinstance(labels, str) or not isinstance(labels, Sequence)
                                   or len(labels) < len(images)):
            raise fail_value(name, labels, f"a list of {len(images)} texts, one per picture, or None")


def _check_picture_result(result: object) -> None:
    """``result`` is a lab Result of an image task (its test sequences are 784 numbers each)."""
    if not _is_result(result):
        raise fail_type("result", result, "the Result of lab.train(...) on an image task")
    if np.asarray(result.data.test.x[:1]).size != 784:
        raise fail_value("result", result, "a Result of an image task (28 x 28 pictures)",
                         f"its task {getattr(result.task, 'name', '?')} has no pictures")


def given_name(item: object) -> str:
    """An item of a list or mapping, named for a message: its type and the start of its repr()."""
    return f"{type(item).__name__} {repr(item)[:40]!s}"


def eigenvalue_plane(eigenvalues: Mapping[str, object], title: str = "Eigenvalues of the recurrence") -> Figure:
    """Each model's recurrence eigenvalues on the complex plane, with the unit circle: inside it a component
    shrinks at every step (and its gradient vanishes over many), on it it is kept.  ``eigenvalues``: name ->
    complex numbers (``GradientFlow.eigenvalues``: the LRU's lambda, the linear recurrences' a_t, eig(W_hh))."""
    if not isinstance(eigenvalues, Mapping) or not eigenvalues:
        fail_type("eigenvalues", "a non-empty mapping of model names to complex numbers", eigenvalues)
    fig = Figure(figsize=(5.5, 5.2))
    ax = fig.subplots()
    angle = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(angle), np.sin(angle), color="grey", lw=1, label="|lambda| = 1")
    for k, (name, values) in enumerate(eigenvalues.items()):
        z = np.asarray(values, complex).ravel()
        ax.plot(z.real, z.imag, "o", ms=4, alpha=0.75, color=f"C{k}",
                label=f"{name} (max |lambda| {np.abs(z).max():.4f})" if z.size else name)
    ax.set_aspect("equal")
    ax.set_xlim(-1.15, 1.15)
    ax.set_ylim(-1.15, 1.15)
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("Re lambda")
    ax.set_ylabel("Im lambda")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower left")
    return fig
