"""Nodes that predict the genres of a folder of covers with a trained classifier."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pandas as pd

from game_genres.images import (
    REASON_UNREADABLE,
    CoverRejectedError,
    check_cover_extension,
    load_cover_bytes_array,
)

logger = logging.getLogger(__name__)

REJECT_COLUMNS = ["cover", "reason", "detail"]
PROBABILITY_PREFIX = "probability."


def decode_cover(cover: str, data: bytes, image_params: dict[str, Any]) -> np.ndarray:
    """Check one cover's extension, then decode and resize its bytes.

    The inference pipeline and the packaged MLflow model both decode covers
    with this function, so they accept and reject the same files.

    Args:
        cover: The file name or path, which gives the extension and names the
            cover in error details.
        data: The file's bytes.
        image_params: ``image`` parameters: ``size``, ``resize_policy`` and ``max_pixels``.

    Returns:
        The cover as a ``(size, size, 3)`` uint8 array.

    Raises:
        CoverRejectedError: with one of the ``REASON_*`` codes of ``game_genres.images``.
        TypeError: if ``data`` is not a bytes-like object.
    """
    check_cover_extension(cover)
    return load_cover_bytes_array(
        data, int(image_params["size"]), image_params["resize_policy"], int(image_params["max_pixels"]), cover
    )


def decode_covers(covers: pd.DataFrame, image_params: dict[str, Any]) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Validate, decode and resize each cover with the rules of ingestion and preprocessing.

    Args:
        covers: One row per file: ``cover`` (path relative to the folder),
            ``image`` (the file's bytes) and optionally ``read_error`` (why the
            file could not be read, or None), as CoverFolderDataset loads them.
        image_params: ``image`` parameters: ``size``, ``resize_policy`` and ``max_pixels``.

    Returns:
        The decoded covers as a ``(n_decoded, size, size, 3)`` uint8 array, and
        a table with their ``cover`` paths in the same row order. Then the
        rejects table (``cover``, ``reason``, ``detail``), whose reasons are the
        ``REASON_*`` codes of ``game_genres.images``.
    """
    size = int(image_params["size"])
    read_errors = covers["read_error"] if "read_error" in covers.columns else pd.Series(None, index=covers.index)

    arrays, decoded, rejects = [], [], []
    for cover, data, read_error in zip(covers["cover"], covers["image"], read_errors):
        try:
            if pd.notna(read_error):
                raise CoverRejectedError(
                    REASON_UNREADABLE,
                    f"Cover file {cover!r} could not be read ({read_error}). "
                    "Check that it is a regular file that this user may read.",
                )
            arrays.append(decode_cover(cover, data, image_params))
        except CoverRejectedError as error:
            rejects.append({"cover": cover, "reason": error.reason, "detail": error.detail})
            continue
        decoded.append(cover)

    rejects_table = pd.DataFrame(rejects, columns=REJECT_COLUMNS)
    if rejects:
        by_reason = dict(sorted(Counter(reject["reason"] for reject in rejects).items()))
        logger.warning("Rejected %d of %d covers: %s.", len(rejects), len(covers), by_reason)
    decoded_table = pd.DataFrame({"cover": pd.Series(decoded, dtype=object)})
    if not arrays:
        logger.warning("No usable cover among the %d files of the covers folder.", len(covers))
        return np.zeros((0, size, size, 3), dtype=np.uint8), decoded_table, rejects_table
    return np.stack(arrays), decoded_table, rejects_table


def select_classifier(classifiers: dict[str, Any], backbone: str | None) -> dict[str, Any]:
    """Load the classifier of ``backbone``, or of the backbone that evaluation selected when it is None.

    Args:
        classifiers: As GenreClassifierDataset loads them: ``selected_backbone``
            and ``backbones``, a dict of load functions by backbone key.
        backbone: A backbone key from the evaluation summary, or None.
    """
    available = classifiers["backbones"]
    key = classifiers["selected_backbone"] if backbone is None else backbone
    if key not in available:
        raise ValueError(
            f"inference.backbone is {backbone!r}, but the evaluation summary has no such backbone "
            f"(evaluated: {sorted(available)}). Set it to one of these, or to null for the one "
            f"evaluation selected ({classifiers['selected_backbone']!r})."
        )
    loader: Callable[[], dict[str, Any]] = available[key]
    return loader()


