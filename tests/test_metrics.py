"""Tests for game_genres.metrics against values computed by hand on tiny arrays."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from game_genres.metrics import (
    STATUS_NO_POSITIVES,
    STATUS_TUNED,
    evaluate_multilabel,
    macro_roc_auc,
    roc_auc_per_genre,
    tune_thresholds,
)

GENRES = ["Role-playing (RPG)", "Shoot'em Up", "Music / Dancing"]

# 4 samples x 3 genres. At threshold 0.5 the predictions are:
#   sample 0: true [1, 0, 1], predicted [1, 0, 0]
#   sample 1: true [0, 1, 0], predicted [0, 1, 1]
#   sample 2: true [1, 1, 0], predicted [1, 0, 0]
#   sample 3: true [0, 0, 1], predicted [0, 0, 1]
Y_TRUE = np.array(
    [
        [1, 0, 1],
        [0, 1, 0],
        [1, 1, 0],
        [0, 0, 1],
    ]
)
Y_SCORE = np.array(
    [
        [0.9, 0.45, 0.3],
        [0.2, 0.7, 0.6],
        [0.8, 0.4, 0.2],
        [0.1, 0.3, 0.9],
    ]
)


def one_genre(labels, scores):
    """Return (y_true, y_score) of shape (n_samples, 1) for a single genre."""
    return np.array(labels).reshape(-1, 1), np.array(scores, dtype=float).reshape(-1, 1)


def assert_json_leaves_are_plain(value, path="result"):
    """Fail unless every leaf is str, int, finite float, bool or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str), f"{path} has non-str key {key!r}"
            assert_json_leaves_are_plain(item, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert_json_leaves_are_plain(item, f"{path}[{index}]")
    else:
        assert type(value) in (str, int, float, bool, type(None)), f"{path} is {type(value)}"
        if isinstance(value, float):
            assert math.isfinite(value), f"{path} is {value}"


# --- tune_thresholds -----------------------------------------------------------------


def test_tune_thresholds_maximises_f1():
    # labels [1, 0, 1, 0], scores [0.9, 0.8, 0.3, 0.2], 2 positives.
    # F1 = 2 TP / (positives + predicted positives):
    #   t=0.9: TP 1, predicted 1 -> 2/3
    #   t=0.8: TP 1, predicted 2 -> 2/4 = 0.5 (t=0.5 predicts the same samples)
    #   t=0.3: TP 2, predicted 3 -> 4/5 = 0.8   <- maximum
    #   t=0.2: TP 2, predicted 4 -> 4/6
    # The threshold moves halfway to the next lower score: (0.3 + 0.2) / 2 = 0.25.
    y_true, y_score = one_genre([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.2])

    row = tune_thresholds(y_true, y_score, ["Action"]).loc["Action"]

    assert row["threshold"] == pytest.approx(0.25)
    assert row["f1"] == pytest.approx(0.8)
    assert row["f1_at_default"] == pytest.approx(0.5)
    assert row["positives"] == 2
    assert row["status"] == STATUS_TUNED


def test_tune_thresholds_tie_takes_highest():
    # labels [1, 0, 0, 1], scores [0.9, 0.7, 0.6, 0.2], 2 positives:
    #   t=0.9: TP 1, predicted 1 -> 2/3   <- tied maximum, highest threshold
    #   t=0.7: TP 1, predicted 2 -> 2/4
    #   t=0.6: TP 1, predicted 3 -> 2/5 = 0.4 (t=0.5 predicts the same samples)
    #   t=0.2: TP 2, predicted 4 -> 4/6 = 2/3   <- tied maximum
    # 0.9 wins the tie, then moves halfway to the next lower score: (0.9 + 0.7) / 2 = 0.8.
    y_true, y_score = one_genre([1, 0, 0, 1], [0.9, 0.7, 0.6, 0.2])

    row = tune_thresholds(y_true, y_score, ["Puzzle"]).loc["Puzzle"]

    assert row["threshold"] == pytest.approx(0.8)
    assert row["f1"] == pytest.approx(2 / 3)
    assert row["f1_at_default"] == pytest.approx(0.4)


def test_tune_thresholds_no_positives_default():
    # No positives: F1 is 0 at every threshold, so the default is kept.
    y_true, y_score = one_genre([0, 0, 0, 0], [0.9, 0.6, 0.3, 0.1])

    row = tune_thresholds(y_true, y_score, ["Pinball"], default=0.4).loc["Pinball"]

    assert row["threshold"] == 0.4
    assert row["f1"] == 0.0
    assert row["f1_at_default"] == 0.0
    assert row["positives"] == 0
    assert row["status"] == STATUS_NO_POSITIVES


def test_tune_thresholds_all_positives():
    # 4 positives, scores [0.9, 0.8, 0.3, 0.2]. Only t <= 0.2 predicts all 4:
    # F1 = 2*4 / (4 + 4) = 1. At t=0.5: TP 2, predicted 2 -> 2*2 / (4 + 2) = 2/3.
    # No score lies below 0.2, so the threshold stays there.
    y_true, y_score = one_genre([1, 1, 1, 1], [0.9, 0.8, 0.3, 0.2])

    row = tune_thresholds(y_true, y_score, ["Adventure"]).loc["Adventure"]

    assert row["threshold"] == 0.2
    assert row["f1"] == pytest.approx(1.0)
    assert row["f1_at_default"] == pytest.approx(2 / 3)
    assert row["status"] == STATUS_TUNED


def test_tune_thresholds_constant_below_default():
    # Constant score 0.3, labels [1, 0, 1, 0]. Candidates 0.3 and 0.5:
    #   t=0.3: TP 2, predicted 4 -> 4/6 = 2/3   <- maximum
    #   t=0.5: predicted 0 -> F1 0
    y_true, y_score = one_genre([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3])

    row = tune_thresholds(y_true, y_score, ["Racing"]).loc["Racing"]

    assert row["threshold"] == 0.3
    assert row["f1"] == pytest.approx(2 / 3)
    assert row["f1_at_default"] == 0.0


def test_tune_thresholds_constant_above_default():
    # Constant score 0.7, labels [1, 0, 1, 0]. Candidates 0.5 and 0.7 both predict all
    # 4 samples: F1 = 4/6 = 2/3 at both, so the tie goes to the higher 0.7.
    y_true, y_score = one_genre([1, 0, 1, 0], [0.7, 0.7, 0.7, 0.7])

    row = tune_thresholds(y_true, y_score, ["Racing"]).loc["Racing"]

    assert row["threshold"] == 0.7
    assert row["f1"] == pytest.approx(2 / 3)
    assert row["f1_at_default"] == pytest.approx(2 / 3)


def test_tune_thresholds_matches_sklearn_f1():
    rng = np.random.default_rng(7)
    y_true = (rng.random((60, 4)) < 0.3).astype(int)
    y_score = np.round(rng.random((60, 4)), 2)
    genres = ["Action", "Sport", "Strategy", "Indie"]

    table = tune_thresholds(y_true, y_score, genres)

    for column, genre in enumerate(genres):
        labels = y_true[:, column]
        scores = y_score[:, column]
        threshold = table.loc[genre, "threshold"]
        best = max(
            f1_score(labels, scores >= candidate, zero_division=0)
            for candidate in np.unique(scores)
        )
        at_threshold = f1_score(labels, scores >= threshold, zero_division=0)
        at_default = f1_score(labels, scores >= 0.5, zero_division=0)
        assert table.loc[genre, "f1"] == pytest.approx(best), genre
        assert table.loc[genre, "f1"] == pytest.approx(at_threshold), genre
        assert table.loc[genre, "f1_at_default"] == pytest.approx(at_default), genre


def test_tune_thresholds_table_layout():
    table = tune_thresholds(Y_TRUE, Y_SCORE, GENRES)

    assert list(table.index) == GENRES
    assert table.index.name == "genre"
    assert list(table.columns) == ["threshold", "f1", "f1_at_default", "positives", "status"]
    assert table["positives"].dtype == np.int64


def test_tune_thresholds_rejects_invalid_default():
    with pytest.raises(ValueError, match=r"default is 1\.5, expected a number in \[0, 1\]"):
        tune_thresholds(Y_TRUE, Y_SCORE, GENRES, default=1.5)


# --- ROC AUC -------------------------------------------------------------------------


def test_roc_auc_per_genre_values():
    # AUC = share of (positive, negative) pairs where the positive scores higher.
    #   RPG:     positives {0.9, 0.8} vs negatives {0.2, 0.1}: 4/4 = 1.0
    #   Shoot:   positives {0.7, 0.4} vs negatives {0.45, 0.3}: 0.4 < 0.45, so 3/4
    #   Music:   positives {0.3, 0.9} vs negatives {0.6, 0.2}: 0.3 < 0.6, so 3/4
    auc = roc_auc_per_genre(Y_TRUE, Y_SCORE, GENRES)

    assert list(auc.index) == GENRES
    assert auc["Role-playing (RPG)"] == pytest.approx(1.0)
    assert auc["Shoot'em Up"] == pytest.approx(0.75)
    assert auc["Music / Dancing"] == pytest.approx(0.75)


def test_roc_auc_constant_labels_nan():
    y_true = np.column_stack([Y_TRUE[:, 0], [0, 0, 0, 0], [1, 1, 1, 1]])
    genres = ["Action", "Pinball", "Adventure"]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auc = roc_auc_per_genre(y_true, Y_SCORE, genres)

    assert auc["Action"] == pytest.approx(1.0)
    assert math.isnan(auc["Pinball"])
    assert math.isnan(auc["Adventure"])


def test_roc_auc_constant_scores_half():
    # Every (positive, negative) pair is a tie, which counts 1/2.
    y_true, y_score = one_genre([1, 0, 1, 0], [0.3, 0.3, 0.3, 0.3])

    auc = roc_auc_per_genre(y_true, y_score, ["Racing"])

    assert auc["Racing"] == pytest.approx(0.5)


def test_macro_roc_auc_skips_undefined():
    # Defined genres: (1.0 + 0.75 + 0.75) / 3 = 5/6. The all-zero column is left out.
    y_true = np.column_stack([Y_TRUE, [0, 0, 0, 0]])
    y_score = np.column_stack([Y_SCORE, [0.1, 0.2, 0.3, 0.4]])

    assert macro_roc_auc(y_true, y_score) == pytest.approx(5 / 6)


def test_macro_roc_auc_all_undefined():
    y_true = np.zeros((4, 2), dtype=int)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = macro_roc_auc(y_true, Y_SCORE[:, :2])

    assert math.isnan(result)


# --- evaluate_multilabel -------------------------------------------------------------


def test_evaluate_per_genre_scores():
    # Per genre at threshold 0.5 (see Y_TRUE / Y_SCORE):
    #   RPG:   true [1,0,1,0], predicted [1,0,1,0]: TP 2, FP 0, FN 0 -> P 1, R 1, F1 1
    #   Shoot: true [0,1,1,0], predicted [0,1,0,0]: TP 1, FP 0, FN 1 -> P 1, R 1/2, F1 2/3
    #   Music: true [1,0,0,1], predicted [0,1,0,1]: TP 1, FP 1, FN 1 -> P 1/2, R 1/2, F1 1/2
    report = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, 0.5)["classification_report"]

    assert report["Role-playing (RPG)"]["f1-score"] == pytest.approx(1.0)
    assert report["Shoot'em Up"]["f1-score"] == pytest.approx(2 / 3)
    assert report["Shoot'em Up"]["precision"] == pytest.approx(1.0)
    assert report["Shoot'em Up"]["recall"] == pytest.approx(0.5)
    assert report["Music / Dancing"]["f1-score"] == pytest.approx(0.5)
    assert report["Music / Dancing"]["support"] == 2


