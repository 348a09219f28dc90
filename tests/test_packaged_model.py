"""The packaged MLflow model: cover files in, genre predictions out, as the inference pipeline gives them.

Unit tests cover the serving node and the packaging node on a tiny Keras
model. The module fixture trains two small backbones on the colour-coded
covers of conftest (random weights, 32-pixel covers, one head each). It runs
`kedro run --pipelines training` through the real Kedro runner, with a SQLite
MLflow store in a temporary folder, then the inference pipeline on two covers
and an unreadable file. The logged model must give the same predictions when
a separate Python process loads it and when `mlflow models serve` serves it
on 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from kedro_mlflow.pipeline.pipeline_ml import PipelineML
from mlflow.tracking import MlflowClient

from conftest import (
    REPO_ROOT,
    TWO_BACKBONE_TRAINING,
    make_project,
    run_pipelines,
    write_colour_dataset,
    write_conf,
    write_cover,
)
from game_genres.images import REASON_EMPTY_FILE, REASON_MISSING_PATH, REASON_UNREADABLE, REASON_UNSUPPORTED_EXTENSION
from game_genres.pipelines.evaluation.packaging import package_selected_model
from game_genres.pipelines.serving.nodes import predict_cover_requests

IMAGE_SIZE = 32
MODEL_NAME = "genre_classifier"
SERVER_START_SECONDS = 120


COVERS = {"action.png": ["Action"], "puzzle-sports.png": ["Puzzle", "Sports"]}
UNREADABLE = "broken.jpg"
REQUEST_ORDER = ["puzzle-sports.png", UNREADABLE, "action.png"]

# Runs in a separate process, outside the project and without this test
# folder on its path: load the model, predict on the files named in argv,
# pickle the predictions.
PREDICT_SCRIPT = """
import sys
from pathlib import Path

import mlflow
import pandas as pd

