"""Node that packages the selected model with the rules that turn its outputs into genres."""

from __future__ import annotations

import logging
from typing import Any

import keras

from game_genres.images import RESIZE_POLICIES

logger = logging.getLogger(__name__)

DECISION_RULES_SCHEMA_VERSION = 1


def package_selected_model(
    summary: dict[str, Any], image_params: dict[str, Any], inference_params: dict[str, Any], **models: keras.Model
) -> tuple[keras.Model, dict[str, Any]]:
    """Pair the model of the backbone that evaluation selected with its decision rules.

    The serving pipeline reads both outputs, and kedro-mlflow copies them into
    the packaged MLflow model, so that model needs nothing else from the project.

    Args:
        summary: The evaluation summary (``select_best_model``).
        image_params: ``image`` parameters: ``resize_policy`` and ``max_pixels``.
            The cover size comes from the model's input shape, because the model
            accepts no other size.
        inference_params: ``inference`` parameters: ``batch_size``.
        models: ``<backbone>_model`` for every evaluated backbone.

    Returns:
        The selected model, unchanged, and its decision rules, a JSON-ready dict:
        ``schema_version``, ``backbone`` (the key), ``architecture``, ``genres``
        and ``thresholds`` (both in the model's output order), ``image``
        (``size``, ``resize_policy``, ``max_pixels``) and ``batch_size``.
    """
    key = summary["selected_backbone"]
    if f"{key}_model" not in models:
        raise ValueError(
            f"The evaluation summary selects backbone {key!r}, but this pipeline has no model for it "
            f"(models: {sorted(name.removesuffix('_model') for name in models)}). Run the evaluation "
            "with the same 'backbones' parameter as training."
        )
    model = models[f"{key}_model"]
    evaluation = summary["backbones"][key]
    genres = [str(record["genre"]) for record in evaluation["thresholds"]]
    thresholds = [float(record["threshold"]) for record in evaluation["thresholds"]]

    outputs = model.output_shape[-1]
    if outputs != len(genres):
        raise ValueError(
            f"The model of backbone {key!r} has {outputs} outputs, but the evaluation summary lists "
            f"{len(genres)} genres for it. Run training and evaluation again on the same preprocessing output."
        )

    policy = image_params["resize_policy"]
    if policy not in RESIZE_POLICIES:
        raise ValueError(f"image.resize_policy is {policy!r}; use one of {list(RESIZE_POLICIES)}.")
    size = model.input_shape[1]
    if size != int(image_params["size"]):
        logger.warning(
            "The model of backbone %s takes %dx%d covers, so the packaged model resizes covers to that size "
            "and ignores image.size=%s. If preprocessing ran with other image.resize_policy or "
            "image.max_pixels values too, pass them to this run as well.",
            key, size, size, image_params["size"],
        )

    batch_size = int(inference_params["batch_size"])
    if batch_size < 1:
        raise ValueError(f"inference.batch_size must be at least 1, got {batch_size}.")

    rules = {
        "schema_version": DECISION_RULES_SCHEMA_VERSION,
        "backbone": key,
        "architecture": evaluation.get("architecture"),
        "genres": genres,
        "thresholds": thresholds,
        "image": {"size": int(size), "resize_policy": policy, "max_pixels": int(image_params["max_pixels"])},
        "batch_size": batch_size,
    }
    logger.info("Packaged the model of backbone %s (%s) with thresholds for %d genres.",
                key, rules["architecture"], len(genres))
    return model, rules
