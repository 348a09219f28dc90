"""Multi-label evaluation metrics for genre classification.

All functions take the same inputs:

- ``y_true``: array of shape (n_samples, n_genres) with 0/1 values (multi-hot labels).
- ``y_score``: float array of the same shape with sigmoid probabilities in [0, 1].
- ``genres``: sequence of n_genres genre names, used unchanged as index and dict keys.

Inputs are validated first, and invalid ones raise ``ValueError``. The functions use
only numpy, pandas and scikit-learn, so Kedro nodes can call them directly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    f1_score,
    hamming_loss,
    precision_score,
    recall_score,
    roc_auc_score,
)

STATUS_TUNED = "tuned"
STATUS_NO_POSITIVES = "no_positives_default_kept"


def validate_multilabel_inputs(
    y_true: Any,
    y_score: Any,
    genres: Sequence[str] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate multi-hot labels and scores, and return them as numpy arrays.

    Parameters
    ----------
    y_true : array-like, shape (n_samples, n_genres)
        Multi-hot labels. Every value must be 0 or 1 (bool and float 0.0/1.0 are accepted).
    y_score : array-like, shape (n_samples, n_genres)
        Sigmoid probabilities in [0, 1] without NaN.
    genres : sequence of str, optional
        Genre names, one per column, unique. Not checked when None.

    Returns
    -------
    y_true : np.ndarray of int64, shape (n_samples, n_genres)
    y_score : np.ndarray of float64, shape (n_samples, n_genres)

    Raises
    ------
    ValueError
        If a shape, dtype, value or genre name is invalid. The message names the
        offending value and the expected one.
    """
    y_true_array = np.asarray(y_true)
    y_score_array = np.asarray(y_score)

    if y_true_array.ndim != 2:
        raise ValueError(
            f"y_true has ndim={y_true_array.ndim} (shape {y_true_array.shape}), expected a "
            "2-D (n_samples, n_genres) multi-hot array. Reshape a single genre to (n_samples, 1)."
        )
    if y_score_array.ndim != 2:
        raise ValueError(
            f"y_score has ndim={y_score_array.ndim} (shape {y_score_array.shape}), expected a "
            "2-D (n_samples, n_genres) array of probabilities."
        )
    if y_score_array.shape != y_true_array.shape:
        raise ValueError(
            f"y_score has shape {y_score_array.shape}, expected {y_true_array.shape} to match "
            "y_true. Pass one score per sample and genre, in the same order as the labels."
        )
    n_samples, n_genres = y_true_array.shape
    if n_samples == 0 or n_genres == 0:
        raise ValueError(
            f"y_true has shape {y_true_array.shape}, expected at least 1 sample and 1 genre."
        )

    if y_true_array.dtype.kind not in "biuf":
        raise ValueError(
            f"y_true has dtype {y_true_array.dtype}, expected a numeric or bool 0/1 array."
        )
    invalid_labels = ~np.isin(y_true_array, (0, 1))
    if invalid_labels.any():
        row, column = np.argwhere(invalid_labels)[0]
        raise ValueError(
            f"y_true contains {y_true_array[row, column].item()!r} at [{row}, {column}], "
            f"expected only 0 or 1 ({int(invalid_labels.sum())} invalid values). "
            "Convert labels to multi-hot first."
        )

    if y_score_array.dtype.kind not in "iuf":
        raise ValueError(
            f"y_score has dtype {y_score_array.dtype}, expected a float array of probabilities."
        )
    y_score_array = y_score_array.astype(np.float64)
    nan_scores = np.isnan(y_score_array)
    if nan_scores.any():
        row, column = np.argwhere(nan_scores)[0]
        raise ValueError(
            f"y_score contains NaN at [{row}, {column}] ({int(nan_scores.sum())} NaN values), "
            "expected finite probabilities. Check the model output for diverged weights."
        )
    out_of_range = (y_score_array < 0.0) | (y_score_array > 1.0)
    if out_of_range.any():
        row, column = np.argwhere(out_of_range)[0]
        raise ValueError(
            f"y_score contains {y_score_array[row, column].item()!r} at [{row}, {column}], "
            "expected probabilities in [0, 1]. Apply a sigmoid if these are logits."
        )

    if genres is not None:
        validate_genres(genres, n_genres)

    return y_true_array.astype(np.int64), y_score_array