def predict_probabilities(model: keras.Model, images: np.ndarray, batch_size: int) -> np.ndarray:
    """Run the full model on uint8 covers, ``batch_size`` at a time.

    The covers go in as float32 in 0..255 because the model applies its backbone's
    input scaling itself.

    Returns:
        Genre probabilities, ``(n_covers, n_genres)`` float32.
    """
    if batch_size < 1:
        raise ValueError(f"inference.batch_size must be at least 1, got {batch_size}.")
    expected = tuple(model.input_shape[1:3])
    if tuple(images.shape[1:3]) != expected:
        raise ValueError(
            f"The model takes {expected[0]}x{expected[1]} covers, but the covers were resized to "
            f"{images.shape[1]}x{images.shape[2]}. Set the image size used in training, for example "
            f"'kedro run --pipelines inference --params image.size={expected[0]}'."
        )

    n_genres = model.output_shape[-1]
    blocks = [np.zeros((0, n_genres), dtype=np.float32)]
    for first in range(0, len(images), batch_size):
        batch = np.asarray(images[first : first + batch_size], dtype=np.float32)
        blocks.append(keras.ops.convert_to_numpy(model(batch, training=False)).astype(np.float32))
    return np.concatenate(blocks)


def build_predictions(
    covers: pd.Series, probabilities: np.ndarray, genres: list[str], thresholds: list[float]
) -> pd.DataFrame:
    """Tabulate probabilities, predicted genres and top genre, one row per cover.

    A genre is predicted when its probability >= its threshold, the rule that
    evaluation tuned the thresholds for. ``predicted_genres`` joins them with '|'
    in genre order and is empty when no genre passes. ``top_genre`` is the genre
    with the highest probability, the first in genre order on a tie.
    """
    passed = probabilities >= np.asarray(thresholds, dtype=np.float64)[np.newaxis, :]
    table = pd.DataFrame({"cover": covers.to_numpy(dtype=object)})
    table["predicted_genres"] = ["|".join(g for g, p in zip(genres, row) if p) for row in passed]
    table["top_genre"] = [genres[i] for i in probabilities.argmax(axis=1)]
    for column, genre in enumerate(genres):
        table[PROBABILITY_PREFIX + genre] = probabilities[:, column].astype(np.float64)
    return table


def predict_genres(
    images: np.ndarray, decoded: pd.DataFrame, classifiers: dict[str, Any], params: dict[str, Any]
) -> pd.DataFrame:
    """Predict the genres of every decoded cover with the chosen classifier.

    Args:
        images: Decoded covers, ``(n_covers, size, size, 3)`` uint8.
        decoded: Their ``cover`` paths, in the row order of ``images``.
        classifiers: As GenreClassifierDataset loads them.
        params: ``inference`` parameters: ``backbone`` (a key, or null for the
            backbone evaluation selected) and ``batch_size``.

    Returns:
        One row per cover: ``cover``, ``predicted_genres``, ``top_genre``, one
        ``probability.<genre>`` column per genre and ``backbone``.
    """
    classifier = select_classifier(classifiers, params.get("backbone"))
    probabilities = predict_probabilities(classifier["model"], images, int(params["batch_size"]))
    predictions = build_predictions(decoded["cover"], probabilities, classifier["genres"], classifier["thresholds"])
    predictions["backbone"] = classifier["backbone"]

    with_genre = int((predictions["predicted_genres"] != "").sum())
    logger.info(
        "Predicted the genres of %d covers with backbone %s (%s); %d have at least one genre above its threshold.",
        len(predictions), classifier["backbone"], classifier["architecture"], with_genre,
    )
    return predictions
