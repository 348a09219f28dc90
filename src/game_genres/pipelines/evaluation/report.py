"""Evaluation report in English and Spanish, with its comparison plots."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from game_genres.plots import plot_f1_by_backbone, plot_frequency_vs_f1

TEXT = {
    "en": {
        "title": "Genre classification: evaluation report",
        "intro": (
            "For each backbone, training chooses a head configuration on validation ROC AUC, then trains it "
            "again once per fold of train + validation. Each training and validation cover is scored by the fold head that "
            "did not train on it: these out-of-fold (OOF) scores choose each genre's decision threshold, the one "
            "that maximises its F1. The final model averages the fold heads and is scored once on the test "
            "split; results at the default threshold {default} are shown beside those at tuned thresholds."
        ),
        "selected": "Selected model",
        "selected_text": (
            "**{backbone}** ({architecture}) has the highest out-of-fold {metric} on train + validation at "
            "tuned thresholds ({value}); ties would go to the higher out-of-fold {tie_breaker}. The test "
            "split played no part in the choice: its figures below are an unbiased estimate."
        ),
        "comparison": "Comparison of backbones",
        "columns": ["Backbone", "Weights", "Head configuration", "OOF macro F1 (tuned)", "OOF macro ROC AUC",
                    "Test macro ROC AUC", "Test micro ROC AUC", "Test macro F1 (tuned)", "Test macro F1 ({default})",
                    "Test micro F1 (tuned)", "Test subset accuracy", "Test Hamming loss"],
        "baseline": "Genre-frequency baseline",
        "baseline_note": (
            "The baseline predicts each genre's train + validation frequency for every cover: it ranks no cover above "
            "another within a genre, so its macro ROC AUC is 0.5. Its micro ROC AUC, which pools all genres, "
            "only reflects that some genres are more frequent than others."
        ),
        "random_weights": "random",
        "weights_file": "file",
        "per_genre": "Per-genre results on test: {backbone}",
        "genre_columns": ["Genre", "Threshold", "Precision", "Recall", "F1", "F1 at {default}", "ROC AUC", "Support"],
        "undefined_auc": (
            "ROC AUC is undefined for {genres} on test (no positive or no negative example), so those genres "
            "are left out of the macro ROC AUC."
        ),
        "plots": "Plots",
        "f1_plot": "Per-genre F1 on test at tuned thresholds, by backbone",
        "frequency_plot": "Training examples per genre against test F1",
        "roc_plot": "ROC curves on test: {backbone}",
        "pr_plot": "Precision-recall curves on test: {backbone}",
        "averages": "Averages on test (tuned thresholds)",
        "average_columns": ["Average", "Precision", "Recall", "F1", "Support"],
        "files": (
            "Machine-readable figures: `evaluation_summary.json` (schema version {schema}). "
            "Per-genre thresholds are in the same file."
        ),
    },
    "es": {
        "title": "Clasificación de géneros: informe de evaluación",
        "intro": (
            "Para cada backbone, el entrenamiento elige una configuración de cabeza por el ROC AUC de "
            "validación y la vuelve a entrenar una vez por pliegue de entrenamiento + validación. Cada una de "
            "esas portadas recibe la puntuación de la cabeza del pliegue que no se entrenó con ella: con estas puntuaciones "
            "fuera de pliegue (OOF) se elige el umbral de decisión de cada género, el que maximiza su F1. El "
            "modelo final promedia las cabezas de los pliegues y se evalúa una sola vez en el conjunto de "
            "prueba; al lado de los resultados con umbrales ajustados se muestran los del umbral por defecto "
            "{default}."
        ),
        "selected": "Modelo seleccionado",
        "selected_text": (
            "**{backbone}** ({architecture}) obtiene el mayor {metric} fuera de pliegue en entrenamiento + "
            "validación con umbrales ajustados ({value}); un empate se resolvería por el mayor {tie_breaker} "
            "fuera de pliegue. El conjunto de prueba no interviene en la elección: sus cifras, más abajo, son una "
            "estimación sin sesgo."
        ),
        "comparison": "Comparación de backbones",
        "columns": ["Backbone", "Pesos", "Configuración de cabeza", "F1 macro OOF (umbrales ajustados)", "ROC AUC macro OOF",
                    "ROC AUC macro prueba", "ROC AUC micro prueba", "F1 macro prueba (umbrales ajustados)",
                    "F1 macro prueba ({default})", "F1 micro prueba (umbrales ajustados)", "Exactitud de subconjunto prueba",
                    "Pérdida de Hamming prueba"],
        "baseline": "Referencia por frecuencia de género",
        "baseline_note": (
            "La referencia predice para cada portada la frecuencia de cada género en entrenamiento + validación: dentro de "
            "un género no ordena ninguna portada por encima de otra, así que su ROC AUC macro es 0,5. Su ROC AUC "
            "micro, que junta todos los géneros, solo refleja que unos géneros son más frecuentes que otros."
        ),
        "random_weights": "aleatorios",
        "weights_file": "archivo",
        "per_genre": "Resultados por género en prueba: {backbone}",
        "genre_columns": ["Género", "Umbral", "Precisión", "Exhaustividad", "F1", "F1 con {default}", "ROC AUC", "Soporte"],
        "undefined_auc": (
            "El ROC AUC no está definido en prueba para {genres} (sin ejemplos positivos o sin negativos), "
            "por lo que esos géneros quedan fuera del ROC AUC macro."
        ),
        "plots": "Gráficos",
        "f1_plot": "F1 por género en prueba con umbrales ajustados, por backbone",
        "frequency_plot": "Ejemplos de entrenamiento por género frente al F1 de prueba",
        "roc_plot": "Curvas ROC en prueba: {backbone}",
        "pr_plot": "Curvas de precisión-exhaustividad en prueba: {backbone}",
        "averages": "Promedios en prueba (umbrales ajustados)",
        "average_columns": ["Promedio", "Precisión", "Exhaustividad", "F1", "Soporte"],
        "files": (
            "Cifras legibles por programas: `evaluation_summary.json` (versión de esquema {schema}). "
            "Los umbrales por género están en el mismo archivo."
        ),
    },
}


def _number(value: float | None, language: str, digits: int = 3) -> str:
    if value is None:
        return "n/a" if language == "en" else "n/d"
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if language == "es" else text


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def f1_table(summary: dict[str, Any]) -> pd.DataFrame:
    """Return test F1 at tuned thresholds, genres by backbone."""
    columns = {}
    for key, evaluation in summary["backbones"].items():
        report = evaluation["test"]["tuned"]["classification_report"]
        genres = [row["genre"] for row in evaluation["thresholds"]]
        columns[key] = pd.Series({genre: report[genre]["f1-score"] for genre in genres})
    return pd.DataFrame(columns)


def _short_number(value: float, language: str) -> str:
    """Write a parameter value such as a threshold or alpha as given, with a decimal comma in Spanish."""
    text = f"{value:g}"
    return text.replace(".", ",") if language == "es" else text


def _headers(names: list[str], default: float, language: str) -> list[str]:
    return [name.format(default=_short_number(default, language)) for name in names]


def _weights_label(evaluation: dict[str, Any], text: dict[str, Any], language: str) -> str:
    weights = evaluation.get("weights")
    if weights is None:
        label = text["random_weights"]
    elif weights == "imagenet":
        label = "ImageNet"
    else:
        label = text["weights_file"]
    if evaluation.get("alpha") is not None:
        label += f", alpha {_short_number(float(evaluation['alpha']), language)}"
    return label


def _comparison_rows(summary: dict[str, Any], text: dict[str, Any], language: str) -> list[list[str]]:
    rows = []
    for key, evaluation in summary["backbones"].items():
        out_of_fold, test = evaluation["out_of_fold"]["tuned"], evaluation["test"]
        rows.append([
            f"{key} ({evaluation['architecture']})",
            _weights_label(evaluation, text, language),
            evaluation["best_configuration"].get("name", ""),
            _number(out_of_fold["macro_f1"], language),
            _number(out_of_fold["roc_auc"]["macro"], language),
            _number(test["tuned"]["roc_auc"]["macro"], language),
            _number(test["tuned"]["roc_auc"]["micro"], language),
            _number(test["tuned"]["macro_f1"], language),
            _number(test["default"]["macro_f1"], language),
            _number(test["tuned"]["micro_f1"], language),
            _number(test["tuned"]["subset_accuracy"], language),
            _number(test["tuned"]["hamming_loss"], language),
        ])
    baseline = summary["baseline"]
    rows.append([
        text["baseline"], "", "",
        _number(baseline["out_of_fold"]["tuned"]["macro_f1"], language),
        _number(baseline["out_of_fold"]["tuned"]["roc_auc"]["macro"], language),
        _number(baseline["test"]["tuned"]["roc_auc"]["macro"], language),
        _number(baseline["test"]["tuned"]["roc_auc"]["micro"], language),
        _number(baseline["test"]["tuned"]["macro_f1"], language),
        "", _number(baseline["test"]["tuned"]["micro_f1"], language),
        _number(baseline["test"]["tuned"]["subset_accuracy"], language),
        _number(baseline["test"]["tuned"]["hamming_loss"], language),
    ])
    return rows


def _per_genre_section(key: str, evaluation: dict[str, Any], text: dict[str, Any], language: str) -> list[str]:
    tuned, default = evaluation["test"]["tuned"], evaluation["test"]["default"]
    rows = []
    for entry in evaluation["thresholds"]:
        genre = entry["genre"]
        report = tuned["classification_report"][genre]
        rows.append([
            genre,
            _number(entry["threshold"], language),
            _number(report["precision"], language),
            _number(report["recall"], language),
            _number(report["f1-score"], language),
            _number(default["classification_report"][genre]["f1-score"], language),
            _number(tuned["roc_auc"]["per_genre"][genre], language),
            str(report["support"]),
        ])
    averages = [
        [name, _number(tuned["classification_report"][name]["precision"], language),
         _number(tuned["classification_report"][name]["recall"], language),
         _number(tuned["classification_report"][name]["f1-score"], language),
         str(tuned["classification_report"][name]["support"])]
        for name in ("micro avg", "macro avg", "weighted avg", "samples avg")
    ]
    label = f"{key} ({evaluation['architecture']})"
    lines = [f"### {text['per_genre'].format(backbone=label)}", "",
             _table(_headers(text["genre_columns"], evaluation["default_threshold"], language), rows), "",
             f"**{text['averages']}**", "",
             _table(text["average_columns"], averages), ""]
    undefined = tuned["roc_auc"]["undefined_genres"]
    if undefined:
        lines += [text["undefined_auc"].format(genres=", ".join(f"'{g}'" for g in undefined)), ""]
    lines += [
        f"![{text['roc_plot'].format(backbone=key)}]({key}_roc_curves.png)",
        f"![{text['pr_plot'].format(backbone=key)}]({key}_precision_recall_curves.png)", "",
    ]
    return lines


def render_report(summary: dict[str, Any], language: str) -> str:
    """Render the evaluation summary as a Markdown report in ``language`` ('en' or 'es')."""
    text = TEXT[language]
    selection = summary["selection"]
    selected = summary["backbones"][summary["selected_backbone"]]
    default = float(selected["default_threshold"])
    lines = [
        f"# {text['title']}", "",
        text["intro"].format(default=_short_number(default, language)), "",
        f"## {text['selected']}", "",
        text["selected_text"].format(
            backbone=summary["selected_backbone"], architecture=selected["architecture"],
            metric=selection["metric"], tie_breaker=selection["tie_breaker"],
            value=_number(selection["ranking"][0][selection["metric"]], language),
        ), "",
        f"## {text['comparison']}", "",
        _table(_headers(text["columns"], default, language), _comparison_rows(summary, text, language)), "",
        text["baseline_note"], "",
        f"## {text['plots']}", "",
        f"![{text['f1_plot']}](evaluation_f1_by_backbone.png)", "",
        f"![{text['frequency_plot']}](evaluation_frequency_vs_f1.png)", "",
    ]
    for key, evaluation in summary["backbones"].items():
        lines += _per_genre_section(key, evaluation, text, language)
    lines += [text["files"].format(schema=summary["schema_version"]), ""]
    return "\n".join(lines)


def write_reports(summary: dict[str, Any], class_weights: dict[str, Any]) -> tuple[str, str, Figure, Figure]:
    """Render both reports and the two cross-backbone plots."""
    f1 = f1_table(summary)
    support = pd.Series(dict(zip(class_weights["genres"], class_weights["positives"])))
    return (
        render_report(summary, "en"),
        render_report(summary, "es"),
        plot_f1_by_backbone(f1),
        plot_frequency_vs_f1(support, f1),
    )