def validate_genres(genres: Sequence[str], n_genres: int) -> list[str]:
    """Check that ``genres`` has ``n_genres`` unique string names and return them as a list."""
    if isinstance(genres, str):
        raise ValueError(
            f"genres is the string {genres!r}, expected a list of {n_genres} genre names."
        )
    genre_list = list(genres)
    if len(genre_list) != n_genres:
        raise ValueError(
            f"genres has {len(genre_list)} names, expected {n_genres} (one per column of y_true)."
        )
    non_strings = [genre for genre in genre_list if not isinstance(genre, str)]
    if non_strings:
        raise ValueError(
            f"genres contains non-string names {non_strings!r}, expected str names only."
        )
    duplicates = sorted({genre for genre in genre_list if genre_list.count(genre) > 1})
    if duplicates:
        raise ValueError(
            f"genres contains duplicate names {duplicates!r}, expected each genre once."
        )
    return genre_list


def _validate_threshold_value(value: Any, name: str) -> float:
    """Return ``value`` as a float, or raise unless it is a real number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} is {value!r}, expected a number in [0, 1].")
    number = float(value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} is {number!r}, expected a number in [0, 1].")
    return number


def f1_at_thresholds(labels: np.ndarray, scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Compute one genre's F1 at each threshold, predicting positive when score >= threshold.

    Equal to ``sklearn.metrics.f1_score(labels, scores >= t, zero_division=0)`` for each
    threshold ``t``, but vectorised: F1 = 2 TP / (n_positives + n_predicted_positive).

    Parameters
    ----------
    labels : np.ndarray of 0/1, shape (n_samples,)
    scores : np.ndarray of float, shape (n_samples,)
    thresholds : np.ndarray of float, shape (n_thresholds,)

    Returns
    -------
    np.ndarray of float, shape (n_thresholds,)
        F1 per threshold, 0.0 where there are neither positives nor positive predictions.
    """
    sorted_scores = np.sort(scores)
    sorted_positive_scores = np.sort(scores[labels == 1])
    n_positives = sorted_positive_scores.size

    # searchsorted(side="left") counts the scores strictly below each threshold.
    predicted_positive = scores.size - np.searchsorted(sorted_scores, thresholds, side="left")
    true_positive = n_positives - np.searchsorted(sorted_positive_scores, thresholds, side="left")

    denominator = n_positives + predicted_positive
    f1 = np.zeros(thresholds.shape, dtype=np.float64)
    defined = denominator > 0
    f1[defined] = 2.0 * true_positive[defined] / denominator[defined]
    return f1


def _midpoint_threshold(scores: np.ndarray, chosen: float) -> float:
    """Move ``chosen`` halfway to the next lower score without changing any prediction."""
    above = scores[scores >= chosen]
    below = scores[scores < chosen]
    if len(above) == 0 or len(below) == 0:
        return chosen
    return float((above.min() + below.max()) / 2.0)


def tune_thresholds(
    y_true: Any,
    y_score: Any,
    genres: Sequence[str],
    default: float = 0.5,
) -> pd.DataFrame:
    """Choose one decision threshold per genre that maximises that genre's F1.

    Run this on held-out scores (out-of-fold or validation), never on the test set.
    A sample is predicted positive when its score >= threshold. The candidates for a genre are its distinct scores
    plus ``default``. F1 uses zero_division=0.

    Ties in F1 go to the highest threshold among the maximisers, which makes the fewest
    positive predictions. The returned threshold then sits halfway between the lowest
    score predicted positive and the highest score predicted negative. Predictions
    and F1 on ``y_score`` stay the same, but the boundary no longer lies on a
    sample. That generalises better when a genre has only a few positives. A genre without positives in ``y_true`` has F1 = 0 at every
    threshold, so it keeps ``default`` and gets status 'no_positives_default_kept'.
    A genre with one constant score has at most two candidates (that score and
    ``default``) and needs no special case.

    Parameters
    ----------
    y_true : array-like of 0/1, shape (n_samples, n_genres)
    y_score : array-like of float in [0, 1], shape (n_samples, n_genres)
    genres : sequence of str, length n_genres
    default : float in [0, 1]
        Threshold kept for genres without positives and reported as ``f1_at_default``.

    Returns
    -------
    pd.DataFrame
        Indexed by genre (in the given order), with columns:
        ``threshold`` (float), ``f1`` (F1 on ``y_score`` at ``threshold``),
        ``f1_at_default`` (F1 on ``y_score`` at ``default``), ``positives`` (int count in
        ``y_true``) and ``status`` ('tuned' or 'no_positives_default_kept').
    """
    y_true_array, y_score_array = validate_multilabel_inputs(y_true, y_score, genres)
    default = _validate_threshold_value(default, "default")

    rows = []
    for column, genre in enumerate(genres):
        labels = y_true_array[:, column]
        scores = y_score_array[:, column]
        n_positives = int(labels.sum())
        f1_at_default = float(f1_at_thresholds(labels, scores, np.array([default]))[0])

        if n_positives == 0:
            threshold, best_f1, status = default, f1_at_default, STATUS_NO_POSITIVES
        else:
            candidates = np.unique(np.append(scores, default))
            f1_values = f1_at_thresholds(labels, scores, candidates)
            # F1 values of equal fractions are bitwise equal (IEEE division is correctly
            # rounded), so exact comparison finds every maximiser.
            maximisers = candidates[f1_values == f1_values.max()]
            threshold = _midpoint_threshold(scores, float(maximisers.max()))
            best_f1 = float(f1_values.max())
            status = STATUS_TUNED

        rows.append(
            {
                "threshold": float(threshold),
                "f1": best_f1,
                "f1_at_default": f1_at_default,
                "positives": n_positives,
                "status": status,
            }
        )

    table = pd.DataFrame(rows, index=pd.Index(list(genres), name="genre"))
    return table.astype({"positives": "int64"})