def test_evaluate_report_rows():
    report = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, 0.5)["classification_report"]

    expected_rows = GENRES + ["micro avg", "macro avg", "weighted avg", "samples avg"]
    assert list(report) == expected_rows


def test_evaluate_averaged_f1():
    # macro F1    = (1 + 2/3 + 1/2) / 3 = 13/18
    # micro F1    = 2 TP / (2 TP + FP + FN) with TP 4, FP 1, FN 2 = 8/11
    # weighted F1 = macro F1 here, because every genre has support 2
    # samples F1  = mean over samples of 2 TP / (|true| + |predicted|)
    #             = (2/3 + 2/3 + 2/3 + 1) / 4 = 3/4
    result = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, 0.5)

    assert result["macro_f1"] == pytest.approx(13 / 18)
    assert result["micro_f1"] == pytest.approx(8 / 11)
    assert result["weighted_f1"] == pytest.approx(13 / 18)
    assert result["samples_f1"] == pytest.approx(0.75)
    assert result["classification_report"]["macro avg"]["f1-score"] == pytest.approx(13 / 18)
    assert result["classification_report"]["micro avg"]["f1-score"] == pytest.approx(8 / 11)


def test_evaluate_precision_recall_accuracy():
    # macro precision = (1 + 1 + 1/2) / 3 = 5/6, macro recall = (1 + 1/2 + 1/2) / 3 = 2/3
    # subset accuracy: only sample 3 matches exactly -> 1/4
    # Hamming loss: 1 + 1 + 1 + 0 wrong cells out of 12 -> 1/4
    # predicted positive rate: 5 predicted cells out of 12; label cardinality: 6 / 4 = 1.5
    result = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, 0.5)

    assert result["macro_precision"] == pytest.approx(5 / 6)
    assert result["macro_recall"] == pytest.approx(2 / 3)
    assert result["subset_accuracy"] == pytest.approx(0.25)
    assert result["hamming_loss"] == pytest.approx(0.25)
    assert result["n_samples"] == 4
    assert result["predicted_positive_rate"] == pytest.approx(5 / 12)
    assert result["label_cardinality"] == pytest.approx(1.5)


