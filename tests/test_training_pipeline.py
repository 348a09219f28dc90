"""Training and evaluation pipelines end to end on tiny colour-coded covers.

The covers draw each genre as a stripe of its own colour, so even ResNet50 with
random weights yields embeddings from which a head can learn the genres. The
pipelines run once per module through the real Kedro runner, with a real
SQLite MLflow store in a temporary folder. Each test inspects one result.
"""

from __future__ import annotations

import json

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from conftest import make_project, run_pipelines, write_colour_dataset, write_conf

BACKBONES = {"resnet50": "ResNet50", "efficientnetb0": "EfficientNetB0"}
CONFIGURATIONS = ["Adam_1e-03", "SGD_1e-02"]


TRAINING_OVERRIDES = """
backbones: [resnet50, efficientnetb0]
resnet50:
  backbone:
    weights: null
    input_size: 32
    grid: {optimizers: [Adam, SGD], learning_rates: [1.0e-3]}
    head: {epochs: 25, patience: 10}
efficientnetb0:
  backbone:
    weights: null
    input_size: 32
    grid: {optimizers: [Adam, SGD], learning_rates: [1.0e-3, 1.0e-2]}
    head: {epochs: 25, patience: 10}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("training")
    project = make_project(root)
    table, covers = write_colour_dataset(root / "colour_data", n_games=90, size=32, seed=3)
    write_conf(project, "local", "parameters_training.yml", TRAINING_OVERRIDES)
    params = {
        "games_table": str(table),
        "covers_dir": str(covers),
        "image": {"size": 32},
        "preprocessing": {"min_examples": 5},
        "mlflow_tracking_uri": f"sqlite:///{project}/mlflow.db",
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setenv("KERAS_HOME", str(root / "keras_home"))
        run_pipelines(project, ["ingestion", "preprocessing"], runtime_params=params)
        run_pipelines(project, ["training"], runtime_params=params)
        run_pipelines(project, ["evaluation"], runtime_params=params)
    client = MlflowClient(tracking_uri=params["mlflow_tracking_uri"])
    experiment = client.get_experiment_by_name("game_genres")
    runs = client.search_runs([experiment.experiment_id])
    return {"project": project, "client": client, "experiment": experiment, "runs": runs,
            "tracking_uri": params["mlflow_tracking_uri"]}


def _run_named(trained: dict, name: str):
    matches = [run for run in trained["runs"] if run.info.run_name == name]
    assert len(matches) == 1, f"expected one MLflow run named {name}, found {len(matches)}"
    return matches[0]


def test_one_nested_run_per_configuration(trained):
    names = {run.info.run_name for run in trained["runs"]}
    expected = {"ResNet50_Adam_1e-03", "ResNet50_SGD_1e-03",
                "EfficientNetB0_Adam_1e-03", "EfficientNetB0_Adam_1e-02",
                "EfficientNetB0_SGD_1e-03", "EfficientNetB0_SGD_1e-02"}
    assert expected <= names


def test_nested_runs_have_training_parent(trained):
    parent = _run_named(trained, "training")
    children = [run for run in trained["runs"] if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 6
    assert all(run.info.status == "FINISHED" for run in children)


def test_nested_run_logs_metrics_per_epoch(trained):
    run = _run_named(trained, "EfficientNetB0_Adam_1e-03")
    client = trained["client"]
    epochs = int(run.data.metrics["epochs_run"])
    for metric in ("loss", "val_loss", "roc_auc", "val_roc_auc", "binary_accuracy", "val_binary_accuracy",
                   "precision", "val_precision", "recall", "val_recall"):
        history = client.get_metric_history(run.info.run_id, metric)
        assert [point.step for point in history] == list(range(1, epochs + 1)), metric


def test_nested_run_logs_parameters(trained):
    run = _run_named(trained, "ResNet50_SGD_1e-03")
    assert run.data.params["optimizer"] == "SGD"
    assert float(run.data.params["learning_rate"]) == pytest.approx(1e-3)
    assert run.data.params["backbone"] == "ResNet50"


def test_nested_run_logs_per_genre_auc(trained):
    run = _run_named(trained, "EfficientNetB0_Adam_1e-03")
    assert "val_roc_auc.Action" in run.data.metrics
    assert "val_recall_at_0.5.Racing" in run.data.metrics


def test_parent_run_has_curves_and_metrics(trained):
    parent = _run_named(trained, "training")
    client = trained["client"]
    for key in BACKBONES:
        artifacts = {item.path for item in client.list_artifacts(parent.info.run_id, key)}
        assert f"{key}/{key}_loss_curves.png" in artifacts
        assert f"{key}/{key}_roc_auc_curves.png" in artifacts
        assert f"{key}/best_configuration.json" in artifacts
        assert f"{key}.best_val_macro_roc_auc" in parent.data.metrics
        assert f"{key}.embedding_seconds" in parent.data.metrics


def test_selected_models_logged_to_mlflow(trained):
    parent = _run_named(trained, "training")
    models = trained["client"].search_logged_models(experiment_ids=[trained["experiment"].experiment_id])
    names = {model.name for model in models if model.source_run_id == parent.info.run_id}
    # The training pipeline also evaluates, so it logs the selected Keras
    # model and the packaged pyfunc model too.
    assert names == {"resnet50_model", "efficientnetb0_model", "selected_model", "genre_classifier"}


def test_colour_genres_are_learned(trained):
    # Chance is 0.5; colour stripes are easy to tell apart even through a
    # randomly initialised ResNet50.
    best = json.loads((trained["project"] / "data/06_models/resnet50/best_configuration.json").read_text())
    assert best["val_macro_roc_auc"] > 0.9


def test_best_configuration_is_max_of_grid(trained):
    runs = json.loads((trained["project"] / "data/06_models/efficientnetb0/head_runs.json").read_text())["runs"]
    best = json.loads((trained["project"] / "data/06_models/efficientnetb0/best_configuration.json").read_text())
    top = max(run["final_metrics"]["val_macro_roc_auc"] for run in runs)
    assert best["val_macro_roc_auc"] == pytest.approx(top)
    assert sum(run["selected"] for run in runs) == 1


def test_saved_model_takes_raw_images(trained):
    project = trained["project"]
    model = keras.saving.load_model(project / "data/06_models/efficientnetb0/model.keras", compile=False)
    head = keras.saving.load_model(project / "data/06_models/efficientnetb0/head.keras", compile=False)
    images = np.load(project / "data/05_model_input/cover_images.npy")[:5].astype("float32")
    embeddings = np.load(project / "data/04_feature/efficientnetb0/embeddings.npy")[:5]
    vocabulary = json.loads((project / "data/05_model_input/genre_vocabulary.json").read_text())
    from_images = keras.ops.convert_to_numpy(model(images))
    assert from_images.shape == (5, len(vocabulary["genres"]))
    np.testing.assert_allclose(from_images, keras.ops.convert_to_numpy(head(embeddings)), atol=1e-5)


def test_embeddings_cover_every_game(trained):
    project = trained["project"]
    table = pd.read_parquet(project / "data/05_model_input/model_input_table.parquet")
    for key in BACKBONES:
        embeddings = np.load(project / f"data/04_feature/{key}/embeddings.npy")
        assert embeddings.shape[0] == len(table)
        assert np.isfinite(embeddings).all()


def test_evaluation_summary_schema(trained):
    summary = json.loads((trained["project"] / "data/08_reporting/evaluation_summary.json").read_text())
    assert summary["schema_version"] == 2
    assert summary["selected_backbone"] in BACKBONES
    assert summary["selection"]["split"] == "out_of_fold"
    for key in BACKBONES:
        evaluation = summary["backbones"][key]
        assert evaluation["cross_validation"]["folds"] == 5
        for split in ("out_of_fold", "test"):
            for thresholds in ("tuned", "default"):
                assert "macro avg" in evaluation[split][thresholds]["classification_report"]
        assert len(evaluation["thresholds"]) == 4


def test_selection_uses_out_of_fold_metric(trained):
    summary = json.loads((trained["project"] / "data/08_reporting/evaluation_summary.json").read_text())
    values = {key: b["out_of_fold"]["tuned"]["macro_f1"] for key, b in summary["backbones"].items()}
    assert summary["selected_backbone"] == max(values, key=values.get)


def test_reports_written_in_both_languages(trained):
    reporting = trained["project"] / "data/08_reporting"
    english = (reporting / "evaluation_report.md").read_text(encoding="utf-8")
    spanish = (reporting / "evaluation_report.es.md").read_text(encoding="utf-8")
    assert "Comparison of backbones" in english
    assert "Comparación de backbones" in spanish
    for image in ("evaluation_f1_by_backbone.png", "evaluation_frequency_vs_f1.png",
                  "efficientnetb0_roc_curves.png", "resnet50_precision_recall_curves.png"):
        assert (reporting / image).stat().st_size > 0
        assert f"({image})" in english


def test_selected_model_registered(trained):
    versions = trained["client"].search_model_versions("name='game-genres-classifier'")
    # One version from the training run, which includes evaluation, and one
    # from the evaluation run.
    expected = {_run_named(trained, name).info.run_id for name in ("training", "evaluation")}
    assert {version.run_id for version in versions} == expected
    assert len(versions) == 2
    model = mlflow.keras.load_model(f"models:/game-genres-classifier/{versions[0].version}")
    assert model.output_shape[-1] == 4


def test_evaluation_metrics_logged(trained):
    evaluation = _run_named(trained, "evaluation")
    for key in BACKBONES:
        assert f"evaluation_metrics.{key}.test.tuned.macro_roc_auc" in evaluation.data.metrics
        assert f"evaluation_metrics.{key}.out_of_fold.tuned.macro_f1" in evaluation.data.metrics


def test_thresholds_tuned_on_out_of_fold_scores(trained):
    from game_genres.metrics import tune_thresholds

    project = trained["project"]
    table = pd.read_parquet(project / "data/05_model_input/model_input_table.parquet")
    labels = np.load(project / "data/05_model_input/multi_hot_labels.npy")
    development = np.sort(table.loc[table["split"] != "test", "position"].to_numpy())
    scores = np.load(project / "data/07_model_output/resnet50/out_of_fold_scores.npy")
    assert scores.shape == (len(development), 4)

    summary = json.loads((project / "data/08_reporting/evaluation_summary.json").read_text())
    evaluation = summary["backbones"]["resnet50"]
    assert evaluation["out_of_fold"]["tuned"]["n_samples"] == len(development)
    expected = tune_thresholds(labels[development], scores, [row["genre"] for row in evaluation["thresholds"]])
    assert [row["threshold"] for row in evaluation["thresholds"]] == pytest.approx(expected["threshold"].tolist())


def test_cross_validation_logged_to_mlflow(trained):
    parent = _run_named(trained, "training")
    client = trained["client"]
    for key in BACKBONES:
        assert f"{key}.out_of_fold_macro_roc_auc" in parent.data.metrics
        history = client.get_metric_history(parent.info.run_id, f"{key}.fold_held_out_macro_roc_auc")
        assert sorted(point.step for point in history) == [0, 1, 2, 3, 4]
        artifacts = {item.path for item in client.list_artifacts(parent.info.run_id, key)}
        assert f"{key}/cross_validation.json" in artifacts
