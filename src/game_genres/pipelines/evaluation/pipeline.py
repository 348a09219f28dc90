"""Evaluation: score every backbone, choose the best on train + validation, write the reports."""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Pipeline, node, pipeline

from game_genres.pipelines.namespaces import per_backbone

from .nodes import (
    collect_metrics,
    evaluate_backbone,
    evaluate_prevalence_baseline,
    pick_selected_model,
    plot_backbone_curves,
    predict_scores,
    select_best_model,
)
from .packaging import package_selected_model
from .report import write_reports

SHARED_INPUTS = {"multi_hot_labels", "model_input_table", "genre_vocabulary"}


def create_template() -> Pipeline:
    return pipeline(
        [
            node(
                predict_scores,
                inputs=["embeddings", "head", "model_input_table"],
                outputs="test_scores",
                name="predict_scores",
            ),
            node(
                evaluate_backbone,
                inputs=[
                    "out_of_fold_scores",
                    "test_scores",
                    "multi_hot_labels",
                    "model_input_table",
                    "genre_vocabulary",
                    "best_configuration",
                    "cross_validation",
                    "params:backbone",
                    "params:evaluation",
                ],
                outputs="evaluation",
                name="evaluate_backbone",
            ),
            node(
                plot_backbone_curves,
                inputs=["test_scores", "multi_hot_labels", "model_input_table", "genre_vocabulary", "params:backbone"],
                outputs=["roc_curves", "precision_recall_curves"],
                name="plot_backbone_curves",
            ),
        ]
    )


def create_pipeline(backbones: Iterable[str] = (), **kwargs) -> Pipeline:
    backbones = list(backbones)
    scoring = per_backbone(create_template(), backbones, SHARED_INPUTS, "evaluation", tag="evaluation")

    comparison = pipeline(
        [
            node(
                evaluate_prevalence_baseline,
                inputs=["multi_hot_labels", "model_input_table", "genre_vocabulary", "params:evaluation"],
                outputs="prevalence_baseline",
                name="evaluate_prevalence_baseline",
            ),
            node(
                select_best_model,
                inputs={
                    "params": "params:evaluation",
                    "baseline": "prevalence_baseline",
                    **{f"{key}_evaluation": f"{key}.evaluation" for key in backbones},
                },
                outputs="evaluation_summary",
                name="select_best_model",
            ),
            node(
                pick_selected_model,
                inputs={"summary": "evaluation_summary", **{f"{key}_model": f"{key}.model" for key in backbones}},
                outputs="selected_model",
                name="register_selected_model",
            ),
            node(
                collect_metrics,
                inputs="evaluation_summary",
                outputs="evaluation_metrics",
                name="collect_evaluation_metrics",
            ),
            node(
                write_reports,
                inputs=["evaluation_summary", "class_weights"],
                outputs=["evaluation_report", "evaluation_report_es", "evaluation_f1_by_backbone",
                         "evaluation_frequency_vs_f1"],
                name="write_evaluation_reports",
            ),
        ],
        tags=["evaluation"],
    )
    return scoring + comparison


def create_packaging_pipeline(backbones: Iterable[str] = ()) -> Pipeline:
    """Write the selected model and its decision rules as single files for the packaged MLflow model.

    The outputs ``packaged_model`` and ``packaged_decision_rules`` are the
    inputs of the serving pipeline, which kedro-mlflow logs as the MLflow
    model ``genre_classifier`` at the end of a ``training`` run.
    """
    return pipeline(
        [
            node(
                package_selected_model,
                inputs={
                    "summary": "evaluation_summary",
                    "image_params": "params:image",
                    "inference_params": "params:inference",
                    **{f"{key}_model": f"{key}.model" for key in backbones},
                },
                outputs=["packaged_model", "packaged_decision_rules"],
                name="package_selected_model",
            ),
        ],
        tags=["evaluation", "packaging"],
    )