def test_evaluate_roc_auc_section():
    # macro = (1 + 3/4 + 3/4) / 3 = 5/6.
    # micro pools all 12 cells: 6 positives vs 6 negatives = 36 pairs. Negatives below
    # each positive: 0.9 -> 6, 0.8 -> 6, 0.7 -> 6, 0.4 -> 4, 0.3 -> 3 + 1/2 (tie with
    # 0.3), 0.9 -> 6. Total 31.5 / 36 = 0.875.
    roc_auc = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, 0.5)["roc_auc"]

    assert roc_auc["per_genre"]["Role-playing (RPG)"] == pytest.approx(1.0)
    assert roc_auc["per_genre"]["Shoot'em Up"] == pytest.approx(0.75)
    assert roc_auc["macro"] == pytest.approx(5 / 6)
    assert roc_auc["micro"] == pytest.approx(0.875)
    assert roc_auc["undefined_genres"] == []


def test_evaluate_undefined_genre_auc():
    y_true = np.column_stack([Y_TRUE, [0, 0, 0, 0], [1, 1, 1, 1]])
    y_score = np.column_stack([Y_SCORE, [0.1, 0.6, 0.3, 0.2], [0.9, 0.8, 0.2, 0.6]])
    genres = GENRES + ["Pinball", "Adventure"]

    result = evaluate_multilabel(y_true, y_score, genres, 0.5)

    assert result["roc_auc"]["per_genre"]["Pinball"] is None
    assert result["roc_auc"]["per_genre"]["Adventure"] is None
    assert result["roc_auc"]["undefined_genres"] == ["Pinball", "Adventure"]
    assert result["roc_auc"]["macro"] == pytest.approx(5 / 6)
    assert result["classification_report"]["Pinball"]["support"] == 0
    assert result["classification_report"]["Pinball"]["f1-score"] == 0.0


