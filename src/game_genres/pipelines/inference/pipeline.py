"""Inference: a folder of covers in, genre probabilities and predicted genres out."""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import decode_covers, predict_genres


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                decode_covers,
                inputs=["inference_covers", "params:image"],
                outputs=["inference_images", "inference_decoded_covers", "inference_rejects"],
                name="decode_inference_covers",
            ),
            node(
                predict_genres,
                inputs=["inference_images", "inference_decoded_covers", "genre_classifiers", "params:inference"],
                outputs="predictions",
                name="predict_genres",
            ),
        ],
        tags=["inference"],
    )
