"""Nodes that embed covers with a frozen backbone and fit a grid of heads on the embeddings."""

from __future__ import annotations

import logging
import time
from typing import Any

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from game_genres.metrics import roc_auc_per_genre
from game_genres.modeling import WeightedBinaryCrossentropy, assemble_model, build_feature_extractor, build_head
from game_genres.plots import plot_training_curves

logger = logging.getLogger(__name__)

OPTIMIZERS = {"SGD", "Adam"}


# The splits that the final head trains on, by cross-fitting.
DEVELOPMENT_SPLITS = ("train", "validation")


def split_positions(model_input: pd.DataFrame, split: str) -> np.ndarray:
    """Return the rows of the model input arrays that belong to ``split``, in ascending order."""
    return np.sort(model_input.loc[model_input["split"] == split, "position"].to_numpy())


def development_positions(model_input: pd.DataFrame) -> np.ndarray:
    """Return the rows of the train and validation games, in ascending order.

    The out-of-fold scores have their rows in this order.
    """
    return np.sort(np.concatenate([split_positions(model_input, split) for split in DEVELOPMENT_SPLITS]))


def embed_covers(
    cover_images: np.ndarray, backbone: dict[str, Any], training: dict[str, Any]
) -> tuple[np.ndarray, keras.Model, dict[str, Any]]:
    """Run the frozen backbone once over every cover.

    Args:
        cover_images: ``(n_games, size, size, 3)`` uint8 RGB, usually memory-mapped.
        backbone: This backbone's parameters (architecture, weights, input_size, alpha).
        training: Shared training parameters (``embedding_batch_size``, ``seed``).

    Returns:
        Three values. First the embeddings, ``(n_games, embedding_dim)``
        float32 in the row order of ``cover_images``. Then the feature
        extractor, saved so that the final model reuses exactly these backbone
        weights, random ones included. Last, timing metrics for MLflow.
    """
    name = backbone["architecture"]
    image_size = int(cover_images.shape[1])
    # Seeded so that a backbone with random weights (weights: null) gets the
    # same initialisation, and hence the same embeddings, on every run.
    keras.utils.set_random_seed(int(training["seed"]))
    extractor = build_feature_extractor(backbone, image_size)
    batch_size = int(training["embedding_batch_size"])

    start = time.perf_counter()
    blocks = []
    with tqdm(total=len(cover_images), desc=f"Embedding covers with {name}", unit="image") as progress:
        for first in range(0, len(cover_images), batch_size):
            batch = np.asarray(cover_images[first : first + batch_size], dtype="float32")
            blocks.append(keras.ops.convert_to_numpy(extractor(batch, training=False)))
            progress.update(len(batch))
    embeddings = np.concatenate(blocks).astype("float32")
    seconds = time.perf_counter() - start
    spread = float(embeddings.std(axis=0).mean()) if len(embeddings) > 1 else 0.0
    if spread < 1e-6:
        # Seen with random weights at small input sizes: batch normalisation
        # then flattens every cover to the same vector, and every head can only
        # predict each genre's base rate.
        logger.warning(
            "%s embeddings barely vary between covers (mean standard deviation %.2e), so no head can "
            "learn from them. Use pretrained weights (weights: imagenet or a weights file) or a larger "
            "input_size for this backbone.", name, spread,
        )

    logger.info("%s embedded %d covers in %.1f s (%.1f images/s), %d dimensions.",
                name, len(embeddings), seconds, len(embeddings) / max(seconds, 1e-9), embeddings.shape[1])
    metrics = {
        "embedding_seconds": {"value": seconds, "step": 0},
        "embedding_images_per_second": {"value": len(embeddings) / max(seconds, 1e-9), "step": 0},
    }
    return embeddings, extractor, metrics


def make_optimizer(name: str, learning_rate: float, head: dict[str, Any]) -> keras.optimizers.Optimizer:
    if name == "Adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    if name == "SGD":
        return keras.optimizers.SGD(learning_rate=learning_rate, momentum=float(head.get("sgd_momentum", 0.0)))
    raise ValueError(f"Unknown optimizer '{name}' in the grid; expected one of {sorted(OPTIMIZERS)}.")


def run_name(architecture: str, optimizer: str, learning_rate: float) -> str:
    """Name a head configuration, for example ``MobileNetV2_Adam_5e-05``."""
    return f"{architecture}_{optimizer}_{learning_rate:.0e}"


def compile_head(head_model: keras.Model, optimizer: keras.optimizers.Optimizer,
                 loss: keras.losses.Loss, n_genres: int) -> None:
    """Compile a head with the training loss and the metrics logged per epoch."""
    head_model.compile(
        optimizer=optimizer,
        loss=loss,
        metrics=[
            # multi_label=True: one ROC curve per genre, then their mean (macro ROC AUC).
            keras.metrics.AUC(multi_label=True, num_labels=n_genres, curve="ROC", name="roc_auc"),
            keras.metrics.BinaryAccuracy(name="binary_accuracy"),
            keras.metrics.Precision(name="precision"),
            keras.metrics.Recall(name="recall"),
        ],
    )


