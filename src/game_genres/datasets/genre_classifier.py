"""Kedro dataset for the trained genre classifiers and their tuned thresholds."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class GenreClassifierDataset(AbstractDataset[None, dict]):
    """Classifiers that the evaluation pipeline compared, each model loaded on demand.

    ``load`` reads the evaluation summary and returns::

        {"selected_backbone": key, "backbones": {key: load_classifier, ...}}

    with one entry per evaluated backbone. Calling ``load_classifier()`` loads
    ``<models_dir>/<key>/<model_filename>`` and returns a dict with ``backbone``
    (the key), ``architecture``, ``model`` (the Keras model that takes raw covers),
    ``genres`` and ``thresholds`` (one float per genre, in the model's output
    order). Like the load functions of Kedro's PartitionedDataset, the models load
    only when called, so a run reads only the model it uses.
    """

    def __init__(
        self,
        summary_filepath: str,
        models_dir: str,
        model_filename: str = "model.keras",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._summary_filepath = PurePosixPath(summary_filepath)
        self._models_dir = PurePosixPath(models_dir)
        self._model_filename = model_filename
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        summary = self._read_summary()
        loaders: dict[str, Callable[[], dict[str, Any]]] = {}
        for key, evaluation in summary["backbones"].items():
            genres, thresholds = self._parse_thresholds(key, evaluation)
            loaders[key] = partial(
                self._load_classifier, key, evaluation.get("architecture"), genres, thresholds
            )
        return {"selected_backbone": summary["selected_backbone"], "backbones": loaders}

    def _read_summary(self) -> dict[str, Any]:
        path = Path(self._summary_filepath)
        if not path.is_file():
            raise DatasetError(
                f"Evaluation summary not found: '{path}'. Run 'kedro run --pipelines evaluation' "
                "after training, or point 'summary_filepath' in conf/base/catalog_inference.yml at it."
            )
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise DatasetError(
                f"Evaluation summary '{path}' is not valid JSON ({error}). "
                "Run 'kedro run --pipelines evaluation' again to rewrite it."
            ) from error

        missing = [key for key in ("selected_backbone", "backbones") if key not in summary]
        if missing:
            raise DatasetError(
                f"Evaluation summary '{path}' has no {missing} key(s). It was not written by this "
                "project's evaluation pipeline; run 'kedro run --pipelines evaluation' to rewrite it."
            )
        if summary["selected_backbone"] not in summary["backbones"]:
            raise DatasetError(
                f"Evaluation summary '{path}' selects backbone {summary['selected_backbone']!r}, "
                f"which is not among its evaluated backbones {sorted(summary['backbones'])}. "
                "Run 'kedro run --pipelines evaluation' to rewrite it."
            )
        return summary

    def _parse_thresholds(self, key: str, evaluation: dict[str, Any]) -> tuple[list[str], list[float]]:
        records = evaluation.get("thresholds")
        if not records or not all(isinstance(r, dict) and {"genre", "threshold"} <= r.keys() for r in records):
            raise DatasetError(
                f"Evaluation summary '{self._summary_filepath}' has no valid thresholds for backbone "
                f"{key!r}: expected a list of records with 'genre' and 'threshold', got {records!r}. "
                "Run 'kedro run --pipelines evaluation' to rewrite it."
            )
        return [str(r["genre"]) for r in records], [float(r["threshold"]) for r in records]

    def _load_classifier(
        self, key: str, architecture: str | None, genres: list[str], thresholds: list[float]
    ) -> dict[str, Any]:
        import keras

        path = Path(self._models_dir) / key / self._model_filename
        if not path.is_file():
            raise DatasetError(
                f"Model file for backbone {key!r} not found: '{path}'. Train it with "
                f"'kedro run --pipelines backbones --namespaces {key}', then run the evaluation pipeline."
            )
        model = keras.saving.load_model(path, compile=False)

        outputs = model.output_shape[-1]
        if outputs != len(genres):
            raise DatasetError(
                f"Model '{path}' has {outputs} outputs, but the evaluation summary "
                f"'{self._summary_filepath}' lists {len(genres)} genres for backbone {key!r}, so the two "
                "come from different runs. Run 'kedro run --pipelines evaluation' to evaluate this model."
            )
        return {
            "backbone": key,
            "architecture": architecture,
            "model": model,
            "genres": genres,
            "thresholds": thresholds,
        }

    def save(self, data: None) -> None:
        raise DatasetError(
            "GenreClassifierDataset is read-only: the training and evaluation pipelines write its files."
        )

    def _exists(self) -> bool:
        return Path(self._summary_filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {
            "summary_filepath": str(self._summary_filepath),
            "models_dir": str(self._models_dir),
            "model_filename": self._model_filename,
        }
