"""Evaluation pipeline, and the packaging of the selected model."""

from .pipeline import create_packaging_pipeline, create_pipeline

__all__ = ["create_packaging_pipeline", "create_pipeline"]