model_uri, folder, output, *names = sys.argv[1:]
requests = pd.DataFrame({"cover": names, "image": [(Path(folder) / name).read_bytes() for name in names]})
mlflow.pyfunc.load_model(model_uri).predict(requests).to_pickle(output)
"""


# ---------------------------------------------------------------- registered pipelines


@pytest.fixture(scope="module")
def registered() -> dict:
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(REPO_ROOT)
    return {name: pipelines[name] for name in ("__default__", "backbones", "training")}


def node_names(pipeline) -> set[str]:
    return {node.name for node in pipeline.nodes}


def test_training_pipeline_logs_model(registered):
    training = registered["training"]

    assert isinstance(training, PipelineML)
    assert training.input_name == "cover_requests"
    assert training.log_model_kwargs["name"] == MODEL_NAME


def test_training_pipeline_packages(registered):
    assert "package_selected_model" in node_names(registered["training"])
    assert "select_best_model" in node_names(registered["training"])


def test_backbones_pipeline_only_trains(registered):
    names = node_names(registered["backbones"])

    assert "resnet50.fit_heads" in names
    assert "select_best_model" not in names
    assert "package_selected_model" not in names


def test_default_pipeline_packages(registered):
    assert node_names(registered["training"]) <= node_names(registered["__default__"])


# ---------------------------------------------------------------- serving and packaging nodes


def tiny_model(n_genres: int = 2) -> keras.Model:
    inputs = keras.Input(shape=(8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = keras.layers.Dense(n_genres, activation="sigmoid")(pooled)
    return keras.Model(inputs, outputs)


RULES = {
    "backbone": "tiny",
    "genres": ["Action", "Puzzle"],
    "thresholds": [0.5, 0.5],
    "image": {"size": 8, "resize_policy": "pad", "max_pixels": 1_000_000},
    "batch_size": 4,
}


@pytest.fixture(scope="module")
def png_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("png") / "cover.png"
    write_cover(path, ["Action"], size=8)
    return path.read_bytes()


def test_serving_accepts_base64_text(png_bytes):
    model = tiny_model()
    requests = pd.DataFrame({"cover": ["a.png", "b.png"],
                             "image": [png_bytes, base64.b64encode(png_bytes).decode("ascii")]})

    table = predict_cover_requests(requests, model, RULES)

    assert table["reason"].tolist() == ["", ""]
    np.testing.assert_allclose(table.loc[1, ["probability.Action", "probability.Puzzle"]].to_numpy(dtype=float),
                               table.loc[0, ["probability.Action", "probability.Puzzle"]].to_numpy(dtype=float))


@pytest.mark.parametrize(
    "cover, image, reason",
    [
        ("gone.png", None, REASON_EMPTY_FILE),
        ("text.png", "not base64!", REASON_UNREADABLE),
        (None, b"", REASON_MISSING_PATH),
        ("notes.txt", b"text", REASON_UNSUPPORTED_EXTENSION),
    ],
)
def test_serving_rejects_bad_row(png_bytes, cover, image, reason):
    requests = pd.DataFrame({"cover": ["first.png", cover, "last.png"], "image": [png_bytes, image, png_bytes]})

    table = predict_cover_requests(requests, tiny_model(), RULES)

    assert table["reason"].tolist() == ["", reason, ""]
    assert table.loc[1, "detail"] != ""
    assert np.isnan(table.loc[1, "probability.Action"])
    assert table.loc[1, "predicted_genres"] == ""


def test_serving_keeps_duplicate_names(png_bytes):
    requests = pd.DataFrame({"cover": ["same.png", "same.png"], "image": [png_bytes, b""]})

    table = predict_cover_requests(requests, tiny_model(), RULES)

    assert table["reason"].tolist() == ["", REASON_EMPTY_FILE]


def test_serving_missing_column_raises():
    with pytest.raises(ValueError, match=r"no column \['image'\]"):
        predict_cover_requests(pd.DataFrame({"cover": ["a.png"]}), tiny_model(), RULES)


def test_serving_columns_in_order(png_bytes):
    requests = pd.DataFrame({"cover": ["a.png"], "image": [png_bytes]})

    table = predict_cover_requests(requests, tiny_model(), RULES)

    assert table.columns.tolist() == ["cover", "predicted_genres", "top_genre", "probability.Action",
                                      "probability.Puzzle", "reason", "detail"]


def summary_for(genres: list[str]) -> dict:
    return {
        "selected_backbone": "tiny",
        "backbones": {"tiny": {"architecture": "Tiny",
                               "thresholds": [{"genre": genre, "threshold": 0.25} for genre in genres]}},
    }


def test_packaging_writes_rules():
    image_params = {"size": 8, "resize_policy": "crop", "max_pixels": 1000}

    _, rules = package_selected_model(summary_for(["Action", "Puzzle"]), image_params, {"batch_size": 16},
                                      tiny_model=tiny_model())

    assert rules["genres"] == ["Action", "Puzzle"]
    assert rules["thresholds"] == [0.25, 0.25]
    assert rules["image"] == image_params


def test_packaging_output_mismatch():
    with pytest.raises(ValueError, match="2 outputs.*3 genres"):
        package_selected_model(summary_for(["Action", "Puzzle", "Sports"]),
                               {"size": 8, "resize_policy": "pad", "max_pixels": 1000}, {"batch_size": 16},
                               tiny_model=tiny_model())


def test_packaging_size_from_model():
    _, rules = package_selected_model(summary_for(["Action", "Puzzle"]),
                                      {"size": 224, "resize_policy": "pad", "max_pixels": 1000}, {"batch_size": 16},
                                      tiny_model=tiny_model())

    assert rules["image"]["size"] == 8


# ---------------------------------------------------------------- the logged model after `kedro run --pipelines training`


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("packaged")
    project = make_project(root)
    table, covers = write_colour_dataset(root / "colour_data", n_games=90, size=IMAGE_SIZE, seed=3)
    write_conf(project, "local", "parameters_training.yml", TWO_BACKBONE_TRAINING)
    request_folder = root / "requests"
    for seed, (name, genres) in enumerate(COVERS.items(), start=700):
        write_cover(request_folder / name, genres, size=IMAGE_SIZE, seed=seed)
    (request_folder / UNREADABLE).write_bytes(np.random.default_rng(2).bytes(2048))
    tracking_uri = f"sqlite:///{project}/mlflow.db"
    params = {
        "games_table": str(table),
        "covers_dir": str(covers),
        "inference_covers_dir": str(request_folder),
        "image": {"size": IMAGE_SIZE},
        "preprocessing": {"min_examples": 5},
        "mlflow_tracking_uri": tracking_uri,
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setenv("KERAS_HOME", str(root / "keras_home"))
        run_pipelines(project, ["ingestion", "preprocessing"], runtime_params=params)
        run_pipelines(project, ["training"], runtime_params=params)
        run_pipelines(project, ["inference"], runtime_params=params)

    client = MlflowClient(tracking_uri=tracking_uri)
    experiment = client.get_experiment_by_name("game_genres")
    training_runs = client.search_runs([experiment.experiment_id], filter_string="attributes.run_name = 'training'")
    assert len(training_runs) == 1, f"expected one MLflow run named training, found {len(training_runs)}"
    logged = [model for model in client.search_logged_models(experiment_ids=[experiment.experiment_id])
              if model.name == MODEL_NAME]
    return {
        "root": root,
        "project": project,
        "tracking_uri": tracking_uri,
        "training_run_id": training_runs[0].info.run_id,
        "logged": logged,
        "request_folder": request_folder,
        "predictions": pd.read_csv(project / "data/07_model_output/predictions.csv", keep_default_na=False),
        "rejects": pd.read_csv(project / "data/08_reporting/inference_rejects.csv", keep_default_na=False),
        "rules": json.loads((project / "data/06_models/packaged/decision_rules.json").read_text(encoding="utf-8")),
    }


@pytest.fixture(scope="module")
def model_uri(trained: dict) -> str:
    assert len(trained["logged"]) == 1, f"expected one logged model named {MODEL_NAME}, found {len(trained['logged'])}"
    return trained["logged"][0].model_uri


def server_environment(trained: dict) -> dict[str, str]:
    """Environment of a process that loads the model: the project's tracking store, no test folder on the path."""
    return {
        **os.environ,
        "MLFLOW_TRACKING_URI": trained["tracking_uri"],
        "KERAS_HOME": str(trained["root"] / "keras_home"),
        "PYTHONPATH": "",
        # `mlflow models serve --env-manager local` starts the `uvicorn` script of this environment.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@pytest.fixture(scope="module")
def pyfunc_predictions(trained: dict, model_uri: str, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("plain_python")
    output = folder / "predictions.pkl"
    completed = subprocess.run(
        [sys.executable, "-c", PREDICT_SCRIPT, model_uri, str(trained["request_folder"]), str(output), *REQUEST_ORDER],
        cwd=folder, env=server_environment(trained), capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return pd.read_pickle(output)


def genre_columns(trained: dict) -> list[str]:
    return [f"probability.{genre}" for genre in trained["rules"]["genres"]]


def test_training_logs_packaged_model(trained):
    assert [model.source_run_id for model in trained["logged"]] == [trained["training_run_id"]]


def test_signature_takes_cover_files(model_uri):
    inputs = mlflow.models.get_model_info(model_uri).signature.inputs

    assert inputs.input_names() == ["cover", "image"]
    assert [spec.type.name for spec in inputs.inputs] == ["string", "binary"]


def test_rules_name_selected_backbone(trained):
    summary = json.loads((trained["project"] / "data/08_reporting/evaluation_summary.json").read_text())

    assert trained["rules"]["backbone"] == summary["selected_backbone"]


def test_pyfunc_rows_follow_request(pyfunc_predictions):
    assert pyfunc_predictions["cover"].tolist() == REQUEST_ORDER


def test_pyfunc_matches_inference(trained, pyfunc_predictions):
    expected = trained["predictions"].set_index("cover").loc[list(COVERS)]
    predicted = pyfunc_predictions.set_index("cover").loc[list(COVERS)]
    columns = genre_columns(trained)

    assert predicted["predicted_genres"].tolist() == expected["predicted_genres"].tolist()
    assert predicted["top_genre"].tolist() == expected["top_genre"].tolist()
    np.testing.assert_allclose(predicted[columns].to_numpy(dtype=float), expected[columns].to_numpy(dtype=float),
                               atol=1e-6)


def test_pyfunc_lists_reject(trained, pyfunc_predictions):
    predicted = pyfunc_predictions.set_index("cover")
    expected = trained["rejects"].set_index("cover")

    assert predicted.loc[UNREADABLE, "reason"] == expected.loc[UNREADABLE, "reason"]
    assert predicted.loc[UNREADABLE, "detail"] != ""
    assert predicted.loc[list(COVERS), "reason"].tolist() == ["", ""]


# ---------------------------------------------------------------- `mlflow models serve`


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_ping(server: subprocess.Popen, port: int, log: Path) -> None:
    """Wait until /ping returns 200. Skip if the server exited for a missing dependency, fail otherwise."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            output = log.read_text(encoding="utf-8", errors="replace")
            missing = [line for line in output.splitlines() if "No module named" in line or "command not found" in line]
            if missing:
                pytest.skip(f"mlflow models serve could not start: {missing[-1].strip()}")
            pytest.fail(f"mlflow models serve exited with code {server.returncode}:\n{output[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    output = log.read_text(encoding="utf-8", errors="replace")
    pytest.fail(f"mlflow models serve did not answer /ping within {SERVER_START_SECONDS} s:\n{output[-3000:]}")


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server's process group: `mlflow models serve` and the uvicorn process it started."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def test_served_model_matches_pyfunc(trained, model_uri, pyfunc_predictions, tmp_path):
    names = list(COVERS)
    request = {"dataframe_split": {
        "columns": ["cover", "image"],
        "data": [[name, base64.b64encode((trained["request_folder"] / name).read_bytes()).decode("ascii")]
                 for name in names],
    }}
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local",
             "--host", "127.0.0.1", "-p", str(port)],
            cwd=tmp_path, env=server_environment(trained), stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_ping(server, port, log)
        post = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations", data=json.dumps(request).encode("utf-8"),
            headers={"Content-Type": "application/json"}, method="POST",
        )
        with urllib.request.urlopen(post, timeout=60) as response:
            served = pd.DataFrame(json.loads(response.read())["predictions"])
    finally:
        stop_server(server)

    expected = pyfunc_predictions.set_index("cover").loc[names]
    columns = genre_columns(trained)
    assert served["cover"].tolist() == names
    assert served["predicted_genres"].tolist() == expected["predicted_genres"].tolist()
    np.testing.assert_allclose(served[columns].to_numpy(dtype=float), expected[columns].to_numpy(dtype=float),
                               atol=1e-6)
