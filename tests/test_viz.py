"""The flow in kedro-viz: a static build lists every pipeline with ordered data layers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_project

PIPELINES = {"ingestion", "preprocessing", "backbones", "training", "evaluation", "inference"}
LAYERS = ["raw", "intermediate", "model_input", "feature", "models", "model_output", "reporting"]


@pytest.fixture(scope="module")
def viz_build(tmp_path_factory: pytest.TempPathFactory) -> dict:
    project = make_project(tmp_path_factory.mktemp("viz"))
    environment = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    completed = subprocess.run(
        [sys.executable, "-m", "kedro", "viz", "build"],
        cwd=project, env=environment, capture_output=True, text=True, timeout=300,
    )
    return {"project": project, "completed": completed}


def _api(viz_build: dict, *parts: str) -> dict:
    return json.loads(Path(viz_build["project"], "build", "api", *parts).read_text())


def test_viz_build_succeeds(viz_build):
    completed = viz_build["completed"]
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "circular dependency" not in completed.stdout + completed.stderr


def test_viz_build_lists_every_pipeline(viz_build):
    main = _api(viz_build, "main")
    assert PIPELINES <= {pipeline["id"] for pipeline in main["pipelines"]}
    for name in PIPELINES:
        assert (viz_build["project"] / "build" / "api" / "pipelines" / name).is_file()


def test_viz_layers_in_flow_order(viz_build):
    assert _api(viz_build, "main")["layers"] == LAYERS


def test_viz_every_dataset_has_layer(viz_build):
    datasets = [node for node in _api(viz_build, "main")["nodes"] if node["type"] == "data"]
    assert [node["name"] for node in datasets if not node.get("layer")] == []


def test_viz_shows_backbones_side_by_side(viz_build):
    training = _api(viz_build, "pipelines", "training")
    assert {"resnet50", "efficientnetb0", "mobilenetv2"} <= set(training["modular_pipelines"])


def test_default_pipeline_leaves_out_inference():
    from kedro.framework.project import pipelines
    from kedro.framework.startup import bootstrap_project

    from conftest import REPO_ROOT

    bootstrap_project(REPO_ROOT)
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    inference_nodes = {node.name for node in pipelines["inference"].nodes}
    assert inference_nodes
    assert default_nodes.isdisjoint(inference_nodes)
    assert {node.name for node in pipelines["evaluation"].nodes} <= default_nodes
