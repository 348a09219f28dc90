"""Evaluation figures for the multi-label genre classifier.

Every function builds a new ``matplotlib.figure.Figure`` with an Agg canvas and never
touches pyplot, so figures can be made from threads (for example parallel Kedro nodes)
without a display and without closing anything global. Figure sizes grow with the
number of genres or curves, and long legends go outside the axes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from game_genres.metrics import validate_multilabel_inputs

# Legends with more entries than this are drawn to the right of the axes.
MAX_LEGEND_ENTRIES_INSIDE = 8
# Maximum number of skipped genre names listed in a title. Further names are only counted.
MAX_NAMES_IN_TITLE = 6
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINE_STYLES = ("-", "--", ":", "-.")


def _new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    """Create a figure with one axes, an Agg canvas and tight layout applied on every draw."""
    figure = Figure(figsize=(width, height), layout="tight")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    return figure, axes


def _color(index: int) -> Any:
    """Return the ``index``-th color of the 20-color qualitative 'tab20' colormap, cycling."""
    return matplotlib.colormaps["tab20"](index % 20)


def _curve_style(index: int) -> dict[str, Any]:
    """Return color and line style for curve ``index``, changing the style every 20 curves."""
    return {"color": _color(index), "linestyle": LINE_STYLES[(index // 20) % len(LINE_STYLES)]}


def _add_legend(axes: Axes, n_entries: int, inside_location: str, **legend_options: Any) -> None:
    """Add a legend, outside to the right of the axes when it has many entries."""
    if n_entries > MAX_LEGEND_ENTRIES_INSIDE:
        axes.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize="small",
            borderaxespad=0.0,
            **legend_options,
        )
    else:
        axes.legend(loc=inside_location, fontsize="small", **legend_options)


def _legend_width(n_entries: int) -> float:
    """Return the extra figure width in inches for a legend drawn outside the axes."""
    return 4.0 if n_entries > MAX_LEGEND_ENTRIES_INSIDE else 0.0


def _height_for_entries(n_entries: int, minimum: float = 5.0) -> float:
    """Return a figure height in inches that fits ``n_entries`` legend rows or axis labels."""
    return max(minimum, 0.28 * n_entries + 1.5)


def _title_with_skipped(title: str, skipped: Sequence[str], reason: str) -> str:
    """Append a line to ``title`` that names the skipped genres and the reason."""
    if not skipped:
        return title
    names = ", ".join(skipped[:MAX_NAMES_IN_TITLE])
    if len(skipped) > MAX_NAMES_IN_TITLE:
        names += f" and {len(skipped) - MAX_NAMES_IN_TITLE} more"
    note = f"{len(skipped)} skipped ({reason}): {names}"
    return title + "\n" + textwrap.fill(note, width=90)


def _validate_f1_table(f1_table: Any) -> pd.DataFrame:
    """Check that ``f1_table`` is a non-empty numeric DataFrame and return it as float."""
    if not isinstance(f1_table, pd.DataFrame):
        raise ValueError(
            f"f1_table is a {type(f1_table).__name__}, expected a pandas DataFrame indexed "
            "by genre with one F1 column per backbone."
        )
    if f1_table.empty:
        raise ValueError(
            f"f1_table has shape {f1_table.shape}, expected at least one genre and one backbone."
        )
    if not f1_table.index.is_unique:
        duplicates = sorted(set(f1_table.index[f1_table.index.duplicated()]))
        raise ValueError(
            f"f1_table index contains duplicate genres {duplicates!r}, expected each genre once."
        )
    try:
        return f1_table.astype(float)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"f1_table contains non-numeric values ({error}), expected F1 scores as floats."
        ) from error


def plot_f1_by_backbone(f1_table: pd.DataFrame) -> Figure:
    """Draw per-genre F1 as grouped horizontal bars, one bar per backbone.

    Parameters
    ----------
    f1_table : pd.DataFrame, shape (n_genres, n_backbones)
        F1 scores, indexed by genre, one column per backbone. NaN is drawn as a
        zero-width bar, so it stays visible as a gap.

    Returns
    -------
    Figure
        One axes with n_genres * n_backbones bars. Genres are sorted by their mean F1
        over the backbones (ignoring NaN), with the highest mean at the top.
    """
    table = _validate_f1_table(f1_table)
    order = table.mean(axis=1, skipna=True).sort_values(ascending=True, kind="stable").index
    table = table.loc[order]
    n_genres, n_backbones = table.shape

    figure, axes = _new_figure(9.0, max(4.0, n_genres * (0.15 + 0.12 * n_backbones) + 1.5))
    positions = np.arange(n_genres, dtype=float)
    bar_height = 0.8 / n_backbones
    for index, backbone in enumerate(table.columns):
        # The first backbone is drawn at the top of each group, the same order as the legend.
        offset = ((n_backbones - 1) / 2 - index) * bar_height
        widths = table[backbone].to_numpy()
        axes.barh(
            positions + offset,
            np.nan_to_num(widths, nan=0.0),
            height=bar_height,
            color=_color(index),
            label=str(backbone),
        )

    axes.set_yticks(positions, labels=[str(genre) for genre in table.index])
    axes.set_ylim(-0.6, n_genres - 0.4)
    axes.set_xlim(0.0, 1.0)
    axes.set_xlabel("F1")
    axes.set_title("F1 per genre and backbone (sorted by mean F1)")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(
        title="backbone",
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize="small",
        borderaxespad=0.0,
    )
    return figure


def plot_roc_curves(y_true: Any, y_score: Any, genres: Sequence[str], title: str) -> Figure:
    """Draw one ROC curve per genre, with the AUC in the legend and a chance diagonal.

    Genres whose labels are all 0 or all 1 have no ROC curve, so they are skipped and
    named in the title.

    Parameters
    ----------
    y_true : array-like of 0/1, shape (n_samples, n_genres)
    y_score : array-like of float in [0, 1], shape (n_samples, n_genres)
    genres : sequence of str, length n_genres
    title : str

    Returns
    -------
    Figure
        One axes with one line per genre with a defined AUC plus the chance line.
    """
    y_true_array, y_score_array = validate_multilabel_inputs(y_true, y_score, genres)
    genre_list = list(genres)
    defined = [
        column
        for column in range(y_true_array.shape[1])
        if y_true_array[:, column].min() != y_true_array[:, column].max()
    ]
    skipped = [genre for column, genre in enumerate(genre_list) if column not in defined]

    n_entries = len(defined) + 1
    figure, axes = _new_figure(6.5 + _legend_width(n_entries), _height_for_entries(n_entries))
    for index, column in enumerate(defined):
        labels = y_true_array[:, column]
        scores = y_score_array[:, column]
        false_positive_rate, true_positive_rate, _ = roc_curve(labels, scores)
        auc = roc_auc_score(labels, scores)
        axes.plot(
            false_positive_rate,
            true_positive_rate,
            linewidth=1.4,
            label=f"{genre_list[column]} (AUC = {auc:.3f})",
            **_curve_style(index),
        )
    axes.plot([0.0, 1.0], [0.0, 1.0], linestyle="--", color="grey", label="chance (AUC = 0.5)")

    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(0.0, 1.02)
    axes.set_xlabel("False positive rate")
    axes.set_ylabel("True positive rate")
    axes.set_title(_title_with_skipped(title, skipped, "no positive or no negative samples"))
    axes.grid(alpha=0.3)
    _add_legend(axes, n_entries, inside_location="lower right")
    return figure


def plot_precision_recall_curves(
    y_true: Any, y_score: Any, genres: Sequence[str], title: str
) -> Figure:
    """Draw one precision-recall curve per genre, with average precision (AP) in the legend.

    Genres without positive samples have no precision-recall curve, so they are skipped
    and named in the title. One dashed horizontal line marks the mean prevalence of the
    plotted genres, which is the AP of a random classifier averaged over those genres.

    Parameters
    ----------
    y_true : array-like of 0/1, shape (n_samples, n_genres)
    y_score : array-like of float in [0, 1], shape (n_samples, n_genres)
    genres : sequence of str, length n_genres
    title : str

    Returns
    -------
    Figure
        One axes with one line per genre with positives, plus the baseline line when at
        least one genre is plotted.
    """
    y_true_array, y_score_array = validate_multilabel_inputs(y_true, y_score, genres)
    genre_list = list(genres)
    with_positives = [
        column for column in range(y_true_array.shape[1]) if y_true_array[:, column].any()
    ]
    skipped = [genre for column, genre in enumerate(genre_list) if column not in with_positives]

    n_entries = len(with_positives) + (1 if with_positives else 0)
    figure, axes = _new_figure(6.5 + _legend_width(n_entries), _height_for_entries(n_entries))
    for index, column in enumerate(with_positives):
        labels = y_true_array[:, column]
        scores = y_score_array[:, column]
        precision, recall, _ = precision_recall_curve(labels, scores)
        average_precision = average_precision_score(labels, scores)
        axes.plot(
            recall,
            precision,
            drawstyle="steps-post",
            linewidth=1.4,
            label=f"{genre_list[column]} (AP = {average_precision:.3f})",
            **_curve_style(index),
        )

    if with_positives:
        mean_prevalence = float(y_true_array[:, with_positives].mean())
        axes.axhline(
            mean_prevalence,
            linestyle="--",
            color="grey",
            label=f"mean prevalence = {mean_prevalence:.3f} (random classifier)",
        )
        _add_legend(axes, n_entries, inside_location="upper right")

    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(0.0, 1.02)
    axes.set_xlabel("Recall")
    axes.set_ylabel("Precision")
    axes.set_title(_title_with_skipped(title, skipped, "no positive samples"))
    axes.grid(alpha=0.3)
    return figure


def plot_frequency_vs_f1(support: pd.Series, f1_table: pd.DataFrame) -> Figure:
    """Plot each genre's F1 against its number of training positives, one marker per backbone.

    Parameters
    ----------
    support : pd.Series of int
        Training positives per genre, indexed by genre. It must contain every genre of
        ``f1_table`` and may contain more.
    f1_table : pd.DataFrame, shape (n_genres, n_backbones)
        F1 scores, indexed by genre, one column per backbone.

    Returns
    -------
    Figure
        One axes with a logarithmic x axis, one marker-only line per backbone and one
        text label per plotted genre. Genres with support 0 cannot be placed on a
        log axis, so they are left out and named in the title.
    """
    table = _validate_f1_table(f1_table)
    if not isinstance(support, pd.Series):
        raise ValueError(
            f"support is a {type(support).__name__}, expected a pandas Series of training "
            "positives indexed by genre."
        )
    missing = [genre for genre in table.index if genre not in support.index]
    if missing:
        raise ValueError(
            f"support has no count for genres {missing!r}. Pass training positives for every "
            "genre in f1_table."
        )
    counts = pd.to_numeric(support.reindex(table.index), errors="coerce")
    invalid = counts[counts.isna() | (counts < 0)]
    if not invalid.empty:
        raise ValueError(
            f"support has invalid counts {invalid.to_dict()!r}, expected non-negative numbers."
        )

    plotted = counts[counts > 0].index
    skipped = [str(genre) for genre in counts.index if genre not in plotted]
    table = table.loc[plotted]
    counts = counts.loc[plotted]

    n_backbones = table.shape[1]
    figure, axes = _new_figure(7.0 + 0.1 * len(plotted) + _legend_width(n_backbones), 5.5)
    for index, backbone in enumerate(table.columns):
        axes.plot(
            counts.to_numpy(),
            table[backbone].to_numpy(),
            linestyle="none",
            marker=MARKERS[index % len(MARKERS)],
            color=_color(index),
            alpha=0.85,
            label=str(backbone),
        )

    # Each genre is labelled once, next to its best backbone, so labels do not repeat.
    best_f1 = table.max(axis=1, skipna=True)
    for genre in plotted:
        if pd.notna(best_f1[genre]):
            axes.annotate(
                str(genre),
                (counts[genre], best_f1[genre]),
                xytext=(4, 3),
                textcoords="offset points",
                fontsize="x-small",
            )

    axes.set_xscale("log")
    axes.set_ylim(0.0, 1.05)
    axes.set_xlabel("Training positives per genre (log scale)")
    axes.set_ylabel("F1")
    axes.set_title(
        _title_with_skipped("F1 against genre frequency", skipped, "no training positives")
    )
    axes.grid(alpha=0.3, which="both")
    _add_legend(axes, n_backbones, inside_location="lower right", title="backbone")
    return figure


def _as_value_list(values: Sequence[float] | None) -> list[float]:
    """Return per-epoch values as a list of floats, empty when the key is missing."""
    if values is None:
        return []
    return [float(value) for value in values]


def plot_training_curves(
    history: Mapping[str, Mapping[str, Sequence[float]]], metric: str, title: str
) -> Figure:
    """Plot training (solid) and validation (dashed) curves of one metric per configuration.

    Parameters
    ----------
    history : mapping of str to Keras-style history dict
        Configuration name (for example "Adam_1e-04") to a dict from metric name to
        per-epoch values, such as ``{'loss': [...], 'val_loss': [...]}``.
    metric : str
        Training metric name, such as 'loss' or 'roc_auc'. The validation curve is read
        from ``'val_' + metric``.
    title : str

    Returns
    -------
    Figure
        One axes with x = epoch starting at 1, one solid line per configuration that
        contains ``metric`` and one dashed line per configuration that contains
        ``'val_' + metric``. Configurations with neither key (or only empty lists) are
        skipped and named in the title.

    Raises
    ------
    ValueError
        If ``metric`` starts with 'val_', or no configuration contains the metric.
    """
    if not isinstance(history, Mapping):
        raise ValueError(
            f"history is a {type(history).__name__}, expected a dict from configuration name "
            "to a Keras history dict."
        )
    if metric.startswith("val_"):
        raise ValueError(
            f"metric is {metric!r}, expected the training metric name {metric[4:]!r}. "
            "The validation curve is drawn from the 'val_' key automatically."
        )
    validation_metric = f"val_{metric}"

    curves: list[tuple[str, list[float], list[float]]] = []
    skipped: list[str] = []
    for name, metrics in history.items():
        if not isinstance(metrics, Mapping):
            raise ValueError(
                f"history[{name!r}] is a {type(metrics).__name__}, expected a dict from "
                "metric name to per-epoch values."
            )
        train_values = _as_value_list(metrics.get(metric))
        validation_values = _as_value_list(metrics.get(validation_metric))
        if train_values or validation_values:
            curves.append((str(name), train_values, validation_values))
        else:
            skipped.append(str(name))

    if not curves:
        available = sorted({key for metrics in history.values() for key in metrics})
        raise ValueError(
            f"No configuration in history contains {metric!r} or {validation_metric!r}. "
            f"Available metrics: {available!r}."
        )

    n_entries = len(curves) + 2
    figure, axes = _new_figure(7.0 + _legend_width(n_entries), _height_for_entries(n_entries, 4.5))
    for index, (name, train_values, validation_values) in enumerate(curves):
        color = _color(index)
        if train_values:
            epochs = np.arange(1, len(train_values) + 1)
            axes.plot(epochs, train_values, linestyle="-", color=color)
        if validation_values:
            epochs = np.arange(1, len(validation_values) + 1)
            axes.plot(epochs, validation_values, linestyle="--", color=color)

    # The legend uses proxy handles: one color per configuration and one style per split,
    # so it has n_configurations + 2 entries instead of two per configuration.
    handles = [Line2D([], [], color=_color(index)) for index in range(len(curves))]
    labels = [name for name, _, _ in curves]
    handles += [
        Line2D([], [], color="black", linestyle="-"),
        Line2D([], [], color="black", linestyle="--"),
    ]
    labels += ["train", "validation"]
    if n_entries > MAX_LEGEND_ENTRIES_INSIDE:
        axes.legend(
            handles,
            labels,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize="small",
            borderaxespad=0.0,
        )
    else:
        axes.legend(handles, labels, loc="best", fontsize="small")

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("Epoch")
    axes.set_ylabel(metric)
    axes.set_title(_title_with_skipped(title, skipped, f"no {metric!r} recorded"))
    axes.grid(alpha=0.3)
    return figure
