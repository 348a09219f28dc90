"""Serving pipeline: the inference part of the packaged MLflow model."""

from .pipeline import INPUT_NAME, MODEL_NAME, create_pipeline, log_model_kwargs, model_signature

__all__ = ["INPUT_NAME", "MODEL_NAME", "create_pipeline", "log_model_kwargs", "model_signature"]
