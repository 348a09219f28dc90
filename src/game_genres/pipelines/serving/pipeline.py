"""Serving: the pipeline that kedro-mlflow packages, with the settings of the logged MLflow model."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from kedro.pipeline import Pipeline, node, pipeline
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, Schema

from .nodes import predict_cover_requests

# The dataset that callers of the packaged model provide.
INPUT_NAME = "cover_requests"
# Name of the MLflow model that a `training` run logs.
MODEL_NAME = "genre_classifier"

# Distributions that loading the packaged model imports, pinned to the
# versions of the environment that logs it.
REQUIREMENTS = ("mlflow", "kedro", "kedro-datasets", "kedro-mlflow", "tensorflow", "keras",
                "numpy", "pandas", "pillow")


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                predict_cover_requests,
                inputs=[INPUT_NAME, "packaged_model", "packaged_decision_rules"],
                outputs="cover_predictions",
                name="predict_cover_requests",
            ),
        ],
        tags=["serving"],
    )


def model_signature() -> ModelSignature:
    """Describe the input of the packaged model: a cover file name and the file's bytes per row.

    Binary columns travel base64-encoded in JSON requests, and MLflow decodes
    them before the model receives them. The output has one
    ``probability.<genre>`` column per genre of the training data, which is
    unknown when the pipelines are built, so the signature has no output schema.
    """
    return ModelSignature(inputs=Schema([ColSpec(DataType.string, "cover"), ColSpec(DataType.binary, "image")]))


def log_model_kwargs() -> dict[str, Any]:
    """Return the arguments that kedro-mlflow passes to ``mlflow.pyfunc.log_model``.

    The ``game_genres`` package travels with the model as code, so a process
    without this project can load it. Listing the requirements also spares
    MLflow from loading the model in a subprocess to detect them.
    """
    return {
        "name": MODEL_NAME,
        "signature": model_signature(),
        "code_paths": [str(Path(__file__).resolve().parents[2])],
        "pip_requirements": [f"{name}=={version(name)}" for name in REQUIREMENTS],
    }
