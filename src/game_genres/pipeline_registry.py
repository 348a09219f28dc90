"""Project pipelines."""

from __future__ import annotations

import os

from kedro.config import OmegaConfigLoader
from kedro.framework.project import settings
from kedro.pipeline import Pipeline
from kedro_mlflow.pipeline import pipeline_ml_factory

from game_genres.pipelines import evaluation, inference, ingestion, preprocessing, serving, training


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
    """Register the project's pipelines.

    ``training`` trains every backbone, evaluates them, packages the selected
    model and, through kedro-mlflow, logs one MLflow model, ``genre_classifier``,
    that runs the serving pipeline: cover files in, genre probabilities and
    predicted genres out. ``evaluation`` re-evaluates trained models and logs
    no packaged model.

    ``backbones`` contains the training nodes only. Run one backbone with
    ``kedro run --pipelines backbones --namespaces mobilenetv2``: filtering
    ``training`` by namespace drops the packaging node, and kedro-mlflow then
    rejects the pipeline because the serving inputs have no producer.
    """
    backbones = configured_backbones()
    backbone_training = training.create_pipeline(backbones=backbones)
    evaluation_pipeline = evaluation.create_pipeline(backbones=backbones)
    training_nodes = (
        backbone_training + evaluation_pipeline + evaluation.create_packaging_pipeline(backbones=backbones)
    )
    pipelines = {
        "ingestion": ingestion.create_pipeline(),
        "preprocessing": preprocessing.create_pipeline(),
        "backbones": backbone_training,
        "training": pipeline_ml_factory(
            training=training_nodes,
            inference=serving.create_pipeline(),
            input_name=serving.INPUT_NAME,
            log_model_kwargs=serving.log_model_kwargs(),
        ),
        "evaluation": evaluation_pipeline,
        "inference": inference.create_pipeline(),
    }
    # A plain `kedro run` prepares data, trains, evaluates and packages, but
    # as a plain pipeline, so it logs no packaged model: only a `training` run
    # does. Inference needs a folder of new covers and a finished evaluation,
    # so it runs on request.
    pipelines["__default__"] = pipelines["ingestion"] + pipelines["preprocessing"] + training_nodes
    return pipelines
