"""Training: one namespaced copy of the same pipeline per backbone."""

from __future__ import annotations

from collections.abc import Iterable

from kedro.pipeline import Pipeline, node, pipeline

from game_genres.pipelines.namespaces import per_backbone

from .cross_validation import cross_fit_heads
from .nodes import build_genre_model, embed_covers, fit_heads, plot_head_curves

# Inputs every backbone reads from preprocessing; they keep their names
# instead of getting the backbone's namespace prefix.
SHARED_INPUTS = {"cover_images", "multi_hot_labels", "model_input_table", "class_weights"}


def create_template() -> Pipeline:
    return pipeline(
        [
            node(
                embed_covers,
                inputs=["cover_images", "params:backbone", "params:training"],
                outputs=["embeddings", "feature_extractor", "embedding_metrics"],
                name="embed_covers",
            ),
            node(
                fit_heads,
                inputs=[
                    "embeddings",
                    "multi_hot_labels",
                    "model_input_table",
                    "class_weights",
                    "params:backbone",
                    "params:training",
                ],
                outputs=["head_runs", "best_configuration", "best_metrics"],
                name="fit_heads",
            ),
            node(
                cross_fit_heads,
                inputs=[
                    "embeddings",
                    "multi_hot_labels",
                    "model_input_table",
                    "best_configuration",
                    "params:backbone",
                    "params:training",
                ],
                outputs=["head", "out_of_fold_scores", "cross_validation", "cross_validation_metrics"],
                name="cross_fit_heads",
            ),
            node(
                build_genre_model,
                inputs=["feature_extractor", "head", "params:backbone"],
                outputs=["model", "mlflow_model"],
                name="build_genre_model",
            ),
            node(
                plot_head_curves,
                inputs="head_runs",
                outputs=["loss_curves", "roc_auc_curves"],
                name="plot_head_curves",
            ),
        ]
    )


def create_pipeline(backbones: Iterable[str] = (), **kwargs) -> Pipeline:
    """Instantiate the template once per backbone key (for example ``mobilenetv2``).

    Each copy lives in the namespace named after the key, reads its settings
    from ``params:<key>.backbone`` and writes ``<key>.embeddings``,
    ``<key>.model`` and so on.
    """
    return per_backbone(create_template(), backbones, SHARED_INPUTS, "training", tag="training")
