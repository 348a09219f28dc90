"""Tests for game_genres.plots: figure contents on small data and PNG export."""

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from game_genres.plots import (
    plot_f1_by_backbone,
    plot_frequency_vs_f1,
    plot_precision_recall_curves,
    plot_roc_curves,
    plot_training_curves,
)

GENRES = ["Role-playing (RPG)", "Shoot'em Up", "Music / Dancing", "Pinball"]

# "Pinball" has no positives, so it has neither a ROC nor a precision-recall curve.
Y_TRUE = np.array(
    [
        [1, 0, 1, 0],
        [0, 1, 0, 0],
        [1, 1, 0, 0],
        [0, 0, 1, 0],
        [1, 0, 0, 0],
    ]
)
Y_SCORE = np.array(
    [
        [0.9, 0.45, 0.3, 0.1],
        [0.2, 0.7, 0.6, 0.2],
        [0.8, 0.4, 0.2, 0.3],
        [0.1, 0.3, 0.9, 0.1],
        [0.6, 0.2, 0.5, 0.4],
    ]
)

F1_TABLE = pd.DataFrame(
    {"ResNet50": [0.8, 0.3, 0.5], "EfficientNetB0": [0.6, 0.1, 0.7]},
    index=["Role-playing (RPG)", "Shoot'em Up", "Music / Dancing"],
)

HISTORY = {
    "Adam_1e-04": {
        "loss": [0.9, 0.6, 0.5],
        "val_loss": [1.0, 0.8, 0.7],
        "roc_auc": [0.6, 0.7, 0.8],
    },
    "SGD_1e-02": {"loss": [1.2, 1.0], "val_loss": [1.3, 1.1]},
    "RMSprop_1e-03": {"roc_auc": [0.5, 0.6]},
}


def legend_labels(figure):
    return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]


# --- plot_f1_by_backbone -------------------------------------------------------------


def test_f1_by_backbone_bar_count():
    figure = plot_f1_by_backbone(F1_TABLE)

    assert isinstance(figure, Figure)
    assert len(figure.axes) == 1
    assert len(figure.axes[0].patches) == 3 * 2
    assert len(figure.axes[0].containers) == 2


def test_f1_by_backbone_sorted_by_mean():
    # Mean F1: RPG 0.7, Shoot'em Up 0.2, Music / Dancing 0.6. The y axis runs bottom
    # to top, so the lowest mean comes first.
    figure = plot_f1_by_backbone(F1_TABLE)

    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels == ["Shoot'em Up", "Music / Dancing", "Role-playing (RPG)"]


def test_f1_by_backbone_legend_names():
    figure = plot_f1_by_backbone(F1_TABLE)

    assert legend_labels(figure) == ["ResNet50", "EfficientNetB0"]


def test_f1_by_backbone_rejects_empty():
    with pytest.raises(ValueError, match=r"f1_table has shape \(0, 0\)"):
        plot_f1_by_backbone(pd.DataFrame())


# --- plot_roc_curves -----------------------------------------------------------------


def test_roc_curves_line_count():
    figure = plot_roc_curves(Y_TRUE, Y_SCORE, GENRES, "Validation ROC")

    # 3 genres with a defined AUC plus the chance diagonal.
    assert len(figure.axes) == 1
    assert len(figure.axes[0].lines) == 3 + 1


def test_roc_curves_name_skipped_genre():
    figure = plot_roc_curves(Y_TRUE, Y_SCORE, GENRES, "Validation ROC")

    title = figure.axes[0].get_title()
    assert title.startswith("Validation ROC")
    assert "1 skipped" in title
    assert "Pinball" in title


def test_roc_curves_legend_shows_auc():
    # RPG: positives {0.9, 0.8, 0.6} all score above negatives {0.2, 0.1}, so AUC = 1.
    figure = plot_roc_curves(Y_TRUE, Y_SCORE, GENRES, "Validation ROC")

    labels = legend_labels(figure)
    assert "Role-playing (RPG) (AUC = 1.000)" in labels
    assert "chance (AUC = 0.5)" in labels
    assert not any(label.startswith("Pinball") for label in labels)


def test_roc_curves_long_legend_outside():
    rng = np.random.default_rng(3)
    genres = [f"Genre {index}" for index in range(20)]
    y_true = (rng.random((40, 20)) < 0.4).astype(int)
    y_true[0] = 1
    y_true[1] = 0
    y_score = rng.random((40, 20))

    figure = plot_roc_curves(y_true, y_score, genres, "20 genres")
    figure.canvas.draw()

    axes = figure.axes[0]
    renderer = figure.canvas.get_renderer()
    legend_box = axes.get_legend().get_window_extent(renderer)
    assert legend_box.x0 > axes.get_window_extent(renderer).x1
    assert legend_box.x1 <= figure.bbox.x1


# --- plot_precision_recall_curves ----------------------------------------------------


def test_pr_curves_line_count():
    figure = plot_precision_recall_curves(Y_TRUE, Y_SCORE, GENRES, "Validation PR")

    # 3 genres with positives plus one prevalence baseline.
    assert len(figure.axes) == 1
    assert len(figure.axes[0].lines) == 3 + 1


def test_pr_curves_baseline_prevalence():
    # Prevalence of the 3 plotted genres: 3/5, 2/5, 2/5 -> mean 7/15.
    figure = plot_precision_recall_curves(Y_TRUE, Y_SCORE, GENRES, "Validation PR")

    baseline = figure.axes[0].lines[-1]
    assert baseline.get_linestyle() == "--"
    assert baseline.get_ydata()[0] == pytest.approx(7 / 15)


