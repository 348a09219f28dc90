"""Shared fixtures: a throw-away copy of the Kedro project and tiny cover data sets."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
RETRO_BOXART = SHARED / "datasets" / "retro-boxart"
MOBILENET_WEIGHTS = SHARED / "weights" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5"

# Two small backbones with random weights on 32-pixel covers: ResNet50 still
# separates the colour stripes (see test_training_pipeline.py), so its
# probabilities differ from cover to cover, and MobileNetV2 at alpha 0.35 is
# the cheapest second backbone for choosing between models.
TWO_BACKBONE_TRAINING = """
backbones: [resnet50, mobilenetv2]
resnet50:
  backbone:
    weights: null
    input_size: 32
    grid: {optimizers: [Adam], learning_rates: [1.0e-3]}
    head: {epochs: 10, patience: 5}
mobilenetv2:
  backbone:
    weights: null
    input_size: 32
    alpha: 0.35
    grid: {optimizers: [Adam], learning_rates: [1.0e-3]}
    head: {epochs: 10, patience: 5}
"""

# One colour per genre: a cover's genres are drawn as vertical stripes of these
# colours, so a model can tell genres apart from pixels alone.
GENRE_COLOURS = {
    "Action": (220, 30, 30),
    "Puzzle": (30, 200, 30),
    "Sports": (30, 30, 220),
    "Racing": (230, 220, 20),
}


def write_cover(path: Path, genres: list[str], size: int = 32, seed: int = 0) -> None:
    """Write a small RGB cover whose stripes show its genres' colours, with noise."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 40, size=(size, size, 3)).astype(np.int16) + 100
    width = size // max(len(genres), 1)
    for i, genre in enumerate(genres):
        pixels[:, i * width : (i + 1) * width] = np.asarray(GENRE_COLOURS[genre]) + rng.integers(-15, 15, (size, width, 3))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path)


def write_colour_dataset(root: Path, n_games: int = 80, size: int = 32, seed: int = 0) -> tuple[Path, Path]:
    """Write a genre table and covers where each genre has its own colour.

    Genres are unbalanced on purpose (Action on most games, Racing on few),
    and about a quarter of the games have two genres.
    """
    rng = np.random.default_rng(seed)
    genres = list(GENRE_COLOURS)
    frequencies = np.array([0.45, 0.25, 0.2, 0.1])
    rows = []
    for i in range(n_games):
        first = genres[rng.choice(len(genres), p=frequencies)]
        chosen = [first]
        if rng.random() < 0.25:
            second = genres[rng.choice(len(genres), p=frequencies)]
            if second != first:
                chosen.append(second)
        cover = f"platform-{i % 3}/game-{i:03d}.png"
        write_cover(root / "covers" / cover, chosen, size=size, seed=seed * 1000 + i)
        rows.append({"game_id": f"game-{i:03d}", "title": f"Game {i}", "genres": "|".join(chosen), "cover": cover})
    table = root / "games.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return table, root / "covers"


def make_project(root: Path) -> Path:
    """Copy the project's configuration into ``root/project`` and return that folder.

    Data, the MLflow store and artifacts of runs started from there all land
    under it; the installed ``game_genres`` package provides the code.
    """
    project = root / "project"
    project.mkdir()
    shutil.copy(REPO_ROOT / "pyproject.toml", project / "pyproject.toml")
    shutil.copytree(REPO_ROOT / "conf" / "base", project / "conf" / "base")
    (project / "conf" / "local").mkdir()
    (project / "src").mkdir()
    return project


@pytest.fixture
def kedro_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throw-away copy of the project, with the working directory set to it."""
    project = make_project(tmp_path)
    monkeypatch.chdir(project)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return project


def write_conf(project: Path, env: str, name: str, text: str) -> None:
    """Write one configuration file into ``conf/<env>/`` of a test project."""
    folder = project / "conf" / env
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def run_pipelines(
    project: Path,
    pipelines: list[str],
    runtime_params: dict[str, Any] | None = None,
    env: str | None = None,
) -> dict[str, Any]:
    """Run registered pipelines through a real ``KedroSession``, as ``kedro run`` does."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro_mlflow.framework.hooks.mlflow_hook import mlflow_hook

    import mlflow

    bootstrap_project(project)
    try:
        with KedroSession.create(project_path=project, env=env, runtime_params=runtime_params or {}) as session:
            return session.run(pipeline_names=pipelines)
    finally:
        # `kedro run` starts one process per run, but here several sessions
        # share one process. A run left open by a node thread must not become
        # the next session's parent run.
        while mlflow.active_run():
            mlflow.end_run()
        # kedro-mlflow 2.0.3 registers one hook instance per process and keeps
        # the last run's id on it. A later session whose pipelines are not
        # tracked would reopen that run before each node, and fail when the
        # run lives in another test's MLflow store.
        mlflow_hook.run_id = None


@pytest.fixture
def colour_data(tmp_path: Path) -> Callable[..., dict[str, str]]:
    """Return a factory that writes a colour data set and its runtime parameters."""

    def make(n_games: int = 80, size: int = 32, seed: int = 0) -> dict[str, str]:
        table, covers = write_colour_dataset(tmp_path / "colour_data", n_games=n_games, size=size, seed=seed)
        return {"games_table": str(table), "covers_dir": str(covers)}

    return make
