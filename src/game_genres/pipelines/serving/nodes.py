"""Node that predicts the genres of the covers in one request to the packaged MLflow model."""

from __future__ import annotations

import base64
import binascii
import logging
from collections import Counter
from typing import Any

import keras
import numpy as np
import pandas as pd

from game_genres.images import REASON_EMPTY_FILE, REASON_MISSING_PATH, REASON_UNREADABLE, CoverRejectedError
from game_genres.pipelines.inference.nodes import PROBABILITY_PREFIX, build_predictions, decode_cover, predict_probabilities

logger = logging.getLogger(__name__)

REQUEST_COLUMNS = ("cover", "image")


def _request_bytes(cover: str, image: Any) -> bytes:
    """Return the bytes of one request's image, decoding a base64 string.

    A JSON request reaches the model with ``image`` already decoded by MLflow,
    because the model signature types it as binary. A DataFrame passed to
    ``predict`` directly may carry base64 text instead.
    """
    if isinstance(image, (bytes, bytearray, memoryview)):
        return bytes(image)
    if isinstance(image, str):
        try:
            return base64.b64decode(image, validate=True)
        except binascii.Error as error:
            raise CoverRejectedError(
                REASON_UNREADABLE,
                f"Cover {cover!r} has an image string that is not valid base64 ({error}). "
                "Send the file's bytes, or their standard base64 encoding.",
            ) from error
    if image is None or (pd.api.types.is_scalar(image) and pd.isna(image)):
        raise CoverRejectedError(
            REASON_EMPTY_FILE,
            f"Cover {cover!r} has no image. Send the file's bytes in the 'image' column.",
        )
    raise TypeError(
        f"Cover {cover!r} has an image of type {type(image).__name__}; send the file's bytes "
        "or their base64 encoding as a string."
    )


def _check_cover_name(cover: Any) -> str:
    if isinstance(cover, str) and cover.strip():
        return cover
    raise CoverRejectedError(
        REASON_MISSING_PATH,
        f"Cover name is missing ({cover!r}). Send the file name, for example 'cover.png', "
        "whose extension gives the image type.",
    )


def predict_cover_requests(
    requests: pd.DataFrame, model: keras.Model, rules: dict[str, Any]
) -> pd.DataFrame:
    """Decode every requested cover and predict its genres at the packaged thresholds.

    Covers are decoded with the inference pipeline's functions and rules, so a
    cover gets the same probabilities here as in ``predictions.csv``.

    Args:
        requests: One row per cover: ``cover`` (the file name, whose extension
            must be a supported image type) and ``image`` (the file's bytes, or
            their base64 encoding as a string). Other columns are ignored.
        model: The packaged Keras model, which takes raw covers.
        rules: The packaged decision rules (``package_selected_model``).

    Returns:
        One row per request row, in request order: ``cover``,
        ``predicted_genres`` ('|'-joined), ``top_genre``, one
        ``probability.<genre>`` column per genre, ``reason`` and ``detail``.
        For a decoded cover ``reason`` and ``detail`` are empty strings. For a
        rejected cover they hold the ``REASON_*`` code of ``game_genres.images``
        and a sentence, the genre columns are empty strings and the
        probabilities are NaN.
    """
    missing = [column for column in REQUEST_COLUMNS if column not in requests.columns]
    if missing:
        raise ValueError(
            f"The request has no column {missing}; it has {list(requests.columns)}. Send a table with "
            "'cover' (the file name, such as 'cover.png') and 'image' (the file's bytes, "
            "base64-encoded in JSON)."
        )
    genres = list(rules["genres"])
    size = int(rules["image"]["size"])

    arrays, decoded_rows, decoded_covers, rejects = [], [], [], []
    for row, (cover, image) in enumerate(zip(requests["cover"], requests["image"])):
        try:
            name = _check_cover_name(cover)
            arrays.append(decode_cover(name, _request_bytes(name, image), rules["image"]))
        except CoverRejectedError as error:
            rejects.append({"row": row, "cover": cover, "reason": error.reason, "detail": error.detail})
            continue
        decoded_rows.append(row)
        decoded_covers.append(name)

    images = np.stack(arrays) if arrays else np.zeros((0, size, size, 3), dtype=np.uint8)
    probabilities = predict_probabilities(model, images, int(rules["batch_size"]))
    predictions = build_predictions(pd.Series(decoded_covers, dtype=object), probabilities, genres, rules["thresholds"])
    predictions.index = decoded_rows
    predictions["reason"] = ""
    predictions["detail"] = ""

    rejected = pd.DataFrame(rejects, columns=["row", "cover", "reason", "detail"]).set_index("row")
    rejected["predicted_genres"] = ""
    rejected["top_genre"] = ""
    for genre in genres:
        rejected[PROBABILITY_PREFIX + genre] = np.nan
    if rejects:
        by_reason = dict(sorted(Counter(reject["reason"] for reject in rejects).items()))
        logger.warning("Rejected %d of %d requested covers: %s.", len(rejects), len(requests), by_reason)

    parts = [part for part in (predictions, rejected[predictions.columns]) if not part.empty]
    table = pd.concat(parts).sort_index() if parts else predictions
    return table.reset_index(drop=True)
