"""Project pipelines."""

from __future__ import annotations

import os

from kedro.config import OmegaConfigLoader
from kedro.framework.project import settings
from kedro.pipeline import Pipeline

from game_genres.pipelines import evaluation, inference, ingestion, preprocessing, training


def configured_backbones(conf_source: str | None = None, env: str | None = None) -> list[str]:
    """Read the ``backbones`` parameter: the keys of the backbones to build.

    Pipelines are registered before Kedro loads the run's parameters, so this
    reads them itself from ``conf/base`` and the environment in ``KEDRO_ENV``
    (default ``local``).
    """
    loader = OmegaConfigLoader(
        conf_source=conf_source or settings.CONF_SOURCE,
        base_env="base",
        default_run_env=env or os.environ.get("KEDRO_ENV") or "local",
        merge_strategy={"parameters": "soft"},
    )
    backbones = loader["parameters"].get("backbones") or []
    if isinstance(backbones, str):
        backbones = [backbones]
    return list(backbones)


def register_pipelines() -> dict[str, Pipeline]:
    backbones = configured_backbones()
    pipelines = {
        "ingestion": ingestion.create_pipeline(),
        "preprocessing": preprocessing.create_pipeline(),
        "training": training.create_pipeline(backbones=backbones),
        "evaluation": evaluation.create_pipeline(backbones=backbones),
        "inference": inference.create_pipeline(),
    }
    # A plain `kedro run` prepares data, trains and evaluates. Inference needs
    # a folder of new covers and a finished evaluation, so it runs on request.
    pipelines["__default__"] = sum(
        (pipeline for name, pipeline in pipelines.items() if name != "inference"), Pipeline([])
    )
    return pipelines