def test_evaluate_micro_auc_constant_labels():
    y_true = np.zeros((4, 3), dtype=int)

    roc_auc = evaluate_multilabel(y_true, Y_SCORE, GENRES, 0.5)["roc_auc"]

    assert roc_auc["micro"] is None
    assert roc_auc["macro"] is None
    assert roc_auc["undefined_genres"] == GENRES


def test_evaluate_series_thresholds_aligned():
    # The Series is in a different order than GENRES and is aligned by name.
    # Music at 0.25: scores [0.3, 0.6, 0.2, 0.9] -> predicted [1, 1, 0, 1] vs true
    # [1, 0, 0, 1]: TP 2, FP 1, FN 0 -> F1 = 4 / (4 + 1) = 0.8.
    thresholds = pd.Series(
        {"Music / Dancing": 0.25, "Role-playing (RPG)": 0.5, "Shoot'em Up": 0.5}
    )

    result = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, thresholds)

    assert result["thresholds"] == {
        "Role-playing (RPG)": 0.5,
        "Shoot'em Up": 0.5,
        "Music / Dancing": 0.25,
    }
    assert result["classification_report"]["Music / Dancing"]["f1-score"] == pytest.approx(0.8)
    assert result["classification_report"]["Shoot'em Up"]["f1-score"] == pytest.approx(2 / 3)


def test_evaluate_array_thresholds():
    result = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, [0.5, 0.5, 0.25])

    assert result["classification_report"]["Music / Dancing"]["f1-score"] == pytest.approx(0.8)


def test_evaluate_accepts_tuned_table():
    tuned = tune_thresholds(Y_TRUE, Y_SCORE, GENRES)

    result = evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, tuned)

    assert result["thresholds"] == tuned["threshold"].to_dict()
    for genre in GENRES:
        report_f1 = result["classification_report"][genre]["f1-score"]
        assert report_f1 == pytest.approx(tuned.loc[genre, "f1"]), genre


def test_evaluate_output_is_json():
    y_true = np.column_stack([Y_TRUE, [0, 0, 0, 0]])
    y_score = np.column_stack([Y_SCORE, [0.1, 0.6, 0.3, 0.2]])

    result = evaluate_multilabel(y_true, y_score, GENRES + ["Pinball"], 0.5)

    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert_json_leaves_are_plain(result)


