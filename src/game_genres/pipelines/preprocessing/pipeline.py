"""Preprocessing: clean games in, vocabulary, multi-hot labels, split, weights and image tensor out."""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import (
    build_genre_vocabulary,
    compute_class_weights,
    encode_multi_hot,
    prepare_cover_images,
    report_preprocessing,
    split_games,
)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                build_genre_vocabulary,
                inputs=["games", "params:preprocessing"],
                outputs="genre_vocabulary",
                name="build_genre_vocabulary",
            ),
            node(
                encode_multi_hot,
                inputs=["games", "genre_vocabulary"],
                outputs=["labelled_games", "preprocessing_rejects"],
                name="encode_multi_hot",
            ),
            node(
                split_games,
                inputs=["labelled_games", "genre_vocabulary", "params:preprocessing.split"],
                outputs=["model_input_table", "multi_hot_labels"],
                name="split_games",
            ),
            node(
                compute_class_weights,
                inputs=["model_input_table", "multi_hot_labels", "genre_vocabulary"],
                outputs="class_weights",
                name="compute_class_weights",
            ),
            node(
                prepare_cover_images,
                inputs=["model_input_table", "params:covers_dir", "params:image"],
                outputs="cover_images",
                name="prepare_cover_images",
            ),
            node(
                report_preprocessing,
                inputs=["genre_vocabulary", "model_input_table", "multi_hot_labels", "preprocessing_rejects"],
                outputs="preprocessing_report",
                name="report_preprocessing",
            ),
        ]
    )
