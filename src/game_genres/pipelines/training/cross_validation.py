"""Refit the winning head configuration in k folds over train + validation.

The grid search picks an optimizer, a learning rate and a number of epochs
on the validation split. With a few hundred validation covers, several
genres have fewer than ten positives there, so per-genre thresholds tuned
on validation alone are noisy, and the validation covers never train the
head. Cross-fitting uses those covers for both. A head that did not train on
a train or validation cover scores it once, and evaluation tunes the
thresholds on these out-of-fold scores. The final head is the mean of the k
fold heads. The test split plays no part.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import keras
import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold
from tqdm.auto import tqdm

from game_genres.metrics import macro_roc_auc
from game_genres.modeling import WeightedBinaryCrossentropy, average_heads, balanced_class_weights, build_head
from game_genres.pipelines.preprocessing.nodes import count_genres_per_group

from .nodes import DEVELOPMENT_SPLITS, compile_head, development_positions, make_optimizer

logger = logging.getLogger(__name__)


def assign_folds(model_input: pd.DataFrame, labels: np.ndarray, n_folds: int, seed: int) -> np.ndarray:
    """Give every train and validation game a fold in ``0 .. n_folds - 1``.

    Games of one ``group`` (the split's ``group_column``, for example a
    title) share a fold, so no fold head trains on a near-copy of a cover it
    scores. Folds are stratified by iterative stratification on each
    group's genres, as the split is.

    Returns:
        The fold of each row of ``development_positions(model_input)``, int64.
    """
    positions = development_positions(model_input)
    by_position = model_input.set_index("position")
    if "group" in by_position.columns:
        group_keys = by_position.loc[positions, "group"].astype(str)
    else:
        # A table without groups: every game is its own group, as in the split.
        group_keys = pd.Series(positions).astype(str)
    group_codes, group_names = pd.factorize(group_keys, sort=True)
    n_groups = len(group_names)
    if n_groups < n_folds:
        raise ValueError(
            f"Cross-validation needs at least {n_folds} groups of games in train + validation, found "
            f"{n_groups}. Lower training.cross_validation_folds or add games."
        )

    presence = (count_genres_per_group(group_codes, labels[positions], n_groups) > 0).astype(int)
    splitter = MultilabelStratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(n_groups), presence)):
        fold_of_group[held_out] = fold

    folds = fold_of_group[group_codes]
    empty = np.flatnonzero(np.bincount(folds, minlength=n_folds) == 0)
    if len(empty):
        raise ValueError(
            f"Cross-validation left fold(s) {empty.tolist()} without games ({n_groups} groups in "
            f"{n_folds} folds). Lower training.cross_validation_folds or add games."
        )
    return folds


def _fold_class_weights(fold_labels: np.ndarray, genres: list[str], fold: int) -> tuple[np.ndarray, np.ndarray]:
    positive_weight, negative_weight = balanced_class_weights(fold_labels)
    undefined = [genre for genre, p, q in zip(genres, positive_weight, negative_weight)
                 if not (np.isfinite(p) and np.isfinite(q))]
    if undefined:
        raise ValueError(
            f"Cross-validation fold {fold}: no positive (or no negative) training game for "
            f"{', '.join(repr(g) for g in undefined)}, so the class weights are undefined. Lower "
            "training.cross_validation_folds or raise preprocessing.min_examples."
        )
    return positive_weight, negative_weight


def cross_fit_heads(
    embeddings: np.ndarray,
    labels: np.ndarray,
    model_input: pd.DataFrame,
    best_configuration: dict[str, Any],
    backbone: dict[str, Any],
    training: dict[str, Any],
) -> tuple[keras.Model, np.ndarray, dict[str, Any], dict[str, Any]]:
    """Train the best configuration once per fold of train + validation and average the fold heads.

    Each fold head trains for the grid winner's best epoch count on the
    other folds, with class weights computed from those folds, and scores
    its held-out fold.

    NOTE: the mean of k heads gives less extreme scores than each fold head,
    so thresholds tuned on out-of-fold scores only approximate the final head's.

    Returns:
        Four values. The final head, whose output is the mean of the fold
        heads' probabilities. The out-of-fold scores,
        ``(n_train + n_validation, n_genres)`` float32 in the row order of
        ``development_positions``. A record of the folds for people and
        scripts. Metrics for the MLflow run, held-out macro ROC AUC with the
        fold as step.
    """
    genres = list(best_configuration["genres"])
    n_folds = int(training["cross_validation_folds"])
    if n_folds < 2:
        raise ValueError(
            f"training.cross_validation_folds is {n_folds}; it must be at least 2 so that every "
            "train and validation cover gets a score from a head that did not train on it."
        )
    seed = int(training["seed"])
    epochs = int(best_configuration["best_epoch"])
    head_params = backbone["head"]
    architecture = backbone["architecture"]

    positions = development_positions(model_input)
    x, y = embeddings[positions], labels[positions].astype("float32")
    folds = assign_folds(model_input, labels, n_folds, seed)

    out_of_fold = np.zeros(y.shape, dtype="float32")
    heads, per_fold = [], []
    start = time.perf_counter()
    for fold in tqdm(range(n_folds), desc=f"Cross-fitting {architecture} heads", unit="fold"):
        train, held_out = folds != fold, folds == fold
        positive_weight, negative_weight = _fold_class_weights(y[train], genres, fold)
        keras.utils.set_random_seed(seed + fold)
        head = build_head(x.shape[1], len(genres), head_params, name=f"genre_head_fold_{fold}")
        optimizer = make_optimizer(best_configuration["optimizer"], float(best_configuration["learning_rate"]),
                                   head_params)
        compile_head(head, optimizer, WeightedBinaryCrossentropy(positive_weight, negative_weight), len(genres))
        head.fit(x[train], y[train], epochs=epochs, batch_size=int(head_params["batch_size"]), shuffle=True, verbose=0)
        out_of_fold[held_out] = head.predict(x[held_out], batch_size=512, verbose=0)
        held_out_auc = macro_roc_auc(y[held_out].astype(int), out_of_fold[held_out])
        per_fold.append({"fold": fold, "train_games": int(train.sum()), "held_out_games": int(held_out.sum()),
                         "held_out_macro_roc_auc": None if np.isnan(held_out_auc) else float(held_out_auc)})
        heads.append(head)
    seconds = time.perf_counter() - start

    overall_auc = macro_roc_auc(y.astype(int), out_of_fold)
    logger.info("%s: %d fold heads of %s trained for %d epochs in %.1f s; out-of-fold macro ROC AUC %.4f "
                "on %d train + validation games.", architecture, n_folds, best_configuration["name"], epochs,
                seconds, overall_auc, len(positions))
    record = {
        "configuration": best_configuration["name"],
        "folds": n_folds,
        "epochs": epochs,
        "seed": seed,
        "splits": list(DEVELOPMENT_SPLITS),
        "games": int(len(positions)),
        "out_of_fold_macro_roc_auc": float(overall_auc),
        "seconds": seconds,
        "per_fold": per_fold,
    }
    metrics: dict[str, Any] = {
        "out_of_fold_macro_roc_auc": {"value": float(overall_auc), "step": 0},
        "cross_fit_seconds": {"value": seconds, "step": 0},
    }
    fold_aucs = [{"value": item["held_out_macro_roc_auc"], "step": item["fold"]}
                 for item in per_fold if item["held_out_macro_roc_auc"] is not None]
    if fold_aucs:
        metrics["fold_held_out_macro_roc_auc"] = fold_aucs
    return average_heads(heads, x.shape[1]), out_of_fold, record, metrics
