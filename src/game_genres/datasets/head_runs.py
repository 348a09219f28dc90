"""Kedro dataset that records every head configuration as a nested MLflow run."""

from __future__ import annotations

import json
import logging
import re
import time
from pathlib import Path, PurePosixPath
from typing import Any

import mlflow
from kedro.io import AbstractDataset
from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

logger = logging.getLogger(__name__)

_INVALID_NAME_CHARACTERS = re.compile(r"[^\w\-. /:]")


def mlflow_metric_name(name: str) -> str:
    """Replace the characters MLflow rejects in metric names (such as parentheses) with '_'."""
    return _INVALID_NAME_CHARACTERS.sub("_", name)


class HeadRunsDataset(AbstractDataset[dict, dict]):
    """JSON record of a backbone's head grid, also logged as nested MLflow runs.

    ``save`` expects ``{"backbone": str, "runs": [run, ...]}`` where each run
    has ``name``, ``params`` (flat dict), ``history`` (metric name -> list of
    per-epoch values) and ``final_metrics`` (metric name -> float). The JSON
    file is always written. When an MLflow run is active (kedro-mlflow opens
    one for each tracked ``kedro run``), every configuration also becomes a
    run nested under it, with each history value logged at its epoch as step.
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> dict:
        return json.loads(Path(self._filepath).read_text(encoding="utf-8"))

    def save(self, data: dict) -> None:
        path = Path(self._filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")

        parent = mlflow.active_run()
        if parent is None:
            logger.info("No active MLflow run: the %d head runs are saved to '%s' only.", len(data["runs"]), path)
            return
        client = MlflowClient()
        for run in data["runs"]:
            self._log_nested_run(client, parent, data.get("backbone", ""), run)
        logger.info("Logged %d head runs nested under MLflow run %s.", len(data["runs"]), parent.info.run_id)

    @staticmethod
    def _log_nested_run(client: MlflowClient, parent: mlflow.ActiveRun, backbone: str, run: dict) -> None:
        child = client.create_run(
            experiment_id=parent.info.experiment_id,
            run_name=run["name"],
            tags={"mlflow.parentRunId": parent.info.run_id, "backbone": backbone},
        )
        run_id = child.info.run_id
        timestamp = int(time.time() * 1000)
        params = [Param(key, str(value)) for key, value in run["params"].items()]
        metrics = [
            Metric(mlflow_metric_name(key), float(value), timestamp, step)
            for key, values in run["history"].items()
            for step, value in enumerate(values, start=1)
        ]
        metrics += [
            Metric(mlflow_metric_name(key), float(value), timestamp, 0)
            for key, value in run["final_metrics"].items()
            if value is not None
        ]
        # log_batch takes at most 1000 metrics and 100 params per call.
        for start in range(0, len(params), 100):
            client.log_batch(run_id, params=params[start : start + 100])
        for start in range(0, len(metrics), 1000):
            client.log_batch(run_id, metrics=metrics[start : start + 1000])
        client.log_batch(run_id, tags=[RunTag("selected", str(bool(run.get("selected", False))).lower())])
        client.set_terminated(run_id)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
