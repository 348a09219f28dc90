"""Cross-fitting the winning head on train + validation, on small synthetic embeddings."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from game_genres.pipelines.training.cross_validation import assign_folds, cross_fit_heads
from game_genres.pipelines.training.nodes import development_positions

GENRES = ["Action", "Puzzle", "Racing"]
HEAD = {"hidden_units": [8], "dropout": 0.0, "input_dropout": 0.0, "batch_size": 16, "sgd_momentum": 0.9}
BACKBONE = {"architecture": "Tiny", "head": HEAD}


def _data(n_games=60, seed=0):
    """Embeddings that carry the genres, a split table with pairs of games per group, and labels."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n_games, len(GENRES))) < [0.5, 0.3, 0.2]).astype(np.uint8)
    labels[np.arange(n_games), np.arange(n_games) % len(GENRES)] = 1
    embeddings = np.concatenate([labels * 2.0, rng.normal(size=(n_games, 5))], axis=1).astype("float32")
    # Five titles in a row: three in train, one in validation, one in test.
    splits = np.array(["train"] * 3 + ["validation", "test"])[np.arange(n_games) // 2 % 5]
    model_input = pd.DataFrame({
        "position": np.arange(n_games),
        "split": splits,
        "group": [f"title-{i // 2}" for i in range(n_games)],
    })
    return embeddings, labels, model_input


def _configuration(epochs=30):
    return {"name": "Tiny_Adam_1e-02", "optimizer": "Adam", "learning_rate": 1e-2, "best_epoch": epochs,
            "genres": GENRES}


def _fold_heads(head):
    return [layer for layer in head.layers if isinstance(layer, keras.Model)]


def test_development_positions_exclude_test():
    _, _, model_input = _data()
    positions = development_positions(model_input)
    expected = model_input.loc[model_input["split"] != "test", "position"].to_numpy()
    np.testing.assert_array_equal(positions, np.sort(expected))


def test_folds_keep_groups_together():
    _, labels, model_input = _data()
    folds = assign_folds(model_input, labels, n_folds=4, seed=1)
    positions = development_positions(model_input)
    assert folds.shape == positions.shape
    assert set(folds) == {0, 1, 2, 3}
    groups = model_input.set_index("position").loc[positions, "group"].to_numpy()
    for group in set(groups):
        assert len(set(folds[groups == group])) == 1, group


def test_folds_without_group_column():
    _, labels, model_input = _data()
    folds = assign_folds(model_input.drop(columns="group"), labels, n_folds=4, seed=1)
    # Each game is its own group, so the two games of a title can part.
    pairs = folds.reshape(-1, 2)
    assert (pairs[:, 0] != pairs[:, 1]).any()
    assert set(folds) == {0, 1, 2, 3}


def test_folds_are_reproducible():
    _, labels, model_input = _data()
    np.testing.assert_array_equal(assign_folds(model_input, labels, 3, seed=5), assign_folds(model_input, labels, 3, seed=5))


def test_too_few_groups_raises():
    _, labels, model_input = _data(n_games=10)
    with pytest.raises(ValueError, match="at least 9 groups .* found 4"):
        assign_folds(model_input, labels, n_folds=9, seed=0)


@pytest.fixture(scope="module")
def cross_fitted():
    embeddings, labels, model_input = _data()
    training = {"seed": 3, "cross_validation_folds": 3}
    head, out_of_fold, record, metrics = cross_fit_heads(
        embeddings, labels, model_input, _configuration(), BACKBONE, training)
    return {"embeddings": embeddings, "labels": labels, "model_input": model_input, "training": training,
            "head": head, "out_of_fold": out_of_fold, "record": record, "metrics": metrics}


def test_out_of_fold_score_from_own_fold_head(cross_fitted):
    positions = development_positions(cross_fitted["model_input"])
    folds = assign_folds(cross_fitted["model_input"], cross_fitted["labels"], 3, seed=3)
    x = cross_fitted["embeddings"][positions]
    per_head = np.stack([keras.ops.convert_to_numpy(head(x)) for head in _fold_heads(cross_fitted["head"])])
    assert per_head.shape[0] == 3
    own = per_head[folds, np.arange(len(positions))]
    np.testing.assert_allclose(cross_fitted["out_of_fold"], own, atol=1e-5)
    # The other heads give different scores, so the check above can fail.
    other = per_head[(folds + 1) % 3, np.arange(len(positions))]
    assert np.abs(cross_fitted["out_of_fold"] - other).max() > 1e-3


def test_final_head_averages_fold_heads(cross_fitted):
    test_rows = cross_fitted["model_input"].query("split == 'test'")["position"].to_numpy()
    x = cross_fitted["embeddings"][test_rows]
    mean = np.mean([keras.ops.convert_to_numpy(head(x)) for head in _fold_heads(cross_fitted["head"])], axis=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(cross_fitted["head"](x)), mean, atol=1e-6)


def test_out_of_fold_scores_learn_genres(cross_fitted):
    assert cross_fitted["out_of_fold"].shape == (len(development_positions(cross_fitted["model_input"])), 3)
    assert cross_fitted["out_of_fold"].dtype == np.float32
    assert cross_fitted["record"]["out_of_fold_macro_roc_auc"] > 0.9


def test_fold_record_and_metrics(cross_fitted):
    record = cross_fitted["record"]
    assert record["folds"] == 3
    assert record["epochs"] == 30
    assert record["configuration"] == "Tiny_Adam_1e-02"
    assert sum(fold["held_out_games"] for fold in record["per_fold"]) == record["games"]
    assert [point["step"] for point in cross_fitted["metrics"]["fold_held_out_macro_roc_auc"]] == [0, 1, 2]
    assert cross_fitted["metrics"]["out_of_fold_macro_roc_auc"]["value"] == pytest.approx(
        record["out_of_fold_macro_roc_auc"])


def test_cross_fitting_is_reproducible(cross_fitted):
    _, again, _, _ = cross_fit_heads(cross_fitted["embeddings"], cross_fitted["labels"], cross_fitted["model_input"],
                                     _configuration(), BACKBONE, cross_fitted["training"])
    np.testing.assert_allclose(again, cross_fitted["out_of_fold"], atol=1e-6)


def test_single_fold_raises():
    embeddings, labels, model_input = _data()
    with pytest.raises(ValueError, match="cross_validation_folds is 1; it must be at least 2"):
        cross_fit_heads(embeddings, labels, model_input, _configuration(), BACKBONE,
                        {"seed": 0, "cross_validation_folds": 1})


def test_genre_absent_from_fold_training_raises():
    embeddings, labels, model_input = _data()
    labels[:, 2] = 0
    # Racing only on the two games of one title: the fold holding that
    # title leaves no Racing game to train on.
    first = model_input.query("split == 'train'")["group"].iloc[0]
    labels[model_input["group"].eq(first).to_numpy(), 2] = 1
    with pytest.raises(ValueError, match="no positive .* for 'Racing'"):
        cross_fit_heads(embeddings, labels, model_input, _configuration(epochs=1), BACKBONE,
                        {"seed": 0, "cross_validation_folds": 3})