def test_metrics_emit_no_warnings():
    # Edge cases that make scikit-learn warn without zero_division: a genre without
    # positives, a genre that is never predicted, a sample without labels.
    y_true = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0], [1, 0, 1]])
    y_score = np.array([[0.9, 0.1, 0.2], [0.2, 0.1, 0.8], [0.1, 0.1, 0.1], [0.8, 0.9, 0.3]])
    genres = ["Action", "Pinball", "Sport"]

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        evaluate_multilabel(y_true, y_score, genres, 0.95)
        evaluate_multilabel(y_true, y_score, genres, 0.5)
        tune_thresholds(y_true, y_score, genres)
        roc_auc_per_genre(y_true, y_score, genres)
        macro_roc_auc(y_true, y_score)


# --- input validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("y_true", "y_score", "genres", "message"),
    [
        pytest.param(
            Y_TRUE, Y_SCORE[:, :2], GENRES,
            r"y_score has shape \(4, 2\), expected \(4, 3\)",
            id="shape-mismatch",
        ),
        pytest.param(Y_TRUE[:, 0], Y_SCORE[:, 0], GENRES[:1], r"y_true has ndim=1", id="y-true-1d"),
        pytest.param(Y_TRUE, Y_SCORE[:, 0], GENRES, r"y_score has ndim=1", id="y-score-1d"),
        pytest.param(
            Y_TRUE, np.where(Y_SCORE > 0.85, np.nan, Y_SCORE), GENRES,
            r"y_score contains NaN at \[0, 0\]",
            id="nan-score",
        ),
        pytest.param(
            np.where(Y_TRUE == 1, 2, 0), Y_SCORE, GENRES,
            r"y_true contains 2 at \[0, 0\], expected only 0 or 1",
            id="label-two",
        ),
        pytest.param(
            Y_TRUE, Y_SCORE * 3, GENRES,
            r"expected probabilities in \[0, 1\]",
            id="score-above-one",
        ),
        pytest.param(
            Y_TRUE, Y_SCORE, GENRES[:2],
            r"genres has 2 names, expected 3",
            id="too-few-genres",
        ),
        pytest.param(
            Y_TRUE, Y_SCORE, ["Action", "Action", "Sport"],
            r"duplicate names \['Action'\]",
            id="duplicate-genres",
        ),
        pytest.param(
            Y_TRUE[:0], Y_SCORE[:0], GENRES,
            r"expected at least 1 sample",
            id="no-samples",
        ),
    ],
)
def test_invalid_inputs_raise(y_true, y_score, genres, message):
    with pytest.raises(ValueError, match=message):
        tune_thresholds(y_true, y_score, genres)
    with pytest.raises(ValueError, match=message):
        roc_auc_per_genre(y_true, y_score, genres)
    with pytest.raises(ValueError, match=message):
        evaluate_multilabel(y_true, y_score, genres, 0.5)


def test_macro_roc_auc_validates_shapes():
    with pytest.raises(ValueError, match=r"y_score has shape \(4, 2\), expected \(4, 3\)"):
        macro_roc_auc(Y_TRUE, Y_SCORE[:, :2])


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        pytest.param(
            pd.Series({"Shoot'em Up": 0.5}),
            r"no value for genres \['Role-playing \(RPG\)', 'Music / Dancing'\]",
            id="series-missing-genres",
        ),
        pytest.param(
            [0.5, 0.5],
            r"thresholds has shape \(2,\), expected \(3,\)",
            id="array-too-short",
        ),
        pytest.param(
            [0.5, float("nan"), 0.5],
            r"thresholds\[\"Shoot'em Up\"\] is nan",
            id="nan-threshold",
        ),
        pytest.param(
            -0.1,
            r"thresholds is -0\.1, expected a number in \[0, 1\]",
            id="negative-scalar",
        ),
        pytest.param(
            pd.DataFrame({"cutoff": [0.5, 0.5, 0.5]}, index=GENRES),
            r"expected a 'threshold' column",
            id="frame-without-threshold",
        ),
    ],
)
def test_invalid_thresholds_raise(thresholds, message):
    with pytest.raises(ValueError, match=message):
        evaluate_multilabel(Y_TRUE, Y_SCORE, GENRES, thresholds)


def test_evaluate_rejects_single_genre():
    y_true, y_score = one_genre([1, 0, 1, 0], [0.9, 0.8, 0.3, 0.2])

    with pytest.raises(ValueError, match=r"genres has 1 name, expected at least 2"):
        evaluate_multilabel(y_true, y_score, ["Action"], 0.5)