def _roc_auc_per_column(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """Return ROC AUC per column of validated arrays, NaN where the labels are constant."""
    auc = np.full(y_true.shape[1], np.nan)
    for column in range(y_true.shape[1]):
        labels = y_true[:, column]
        # roc_auc_score raises ValueError when only one class is present.
        if labels.min() != labels.max():
            auc[column] = roc_auc_score(labels, y_score[:, column])
    return auc


def roc_auc_per_genre(y_true: Any, y_score: Any, genres: Sequence[str]) -> pd.Series:
    """Compute ROC AUC for each genre.

    Parameters
    ----------
    y_true : array-like of 0/1, shape (n_samples, n_genres)
    y_score : array-like of float in [0, 1], shape (n_samples, n_genres)
    genres : sequence of str, length n_genres

    Returns
    -------
    pd.Series of float, indexed by genre, named 'roc_auc'
        NaN for a genre whose labels are all 0 or all 1, because AUC is undefined there.
    """
    y_true_array, y_score_array = validate_multilabel_inputs(y_true, y_score, genres)
    auc = _roc_auc_per_column(y_true_array, y_score_array)
    return pd.Series(auc, index=pd.Index(list(genres), name="genre"), name="roc_auc")


def _mean_of_defined(values: np.ndarray) -> float:
    """Return the mean of the non-NaN values, or NaN when there are none (without a warning)."""
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return math.nan
    return float(defined.mean())


def macro_roc_auc(y_true: Any, y_score: Any) -> float:
    """Compute the mean ROC AUC over genres whose labels contain both 0 and 1.

    Genres with constant labels are left out instead of failing, unlike
    ``roc_auc_score(average='macro')``. Returns NaN if no genre has a defined AUC.
    """
    y_true_array, y_score_array = validate_multilabel_inputs(y_true, y_score)
    return _mean_of_defined(_roc_auc_per_column(y_true_array, y_score_array))


def _micro_roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Return ROC AUC over all (sample, genre) pairs, or NaN if all labels are equal."""
    labels = y_true.ravel()
    if labels.min() == labels.max():
        return math.nan
    return float(roc_auc_score(labels, y_score.ravel()))


def resolve_thresholds(thresholds: Any, genres: Sequence[str]) -> np.ndarray:
    """Turn a scalar or per-genre threshold specification into one float per genre.

    Parameters
    ----------
    thresholds : float, array-like, pd.Series or pd.DataFrame
        A scalar applies to every genre. An array or list must have one value per genre,
        in ``genres`` order. A Series is aligned by its index to ``genres``. A DataFrame
        must have a ``threshold`` column indexed by genre, like the output of
        :func:`tune_thresholds`.
    genres : sequence of str

    Returns
    -------
    np.ndarray of float, shape (n_genres,)
    """
    genre_list = list(genres)

    if isinstance(thresholds, pd.DataFrame):
        if "threshold" not in thresholds.columns:
            raise ValueError(
                f"thresholds DataFrame has columns {list(thresholds.columns)!r}, expected a "
                "'threshold' column as returned by tune_thresholds."
            )
        thresholds = thresholds["threshold"]

    if isinstance(thresholds, pd.Series):
        missing = [genre for genre in genre_list if genre not in thresholds.index]
        if missing:
            raise ValueError(
                f"thresholds has no value for genres {missing!r}. Pass one threshold per genre, "
                "indexed by the genre names."
            )
        values = thresholds.reindex(genre_list).to_numpy()
    elif np.ndim(thresholds) == 0:
        value = _validate_threshold_value(thresholds, "thresholds")
        return np.full(len(genre_list), value)
    else:
        values = np.asarray(thresholds)
        if values.shape != (len(genre_list),):
            raise ValueError(
                f"thresholds has shape {values.shape}, expected ({len(genre_list)},) with one "
                "value per genre, or a scalar."
            )

    resolved = np.empty(len(genre_list), dtype=np.float64)
    for position, (genre, value) in enumerate(zip(genre_list, values)):
        resolved[position] = _validate_threshold_value(value, f"thresholds[{genre!r}]")
    return resolved


def to_json_compatible(value: Any) -> Any:
    """Convert numpy scalars and arrays, tuples and nested dicts to plain Python values.

    NaN and infinite floats become None, so ``json.dumps`` output is strict JSON.
    Dict keys become str.
    """
    if isinstance(value, dict):
        return {str(key): to_json_compatible(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_json_compatible(item) for item in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


def evaluate_multilabel(
    y_true: Any,
    y_score: Any,
    genres: Sequence[str],
    thresholds: Any,
) -> dict[str, Any]:
    """Compute every report metric at the given decision thresholds.

    A sample is predicted positive for a genre when its score >= that genre's threshold.
    All scikit-learn calls that accept ``zero_division`` get ``zero_division=0``, so the
    function emits no UndefinedMetricWarning.

    Parameters
    ----------
    y_true : array-like of 0/1, shape (n_samples, n_genres)
    y_score : array-like of float in [0, 1], shape (n_samples, n_genres)
    genres : sequence of str, length n_genres (at least 2)
    thresholds : float, array-like, pd.Series or pd.DataFrame
        See :func:`resolve_thresholds`.

    Returns
    -------
    dict
        JSON-serialisable (plain floats, ints, lists, str and None; NaN becomes None):

        - ``thresholds``: {genre: float}
        - ``classification_report``: scikit-learn's classification_report as a dict, with
          every genre (also those without support) and the 'micro avg', 'macro avg',
          'weighted avg' and 'samples avg' rows
        - ``roc_auc``: {'per_genre': {genre: float or None}, 'macro': mean over defined
          genres or None, 'micro': float or None if all labels are equal,
          'undefined_genres': [genres with constant labels]}
        - ``macro_f1``, ``micro_f1``, ``weighted_f1``, ``samples_f1``,
          ``macro_precision``, ``macro_recall``: float
        - ``subset_accuracy``: exact-match ratio, ``hamming_loss``: float
        - ``n_samples``: int, ``predicted_positive_rate``: mean of the predictions,
          ``label_cardinality``: mean number of labels per sample in ``y_true``
    """
    y_true_array, y_score_array = validate_multilabel_inputs(y_true, y_score, genres)
    genre_list = list(genres)
    if len(genre_list) < 2:
        # scikit-learn treats a single column as binary labels, so classification_report
        # would score class 0 instead of the genre, and samples-averaged F1 raises.
        raise ValueError(
            f"genres has {len(genre_list)} name, expected at least 2 for multi-label metrics. "
            "Use scikit-learn's binary metrics for a single genre."
        )
    threshold_values = resolve_thresholds(thresholds, genre_list)
    y_pred = (y_score_array >= threshold_values[np.newaxis, :]).astype(np.int64)

    report = classification_report(
        y_true_array,
        y_pred,
        labels=list(range(len(genre_list))),
        target_names=genre_list,
        output_dict=True,
        zero_division=0,
    )

    # scikit-learn 1.9 reports support as a float. It is a count, so store it as int.
    for row in report.values():
        if isinstance(row, dict) and "support" in row:
            row["support"] = int(row["support"])

    auc_per_genre = _roc_auc_per_column(y_true_array, y_score_array)
    undefined_genres = [
        genre for genre, auc in zip(genre_list, auc_per_genre) if math.isnan(auc)
    ]

    def average_f1(average: str) -> float:
        return float(f1_score(y_true_array, y_pred, average=average, zero_division=0))

    result = {
        "thresholds": dict(zip(genre_list, threshold_values)),
        "classification_report": report,
        "roc_auc": {
            "per_genre": dict(zip(genre_list, auc_per_genre)),
            "macro": _mean_of_defined(auc_per_genre),
            "micro": _micro_roc_auc(y_true_array, y_score_array),
            "undefined_genres": undefined_genres,
        },
        "macro_f1": average_f1("macro"),
        "micro_f1": average_f1("micro"),
        "weighted_f1": average_f1("weighted"),
        "samples_f1": average_f1("samples"),
        "macro_precision": float(
            precision_score(y_true_array, y_pred, average="macro", zero_division=0)
        ),
        "macro_recall": float(
            recall_score(y_true_array, y_pred, average="macro", zero_division=0)
        ),
        "subset_accuracy": float(accuracy_score(y_true_array, y_pred)),
        "hamming_loss": float(hamming_loss(y_true_array, y_pred)),
        "n_samples": int(y_true_array.shape[0]),
        "predicted_positive_rate": float(y_pred.mean()),
        "label_cardinality": float(y_true_array.sum(axis=1).mean()),
    }
    return to_json_compatible(result)
