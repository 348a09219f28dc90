"""Compare the trained head with a logistic-regression baseline over several splits.

Reads the embeddings that the training pipeline saved for one backbone and
the clean games table, re-splits the games with each seed (same ratios and
grouping as the preprocessing parameters), and prints test macro ROC AUC and
macro F1 at tuned thresholds (and at 0.5) for:

- head: the project's head (weighted binary cross-entropy, early stopping
  on validation ROC AUC), with each optimizer and learning rate given,
  keeping the best on validation. Its thresholds are tuned on validation.
  This was the training pipeline's final model before cross-fitting.
- cross_fitted_heads: what the training pipeline does now. The winning
  configuration trains once per fold of train + validation
  (``cross_fit_heads``). Thresholds are tuned on the out-of-fold scores, and
  the mean of the fold heads scores test.
- logistic_regression: one-vs-rest logistic regression on standardised
  embeddings with class_weight="balanced", trained on train, with
  thresholds tuned on validation.
- cross_fitted_logistic_regression: the same model cross-fitted on the same
  folds as the heads, so that both use train + validation alike.
- training_frequency: the constant baseline.

Run after ``kedro run --pipelines training`` from the project root:

    python scripts/compare_heads.py --backbone mobilenetv2 --seeds 42 1 2 3 4
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from game_genres.metrics import evaluate_multilabel, macro_roc_auc, tune_thresholds  # noqa: E402
from game_genres.modeling import WeightedBinaryCrossentropy, build_head  # noqa: E402
from game_genres.pipelines.training.cross_validation import assign_folds, cross_fit_heads  # noqa: E402
from game_genres.pipelines.training.nodes import development_positions  # noqa: E402
from game_genres.pipelines.preprocessing.nodes import (  # noqa: E402
    build_genre_vocabulary,
    compute_class_weights,
    encode_multi_hot,
    split_games,
)


def _parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backbone", default="mobilenetv2", help="backbone key whose embeddings to use")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2, 3, 4], help="split seeds")
    parser.add_argument("--group-column", default="title",
                        help="column that keeps games in one split; 'none' for a split by game")
    parser.add_argument("--optimizers", nargs="+", default=["Adam"], help="head optimizers to try")
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[1e-4, 1e-3],
                        help="head learning rates to try")
    parser.add_argument("--folds", type=int, default=5, help="cross-validation folds over train + validation")
    parser.add_argument("--data", type=Path, default=Path("data"), help="the project's data folder")
    return parser.parse_args()


def _fit_head(x, y, validation, class_weights, head_params, optimizer, learning_rate, seed):
    keras.utils.set_random_seed(seed)
    head = build_head(x.shape[1], y.shape[1], head_params)
    make = keras.optimizers.Adam if optimizer == "Adam" else keras.optimizers.SGD
    kwargs = {} if optimizer == "Adam" else {"momentum": float(head_params.get("sgd_momentum", 0.0))}
    head.compile(
        optimizer=make(learning_rate=learning_rate, **kwargs),
        loss=WeightedBinaryCrossentropy(class_weights["positive_weight"], class_weights["negative_weight"]),
        metrics=[keras.metrics.AUC(multi_label=True, num_labels=y.shape[1], name="roc_auc")],
    )
    history = head.fit(
        x, y.astype("float32"), validation_data=(validation[0], validation[1].astype("float32")),
        epochs=int(head_params["epochs"]), batch_size=int(head_params["batch_size"]), verbose=0,
        callbacks=[keras.callbacks.EarlyStopping(monitor="val_roc_auc", mode="max",
                                                 patience=int(head_params["patience"]), restore_best_weights=True)],
    ).history
    return head, int(np.argmax(history["val_roc_auc"])) + 1


def _score(name, y_validation, p_validation, y_test, p_test, genres):
    thresholds = tune_thresholds(y_validation, p_validation, genres)
    result = evaluate_multilabel(y_test, p_test, genres, thresholds)
    at_half = evaluate_multilabel(y_test, p_test, genres, 0.5)
    return {"model": name, "tuning_macro_roc_auc": macro_roc_auc(y_validation, p_validation),
            "test_macro_roc_auc": result["roc_auc"]["macro"], "test_macro_f1": result["macro_f1"],
            "test_macro_f1_at_0.5": at_half["macro_f1"]}


def _logistic_regression(x_train, y_train, x_score):
    """Fit one balanced logistic regression per genre on standardised embeddings, then score ``x_score``."""
    scaler = StandardScaler().fit(x_train)
    scores = np.zeros((len(x_score), y_train.shape[1]))
    for column in range(y_train.shape[1]):
        model = LogisticRegression(C=0.01, class_weight="balanced", max_iter=3000)
        model.fit(scaler.transform(x_train), y_train[:, column])
        scores[:, column] = model.predict_proba(scaler.transform(x_score))[:, 1]
    return scores


def main() -> None:
    arguments = _parse_arguments()
    parameters = yaml.safe_load(Path("conf/base/parameters_training.yml").read_text())
    head_params = parameters["_head"]
    split_params = yaml.safe_load(Path("conf/base/parameters_preprocessing.yml").read_text())["preprocessing"]

    games = pd.read_parquet(arguments.data / "02_intermediate/games.parquet")
    table = pd.read_parquet(arguments.data / "05_model_input/model_input_table.parquet")
    embeddings = np.load(arguments.data / f"04_feature/{arguments.backbone}/embeddings.npy")
    embedding_of = dict(zip(table["game_id"], embeddings[table["position"].to_numpy()]))
    vocabulary = build_genre_vocabulary(games, {"min_examples": split_params["min_examples"]})
    labelled, _ = encode_multi_hot(games, vocabulary)
    genres = vocabulary["genres"]
    group_column = None if arguments.group_column.lower() == "none" else arguments.group_column

    rows = []
    for seed in arguments.seeds:
        split = {**split_params["split"], "seed": seed, "group_column": group_column}
        split_table, labels = split_games(labelled, vocabulary, split)
        x = np.stack([embedding_of[game_id] for game_id in split_table["game_id"]])
        part = {name: (split_table["split"] == name).to_numpy() for name in ("train", "validation", "test")}
        class_weights = compute_class_weights(split_table, labels, vocabulary)
        y = {name: labels[mask] for name, mask in part.items()}
        validation = (x[part["validation"]], y["validation"])

        best = None
        for optimizer in arguments.optimizers:
            for learning_rate in arguments.learning_rates:
                head, best_epoch = _fit_head(x[part["train"]], y["train"], validation, class_weights, head_params,
                                             optimizer, learning_rate, seed)
                p_validation = head.predict(validation[0], verbose=0)
                auc = macro_roc_auc(y["validation"], p_validation)
                if best is None or auc > best["auc"]:
                    best = {"auc": auc, "validation": p_validation, "test": head.predict(x[part["test"]], verbose=0),
                            "configuration": {"name": f"{optimizer}_{learning_rate:.0e}", "optimizer": optimizer,
                                              "learning_rate": learning_rate, "best_epoch": best_epoch,
                                              "genres": genres}}
        rows.append({"seed": seed, **_score("head", y["validation"], best["validation"], y["test"], best["test"],
                                            genres)})

        # The training pipeline's cross-fitting, on the same folds for both models.
        training = {"seed": seed, "cross_validation_folds": arguments.folds}
        final_head, out_of_fold, _, _ = cross_fit_heads(
            x, labels, split_table, best["configuration"], {"architecture": arguments.backbone, "head": head_params},
            training)
        development = development_positions(split_table)
        y_development = labels[development]
        rows.append({"seed": seed, **_score("cross_fitted_heads", y_development, out_of_fold, y["test"],
                                            final_head.predict(x[part["test"]], verbose=0), genres)})

        probabilities = _logistic_regression(x[part["train"]], y["train"], x[part["validation"] | part["test"]])
        scored = np.flatnonzero(part["validation"] | part["test"])
        in_validation = part["validation"][scored]
        rows.append({"seed": seed, **_score("logistic_regression", y["validation"], probabilities[in_validation],
                                            y["test"], probabilities[~in_validation], genres)})

        folds = assign_folds(split_table, labels, arguments.folds, seed)
        logistic_out_of_fold = np.zeros(y_development.shape)
        for fold in range(arguments.folds):
            held_out = folds == fold
            logistic_out_of_fold[held_out] = _logistic_regression(
                x[development][~held_out], y_development[~held_out], x[development][held_out])
        logistic_test = _logistic_regression(x[development], y_development, x[part["test"]])
        rows.append({"seed": seed, **_score("cross_fitted_logistic_regression", y_development, logistic_out_of_fold,
                                            y["test"], logistic_test, genres)})

        prevalence = y["train"].mean(axis=0)
        rows.append({"seed": seed, **_score(
            "training_frequency", y["validation"], np.tile(prevalence, (len(y["validation"]), 1)),
            y["test"], np.tile(prevalence, (len(y["test"]), 1)), genres)})
        print(pd.DataFrame(rows[-5:]).round(3).to_string(index=False), flush=True)

    results = pd.DataFrame(rows)
    columns = ["tuning_macro_roc_auc", "test_macro_roc_auc", "test_macro_f1", "test_macro_f1_at_0.5"]
    summary = results.groupby("model", sort=False)[columns].agg(["mean", "std"])
    print(f"\n{arguments.backbone}, group column {group_column}, seeds {arguments.seeds}")
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
