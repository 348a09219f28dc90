"""MobileNetV2 with its real ImageNet weights, trained on 40 real covers.

Needs the retro-boxart sample and the offline MobileNetV2 (alpha 0.35)
weights beside the checkout; skipped when either is absent.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import MOBILENET_WEIGHTS, RETRO_BOXART, make_project, write_conf
from test_preprocessing import pick_retro_rows

pytestmark = pytest.mark.skipif(
    not (RETRO_BOXART.is_dir() and MOBILENET_WEIGHTS.is_file()),
    reason="the retro-boxart sample or the MobileNetV2 weights are not beside the repository",
)

# Keras names its MobileNetV2 weight files after the input size (96, 128,
# 160, 192 or 224), and only the 224 file is available offline.
TRAINING_OVERRIDES = """
backbones: [mobilenetv2]
mobilenetv2:
  backbone:
    weights: imagenet
    alpha: 0.35
    input_size: 224
    grid: {optimizers: [Adam], learning_rates: [1.0e-3]}
    head: {epochs: 8, patience: 8}
"""


def _kedro_run(project, pipeline: str, params: dict[str, str], keras_home) -> None:
    # A separate `kedro run` process, as a user starts it: Keras reads
    # KERAS_HOME when it is imported, so the variable must be set first.
    environment = {**os.environ, "KERAS_HOME": str(keras_home), "KEDRO_DISABLE_TELEMETRY": "true"}
    arguments = ",".join(f"{key}={value}" for key, value in params.items())
    completed = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipelines", pipeline, "--params", arguments],
        cwd=project, env=environment, capture_output=True, text=True, timeout=600,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]


@pytest.fixture(scope="module")
def trained_on_real_covers(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("real_covers")
    project = make_project(root)
    keras_home = root / "keras_home"
    (keras_home / "models").mkdir(parents=True)
    # Keras finds ImageNet weights in $KERAS_HOME/models before it downloads them.
    shutil.copy(MOBILENET_WEIGHTS, keras_home / "models" / MOBILENET_WEIGHTS.name)

    rows = pick_retro_rows(["Sports", "Puzzle", "Racing", "Strategy"], per_genre=10)
    table = root / "games.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    write_conf(project, "local", "parameters_training.yml", TRAINING_OVERRIDES)
    tracking_uri = f"sqlite:///{project}/mlflow.db"
    params = {
        "games_table": str(table),
        "covers_dir": str(RETRO_BOXART),
        "image.size": "224",
        "preprocessing.min_examples": "6",
        "mlflow_tracking_uri": tracking_uri,
    }
    for pipeline in ("ingestion", "preprocessing", "backbones"):
        _kedro_run(project, pipeline, params, keras_home)
    return {"project": project, "rows": rows, "tracking_uri": tracking_uri}


def test_real_covers_all_embedded(trained_on_real_covers):
    project = trained_on_real_covers["project"]
    embeddings = np.load(project / "data/04_feature/mobilenetv2/embeddings.npy")
    assert embeddings.shape == (40, 1280)
    assert np.isfinite(embeddings).all()
    # Real features differ from cover to cover; a collapsed backbone gives near-identical rows.
    assert embeddings.std(axis=0).mean() > 1e-3


def test_extractor_carries_imagenet_weights(trained_on_real_covers):
    project = trained_on_real_covers["project"]
    extractor = keras.saving.load_model(project / "data/06_models/mobilenetv2/feature_extractor.keras", compile=False)
    reference = keras.applications.MobileNetV2(
        include_top=False, weights=str(MOBILENET_WEIGHTS), alpha=0.35, input_shape=(224, 224, 3), pooling="avg"
    )
    backbone = next(layer for layer in extractor.layers if isinstance(layer, keras.Model))
    first_conv = backbone.get_layer("Conv1").get_weights()[0]
    np.testing.assert_array_equal(first_conv, reference.get_layer("Conv1").get_weights()[0])


def test_real_covers_head_run_logged(trained_on_real_covers):
    client = MlflowClient(tracking_uri=trained_on_real_covers["tracking_uri"])
    experiment = client.get_experiment_by_name("game_genres")
    names = {run.info.run_name for run in client.search_runs([experiment.experiment_id])}
    assert "MobileNetV2_Adam_1e-03" in names


def test_real_covers_model_outputs_probabilities(trained_on_real_covers):
    project = trained_on_real_covers["project"]
    model = keras.saving.load_model(project / "data/06_models/mobilenetv2/model.keras", compile=False)
    images = np.load(project / "data/05_model_input/cover_images.npy")[:4].astype("float32")
    scores = keras.ops.convert_to_numpy(model(images))
    vocabulary = json.loads((project / "data/05_model_input/genre_vocabulary.json").read_text())
    assert scores.shape == (4, len(vocabulary["genres"]))
    assert ((scores >= 0) & (scores <= 1)).all()