def fit_heads(
    embeddings: np.ndarray,
    labels: np.ndarray,
    model_input: pd.DataFrame,
    class_weights: dict[str, Any],
    backbone: dict[str, Any],
    training: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Train one head per optimizer and learning rate; choose the best on validation.

    Each head is trained on the training embeddings with the per-genre
    weighted binary cross-entropy, early-stopped on validation ROC AUC
    (restoring the best epoch), then scored with scikit-learn's exact
    per-genre ROC AUC on validation. The configuration with the highest
    macro ROC AUC wins; ties go to the earlier configuration in the grid.
    ``cross_fit_heads`` then trains the final head with it.

    Returns:
        The record of every run (for ``HeadRunsDataset``), the best
        configuration with its best epoch, and its metrics for the parent
        MLflow run.
    """
    genres = class_weights["genres"]
    if labels.shape[1] != len(genres):
        raise ValueError(
            f"Labels have {labels.shape[1]} genres but the class weights list {len(genres)}; "
            "rerun the preprocessing pipeline so both come from the same vocabulary."
        )
    architecture = backbone["architecture"]
    head_params = backbone["head"]
    grid = backbone["grid"]
    seed = int(training["seed"])
    train_rows = split_positions(model_input, "train")
    validation_rows = split_positions(model_input, "validation")
    x_train, y_train = embeddings[train_rows], labels[train_rows].astype("float32")
    x_validation, y_validation = embeddings[validation_rows], labels[validation_rows].astype("float32")

    configurations = [(opt, float(lr)) for opt in grid["optimizers"] for lr in grid["learning_rates"]]
    runs, best = [], None
    start = time.perf_counter()
    for optimizer_name, learning_rate in tqdm(configurations, desc=f"Fitting {architecture} heads", unit="head"):
        name = run_name(architecture, optimizer_name, learning_rate)
        keras.utils.set_random_seed(seed)
        head_model = build_head(embeddings.shape[1], len(genres), head_params)
        loss = WeightedBinaryCrossentropy(class_weights["positive_weight"], class_weights["negative_weight"])
        compile_head(head_model, make_optimizer(optimizer_name, learning_rate, head_params), loss, len(genres))
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_roc_auc", mode="max", patience=int(head_params["patience"]), restore_best_weights=True
        )
        fit_start = time.perf_counter()
        history = head_model.fit(
            x_train, y_train,
            validation_data=(x_validation, y_validation),
            epochs=int(head_params["epochs"]),
            batch_size=int(head_params["batch_size"]),
            callbacks=[stopper],
            shuffle=True,
            verbose=0,
        ).history
        fit_seconds = time.perf_counter() - fit_start

        scores = head_model.predict(x_validation, batch_size=512, verbose=0)
        per_genre = roc_auc_per_genre(y_validation.astype(int), scores, genres)
        macro = float(per_genre.mean(skipna=True))
        recall_at_half = ((scores >= 0.5) & (y_validation > 0)).sum(axis=0) / np.maximum(y_validation.sum(axis=0), 1)
        best_epoch = int(np.argmax(history["val_roc_auc"])) + 1
        final_metrics = {
            "val_macro_roc_auc": macro,
            "best_epoch": best_epoch,
            "epochs_run": len(history["loss"]),
            "fit_seconds": fit_seconds,
            **{f"val_roc_auc.{g}": (None if np.isnan(v) else float(v)) for g, v in per_genre.items()},
            **{f"val_recall_at_0.5.{g}": float(r) for g, r in zip(genres, recall_at_half)},
        }
        runs.append({
            "name": name,
            "params": {
                "backbone": architecture,
                "optimizer": optimizer_name,
                "learning_rate": learning_rate,
                "hidden_units": head_params.get("hidden_units"),
                "dropout": head_params.get("dropout"),
                "batch_size": head_params["batch_size"],
                "max_epochs": head_params["epochs"],
                "patience": head_params["patience"],
                "seed": seed,
            },
            "history": {key: [float(v) for v in values] for key, values in history.items()},
            "final_metrics": final_metrics,
        })
        logger.info("%s: validation macro ROC AUC %.4f (best epoch %d of %d).",
                    name, macro, best_epoch, len(history["loss"]))
        if best is None or macro > best["val_macro_roc_auc"]:
            best = {"name": name, "optimizer": optimizer_name, "learning_rate": learning_rate,
                    "val_macro_roc_auc": macro, "best_epoch": best_epoch}

    for run in runs:
        run["selected"] = run["name"] == best["name"]
    total_seconds = time.perf_counter() - start
    logger.info("%s: best head %s with validation macro ROC AUC %.4f; %d heads fitted in %.1f s.",
                architecture, best["name"], best["val_macro_roc_auc"], len(runs), total_seconds)
    best_configuration = {**best, "backbone": architecture, "heads_fitted": len(runs),
                          "fit_heads_seconds": total_seconds, "genres": genres}
    best_metrics = {
        "best_val_macro_roc_auc": {"value": best["val_macro_roc_auc"], "step": 0},
        "fit_heads_seconds": {"value": total_seconds, "step": 0},
    }
    return {"backbone": architecture, "runs": runs}, best_configuration, best_metrics


def build_genre_model(feature_extractor: keras.Model, head: keras.Model, backbone: dict[str, Any]) -> tuple[keras.Model, keras.Model]:
    """Join backbone and best head into the model that takes raw covers.

    Returns the same model twice: one copy for the local ``.keras`` file that
    evaluation and inference read, one for the MLflow model logged with the run.
    """
    model = assemble_model(feature_extractor, head, name=f"{backbone['architecture']}_genres")
    return model, model


def plot_head_curves(head_runs: dict[str, Any]) -> tuple[Figure, Figure]:
    """Draw training and validation loss and ROC AUC per epoch for every configuration."""
    histories = {run["name"]: run["history"] for run in head_runs["runs"]}
    backbone = head_runs["backbone"]
    loss = plot_training_curves(histories, "loss", f"{backbone}: weighted binary cross-entropy per epoch")
    auc = plot_training_curves(histories, "roc_auc", f"{backbone}: macro ROC AUC per epoch")
    return loss, auc
