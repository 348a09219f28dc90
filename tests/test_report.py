"""The bilingual evaluation report, rendered from a summary that the evaluation nodes build."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from game_genres.pipelines.evaluation.nodes import evaluate_backbone, evaluate_prevalence_baseline, select_best_model
from game_genres.pipelines.evaluation.report import render_report

GENRES = ["Action", "Puzzle", "Racing"]
PARAMS = {"default_threshold": 0.4, "selection_metric": "macro_f1", "tie_breaker": "macro_roc_auc"}


@pytest.fixture(scope="module")
def summary() -> dict:
    rng = np.random.default_rng(0)
    splits = ["train"] * 30 + ["validation"] * 10 + ["test"] * 10
    model_input = pd.DataFrame({"position": np.arange(50), "split": splits})
    labels = (rng.random((50, 3)) < 0.4).astype(np.uint8)
    labels[:40, 2] = np.arange(40) % 3 == 0
    labels[40:, 2] = 0  # Racing has no test positive: its test ROC AUC is undefined.
    scores = np.clip(labels * 0.5 + rng.random((50, 3)) * 0.5, 0, 1).astype("float32")
    development, test = scores[:40], scores[40:]
    evaluation = evaluate_backbone(
        development, test, labels, model_input, {"genres": GENRES},
        {"name": "MobileNetV2_Adam_1e-03", "genres": GENRES},
        {"folds": 5, "epochs": 3, "per_fold": []},
        {"architecture": "MobileNetV2", "weights": "imagenet", "alpha": 0.35},
        PARAMS,
    )
    baseline = evaluate_prevalence_baseline(labels, model_input, {"genres": GENRES}, PARAMS)
    return select_best_model(PARAMS, baseline, mobilenetv2_evaluation=evaluation)


def test_headers_show_default_threshold(summary):
    assert "Test macro F1 (0.4)" in render_report(summary, "en")
    assert "F1 at 0.4" in render_report(summary, "en")
    assert "F1 macro prueba (0,4)" in render_report(summary, "es")
    assert "F1 con 0,4" in render_report(summary, "es")


def test_spanish_report_uses_decimal_commas(summary):
    spanish = render_report(summary, "es")
    assert "ImageNet, alpha 0,35" in spanish
    assert "alpha 0.35" not in spanish
    assert "ImageNet, alpha 0.35" in render_report(summary, "en")
    macro_f1 = summary["backbones"]["mobilenetv2"]["test"]["tuned"]["macro_f1"]
    assert f"{macro_f1:.3f}".replace(".", ",") in spanish


def test_report_names_selected_backbone(summary):
    assert "**mobilenetv2** (MobileNetV2) has the highest out-of-fold macro_f1" in render_report(summary, "en")
    assert "**mobilenetv2** (MobileNetV2) obtiene el mayor macro_f1 fuera de pliegue" in render_report(summary, "es")


def test_report_explains_undefined_auc(summary):
    assert "ROC AUC is undefined for 'Racing' on test" in render_report(summary, "en")
    assert "no está definido en prueba para 'Racing'" in render_report(summary, "es")


def test_summary_has_out_of_fold_and_test(summary):
    evaluation = summary["backbones"]["mobilenetv2"]
    assert set(evaluation) >= {"out_of_fold", "test", "thresholds", "cross_validation"}
    assert "per_fold" not in evaluation["cross_validation"]
    assert evaluation["out_of_fold"]["tuned"]["n_samples"] == 40
    assert evaluation["test"]["tuned"]["n_samples"] == 10
