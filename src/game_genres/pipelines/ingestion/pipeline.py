"""Ingestion: genre table and covers folder in, clean games table out."""

from kedro.pipeline import Pipeline, node, pipeline

from .nodes import ingest_games


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                ingest_games,
                inputs=["games_table", "params:covers_dir", "params:image", "params:ingestion"],
                outputs=["games", "ingestion_rejects", "ingestion_report"],
                name="ingest_games",
            ),
        ]
    )