def test_pr_curves_name_skipped_genre():
    figure = plot_precision_recall_curves(Y_TRUE, Y_SCORE, GENRES, "Validation PR")

    assert "Pinball" in figure.axes[0].get_title()
    assert not any(label.startswith("Pinball") for label in legend_labels(figure))


def test_pr_curves_without_positives():
    figure = plot_precision_recall_curves(
        np.zeros((5, 4), dtype=int), Y_SCORE, GENRES, "No positives"
    )

    assert len(figure.axes[0].lines) == 0
    assert "4 skipped" in figure.axes[0].get_title()


def test_curves_validate_inputs():
    with pytest.raises(ValueError, match=r"genres has 3 names, expected 4"):
        plot_roc_curves(Y_TRUE, Y_SCORE, GENRES[:3], "ROC")
    with pytest.raises(ValueError, match=r"y_score contains NaN"):
        plot_precision_recall_curves(Y_TRUE, np.full((5, 4), np.nan), GENRES, "PR")


# --- plot_frequency_vs_f1 ------------------------------------------------------------


def test_frequency_vs_f1_markers():
    support = pd.Series({"Role-playing (RPG)": 120, "Shoot'em Up": 15, "Music / Dancing": 40})

    figure = plot_frequency_vs_f1(support, F1_TABLE)

    axes = figure.axes[0]
    assert len(figure.axes) == 1
    assert len(axes.lines) == 2
    assert len(axes.texts) == 3
    assert axes.get_xscale() == "log"
    assert list(axes.lines[0].get_xdata()) == [120, 15, 40]


def test_frequency_vs_f1_skips_zero_support():
    support = pd.Series({"Role-playing (RPG)": 120, "Shoot'em Up": 0, "Music / Dancing": 40})

    figure = plot_frequency_vs_f1(support, F1_TABLE)

    axes = figure.axes[0]
    assert len(axes.texts) == 2
    assert len(axes.lines[0].get_xdata()) == 2
    assert "Shoot'em Up" in axes.get_title()


def test_frequency_vs_f1_missing_support():
    support = pd.Series({"Role-playing (RPG)": 120})

    with pytest.raises(ValueError, match=r"support has no count for genres"):
        plot_frequency_vs_f1(support, F1_TABLE)


# --- plot_training_curves ------------------------------------------------------------


def test_training_curves_line_count():
    figure = plot_training_curves(HISTORY, "loss", "Loss per epoch")

    # Adam and SGD have loss and val_loss. RMSprop has no loss and is skipped.
    assert len(figure.axes) == 1
    assert len(figure.axes[0].lines) == 2 * 2


def test_training_curves_skip_missing_metric():
    figure = plot_training_curves(HISTORY, "loss", "Loss per epoch")

    assert "RMSprop_1e-03" in figure.axes[0].get_title()
    assert "RMSprop_1e-03" not in legend_labels(figure)
    assert legend_labels(figure) == ["Adam_1e-04", "SGD_1e-02", "train", "validation"]


def test_training_curves_epochs_and_styles():
    figure = plot_training_curves(HISTORY, "loss", "Loss per epoch")

    train_line, validation_line = figure.axes[0].lines[:2]
    assert list(train_line.get_xdata()) == [1, 2, 3]
    assert list(train_line.get_ydata()) == [0.9, 0.6, 0.5]
    assert train_line.get_linestyle() == "-"
    assert validation_line.get_linestyle() == "--"


def test_training_curves_train_only():
    # roc_auc has no val_roc_auc in HISTORY, so only solid training lines are drawn.
    figure = plot_training_curves(HISTORY, "roc_auc", "ROC AUC per epoch")

    lines = figure.axes[0].lines
    assert len(lines) == 2
    assert all(line.get_linestyle() == "-" for line in lines)
    assert "SGD_1e-02" in figure.axes[0].get_title()


def test_training_curves_unknown_metric():
    with pytest.raises(ValueError, match=r"No configuration in history contains 'accuracy'"):
        plot_training_curves(HISTORY, "accuracy", "Accuracy")


def test_training_curves_reject_val_prefix():
    with pytest.raises(ValueError, match=r"expected the training metric name 'loss'"):
        plot_training_curves(HISTORY, "val_loss", "Loss")


# --- all figures ---------------------------------------------------------------------

FIGURE_BUILDERS = {
    "f1_by_backbone": lambda: plot_f1_by_backbone(F1_TABLE),
    "roc_curves": lambda: plot_roc_curves(Y_TRUE, Y_SCORE, GENRES, "ROC"),
    "precision_recall_curves": lambda: plot_precision_recall_curves(
        Y_TRUE, Y_SCORE, GENRES, "PR"
    ),
    "frequency_vs_f1": lambda: plot_frequency_vs_f1(
        pd.Series({"Role-playing (RPG)": 120, "Shoot'em Up": 15, "Music / Dancing": 40}),
        F1_TABLE,
    ),
    "training_curves": lambda: plot_training_curves(HISTORY, "loss", "Loss"),
}


@pytest.mark.parametrize("name", list(FIGURE_BUILDERS))
def test_figure_saves_png(name, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = FIGURE_BUILDERS[name]()
        path = tmp_path / f"{name}.png"
        figure.savefig(path, dpi=50)

    assert isinstance(figure.canvas, FigureCanvasAgg)
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
