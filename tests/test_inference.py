"""Inference pipeline: a folder of covers in, genre probabilities and predicted genres out.

Unit tests cover the bytes entry point of game_genres.images, the two inference
datasets and the prediction table. The pipeline tests train two small backbones
on the colour-coded covers of conftest (random weights, 32-pixel covers, one
head each), evaluate them, then run inference through the real Kedro runner on
a folder of fresh covers and broken files. The packaged MLflow model that
training logs is tested in test_packaged_model.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from kedro.io import DatasetError
from PIL import Image

from conftest import (
    GENRE_COLOURS,
    TWO_BACKBONE_TRAINING,
    make_project,
    run_pipelines,
    write_colour_dataset,
    write_conf,
    write_cover,
)
from game_genres.datasets import CoverFolderDataset, GenreClassifierDataset
from game_genres.images import (
    REASON_EMPTY_FILE,
    REASON_TOO_LARGE,
    REASON_TRUNCATED,
    REASON_UNREADABLE,
    REASON_UNSUPPORTED_EXTENSION,
    CoverRejectedError,
    load_cover_array,
    load_cover_bytes_array,
    open_cover_bytes,
    open_cover_rgb,
)
from game_genres.pipelines.inference.nodes import (
    build_predictions,
    decode_covers,
    predict_probabilities,
    select_classifier,
)

MAX_PIXELS = 1_000_000
IMAGE_SIZE = 32
PROJECT_MAX_PIXELS = 50_000_000  # image.max_pixels in conf/base/parameters.yml


# test_training_pipeline.py checks what the pipelines log to MLflow. Here logging
# would only add time, mostly for writing the models into the MLflow store.
NO_TRACKING = """
tracking:
  disable_tracking:
    pipelines: [ingestion, preprocessing, training, evaluation, inference]
"""

GOOD_COVERS = {
    "action.png": ["Action"],
    "puzzle-sports.png": ["Puzzle", "Sports"],
    "racing.jpg": ["Racing"],
    "nested/folder/sports.png": ["Sports"],
}
BAD_COVERS = {
    "broken.jpg": REASON_UNREADABLE,
    "empty.png": REASON_EMPTY_FILE,
    "notes.txt": REASON_UNSUPPORTED_EXTENSION,
    "truncated.jpg": REASON_TRUNCATED,
}


def noise_image(width: int, height: int, channels: int = 3) -> Image.Image:
    """Return random pixels: an RGB image, or RGBA with random transparency for 4 channels."""
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (height, width, channels), dtype=np.uint8))


def encode(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    data = encode(noise_image(64, 64), "JPEG")
    return data[: len(data) // 2]


def rejection(data: bytes, name: str, max_pixels: int = MAX_PIXELS) -> CoverRejectedError:
    with pytest.raises(CoverRejectedError) as caught:
        open_cover_bytes(data, max_pixels, name)
    return caught.value


# ---------------------------------------------------------------- images: bytes entry point


@pytest.mark.parametrize(
    "name, image, image_format",
    [
        ("rgb.png", noise_image(20, 12), "PNG"),
        ("rgba.png", noise_image(12, 20, channels=4), "PNG"),
        ("photo.jpg", noise_image(20, 12), "JPEG"),
        ("palette.gif", noise_image(16, 16).convert("P"), "GIF"),
        ("gray.bmp", noise_image(16, 10).convert("L"), "BMP"),
        ("lossy.webp", noise_image(16, 16), "WEBP"),
    ],
)
def test_bytes_decode_like_file(tmp_path, name, image, image_format):
    data = encode(image, image_format)
    path = tmp_path / name
    path.write_bytes(data)

    from_file, file_info = open_cover_rgb(path, MAX_PIXELS)
    from_bytes, bytes_info = open_cover_bytes(data, MAX_PIXELS, name)

    assert bytes_info == file_info
    np.testing.assert_array_equal(np.asarray(from_bytes), np.asarray(from_file))


def test_bytes_resize_like_file(tmp_path):
    data = encode(noise_image(40, 24), "PNG")
    path = tmp_path / "cover.png"
    path.write_bytes(data)

    expected = load_cover_array(path, 16, "crop", MAX_PIXELS)

    np.testing.assert_array_equal(load_cover_bytes_array(data, 16, "crop", MAX_PIXELS, "cover.png"), expected)


def test_bytes_extension_mismatch():
    _, info = open_cover_bytes(encode(noise_image(8, 8), "PNG"), MAX_PIXELS, "really-a-png.jpg")

    assert info.extension_mismatch


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", REASON_EMPTY_FILE),
        (np.random.default_rng(0).bytes(2048), REASON_UNREADABLE),
        (truncated_jpeg(), REASON_TRUNCATED),
    ],
)
def test_bytes_rejection_reason(data, reason):
    assert rejection(data, "cover.jpg").reason == reason


def test_bytes_oversize_rejected():
    error = rejection(encode(noise_image(40, 30), "PNG"), "big.png", max_pixels=1000)

    assert error.reason == REASON_TOO_LARGE


def test_bytes_detail_names_cover():
    assert "'covers/cut.jpg'" in rejection(truncated_jpeg(), "covers/cut.jpg").detail


def test_unreadable_detail_names_cover():
    # Pillow's own message names the file object, which must not be a memory address.
    detail = rejection(b"not an image", "covers/text.png").detail

    assert "cannot identify image file 'covers/text.png'" in detail


def test_bytes_reject_text():
    with pytest.raises(TypeError, match="bytes"):
        open_cover_bytes("not bytes", MAX_PIXELS, "cover.png")


# ---------------------------------------------------------------- CoverFolderDataset


def test_folder_lists_every_file(tmp_path):
    (tmp_path / "b" / "c").mkdir(parents=True)
    for name in ("z.png", "b/c/a.jpg", ".hidden", "notes.txt"):
        (tmp_path / name).write_bytes(name.encode())

    covers = CoverFolderDataset(path=str(tmp_path)).load()

    assert covers["cover"].tolist() == [".hidden", "b/c/a.jpg", "notes.txt", "z.png"]
    assert covers.loc[covers["cover"] == "b/c/a.jpg", "image"].item() == b"b/c/a.jpg"
    assert covers["read_error"].isna().all()


def test_folder_broken_symlink(tmp_path):
    (tmp_path / "gone.png").symlink_to(tmp_path / "missing.png")

    covers = CoverFolderDataset(path=str(tmp_path)).load()

    assert covers["image"].tolist() == [None]
    assert "broken symlink" in covers["read_error"].item()


def test_folder_missing_raises(tmp_path):
    with pytest.raises(DatasetError, match="inference_covers_dir=PATH"):
        CoverFolderDataset(path=str(tmp_path / "absent")).load()


def test_folder_read_only(tmp_path):
    with pytest.raises(DatasetError, match="read-only"):
        CoverFolderDataset(path=str(tmp_path)).save(pd.DataFrame())


# ---------------------------------------------------------------- GenreClassifierDataset and nodes


def tiny_model(size: int, n_genres: int) -> keras.Model:
    inputs = keras.Input(shape=(size, size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    outputs = keras.layers.Dense(n_genres, activation="sigmoid")(pooled)
    return keras.Model(inputs, outputs)


def write_summary(folder: Path, genres_per_backbone: dict[str, list[str]], selected: str) -> Path:
    summary = {
        "selected_backbone": selected,
        "backbones": {
            key: {
                "architecture": "Tiny",
                "thresholds": [{"genre": genre, "threshold": 0.5, "status": "tuned"} for genre in genres],
            }
            for key, genres in genres_per_backbone.items()
        },
    }
    path = folder / "evaluation_summary.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    return path


@pytest.fixture
def tiny_classifiers(tmp_path):
    summary = write_summary(tmp_path, {"small": ["Action", "Puzzle"], "other": ["Action", "Puzzle", "Sports"]}, "small")
    (tmp_path / "models" / "small").mkdir(parents=True)
    tiny_model(8, 2).save(tmp_path / "models" / "small" / "model.keras")
    dataset = GenreClassifierDataset(summary_filepath=str(summary), models_dir=str(tmp_path / "models"))
    return dataset.load()


def test_classifier_default_is_selected(tiny_classifiers):
    classifier = select_classifier(tiny_classifiers, None)

    assert classifier["backbone"] == "small"
    assert classifier["genres"] == ["Action", "Puzzle"]
    assert classifier["thresholds"] == [0.5, 0.5]


def test_classifier_unknown_backbone(tiny_classifiers):
    with pytest.raises(ValueError, match=r"'nope'.*evaluated: \['other', 'small'\]"):
        select_classifier(tiny_classifiers, "nope")


def test_classifier_missing_model(tiny_classifiers):
    with pytest.raises(DatasetError, match="--namespaces other"):
        select_classifier(tiny_classifiers, "other")


def test_classifier_output_mismatch(tmp_path):
    summary = write_summary(tmp_path, {"small": ["Action", "Puzzle", "Sports"]}, "small")
    (tmp_path / "models" / "small").mkdir(parents=True)
    tiny_model(8, 2).save(tmp_path / "models" / "small" / "model.keras")
    classifiers = GenreClassifierDataset(summary_filepath=str(summary), models_dir=str(tmp_path / "models")).load()

    with pytest.raises(DatasetError, match="has 2 outputs.*lists 3 genres"):
        select_classifier(classifiers, None)


def test_classifier_missing_summary(tmp_path):
    dataset = GenreClassifierDataset(summary_filepath=str(tmp_path / "absent.json"), models_dir=str(tmp_path))

    with pytest.raises(DatasetError, match="--pipelines evaluation"):
        dataset.load()


def test_prediction_size_mismatch():
    with pytest.raises(ValueError, match="image.size=8"):
        predict_probabilities(tiny_model(8, 2), np.zeros((1, 16, 16, 3), dtype=np.uint8), batch_size=4)


def test_prediction_batches_agree():
    model = tiny_model(8, 2)
    images = np.random.default_rng(0).integers(0, 256, (5, 8, 8, 3), dtype=np.uint8)

    one_batch = predict_probabilities(model, images, batch_size=5)

    np.testing.assert_allclose(predict_probabilities(model, images, batch_size=2), one_batch, atol=1e-6)


def test_predictions_table_rules():
    # Values exact in float32, so that the comparison with the float64 thresholds is exact too.
    probabilities = np.array([[0.5, 0.25], [0.125, 0.125], [0.875, 0.75]], dtype=np.float32)

    table = build_predictions(pd.Series(["a.png", "b.png", "c.png"]), probabilities, ["Action", "Puzzle"], [0.5, 0.75])

    # A probability equal to its threshold counts as predicted.
    assert table["predicted_genres"].tolist() == ["Action", "", "Action|Puzzle"]
    # On a tie the first genre in vocabulary order is the top genre.
    assert table["top_genre"].tolist() == ["Action", "Action", "Action"]
    assert table.columns.tolist() == ["cover", "predicted_genres", "top_genre", "probability.Action", "probability.Puzzle"]


def test_decode_rejects_read_error():
    covers = pd.DataFrame({"cover": ["locked.png"], "image": [None], "read_error": ["PermissionError: denied"]})

    images, decoded, rejects = decode_covers(covers, {"size": 8, "resize_policy": "pad", "max_pixels": MAX_PIXELS})

    assert images.shape == (0, 8, 8, 3)
    assert decoded["cover"].tolist() == []
    assert rejects["reason"].tolist() == [REASON_UNREADABLE]
    assert "PermissionError: denied" in rejects["detail"].item()


# ---------------------------------------------------------------- the pipeline through the Kedro runner


def write_inference_folder(folder: Path) -> None:
    for seed, (name, genres) in enumerate(GOOD_COVERS.items(), start=500):
        path = folder / name
        if path.suffix == ".jpg":
            write_cover(path.with_suffix(".png"), genres, size=IMAGE_SIZE, seed=seed)
            Image.open(path.with_suffix(".png")).save(path, format="JPEG", quality=95)
            path.with_suffix(".png").unlink()
        else:
            write_cover(path, genres, size=IMAGE_SIZE, seed=seed)
    (folder / "broken.jpg").write_bytes(np.random.default_rng(1).bytes(2048))
    (folder / "empty.png").write_bytes(b"")
    (folder / "notes.txt").write_text("not a cover", encoding="utf-8")
    (folder / "truncated.jpg").write_bytes(truncated_jpeg())


@pytest.fixture(scope="module")
def inferred(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("inference")
    project = make_project(root)
    table, covers = write_colour_dataset(root / "colour_data", n_games=90, size=IMAGE_SIZE, seed=3)
    write_conf(project, "local", "parameters_training.yml", TWO_BACKBONE_TRAINING)
    write_conf(project, "local", "mlflow.yml", NO_TRACKING)
    inference_covers = root / "new_covers"
    write_inference_folder(inference_covers)
    params = {
        "games_table": str(table),
        "covers_dir": str(covers),
        "inference_covers_dir": str(inference_covers),
        "image": {"size": IMAGE_SIZE},
        "preprocessing": {"min_examples": 5},
        "mlflow_tracking_uri": f"sqlite:///{project}/mlflow.db",
    }
    outputs = project / "data" / "07_model_output" / "predictions.csv"
    rejects = project / "data" / "08_reporting" / "inference_rejects.csv"
    result = {"project": project, "covers": inference_covers}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setenv("KERAS_HOME", str(root / "keras_home"))
        run_pipelines(project, ["ingestion", "preprocessing"], runtime_params=params)
        # Training also runs the evaluation nodes, which write the summary.
        run_pipelines(project, ["training"], runtime_params=params)
        summary = json.loads((project / "data/08_reporting/evaluation_summary.json").read_text())
        selected = summary["selected_backbone"]
        other = next(key for key in summary["backbones"] if key != selected)

        run_pipelines(project, ["inference"], runtime_params=params)
        result["rejects"] = pd.read_csv(rejects, keep_default_na=False)
        result["predictions"] = {selected: pd.read_csv(outputs, keep_default_na=False)}

        run_pipelines(project, ["inference"], runtime_params={**params, "inference": {"backbone": other}})
        result["predictions"][other] = pd.read_csv(outputs, keep_default_na=False)

        with pytest.raises(ValueError) as caught:
            run_pipelines(project, ["inference"], runtime_params={**params, "inference": {"backbone": "absent"}})
        result["unknown_backbone_error"] = str(caught.value)
    return {**result, "summary": summary, "selected": selected, "other": other}


def model_probabilities(inferred: dict, backbone: str, covers: list[str]) -> np.ndarray:
    model = keras.saving.load_model(inferred["project"] / f"data/06_models/{backbone}/model.keras", compile=False)
    images = np.stack([load_cover_array(inferred["covers"] / cover, IMAGE_SIZE, "pad", PROJECT_MAX_PIXELS) for cover in covers])
    return keras.ops.convert_to_numpy(model(images.astype(np.float32), training=False))


def probability_columns(predictions: pd.DataFrame, genres: list[str]) -> np.ndarray:
    return predictions[[f"probability.{genre}" for genre in genres]].to_numpy(dtype=np.float64)


def thresholds_of(inferred: dict, backbone: str) -> tuple[list[str], np.ndarray]:
    records = inferred["summary"]["backbones"][backbone]["thresholds"]
    return [record["genre"] for record in records], np.array([record["threshold"] for record in records])


@pytest.fixture(params=["selected", "other"])
def run(request, inferred) -> dict:
    """The inference run with the selected backbone, then the one with the other backbone."""
    backbone = inferred[request.param]
    genres, thresholds = thresholds_of(inferred, backbone)
    return {"backbone": backbone, "predictions": inferred["predictions"][backbone],
            "genres": genres, "thresholds": thresholds}


def test_one_row_per_good_cover(run):
    assert sorted(run["predictions"]["cover"]) == sorted(GOOD_COVERS)


def test_probabilities_in_unit_range(run):
    probabilities = probability_columns(run["predictions"], run["genres"])

    assert probabilities.min() >= 0.0
    assert probabilities.max() <= 1.0


def test_predicted_genres_in_vocabulary(run):
    predicted = {genre for cell in run["predictions"]["predicted_genres"] for genre in cell.split("|") if genre}

    assert predicted <= set(GENRE_COLOURS)
    assert set(run["predictions"]["top_genre"]) <= set(GENRE_COLOURS)


def test_predicted_genres_follow_thresholds(run):
    probabilities = probability_columns(run["predictions"], run["genres"])

    passed = probabilities >= run["thresholds"]
    expected = ["|".join(genre for genre, p in zip(run["genres"], row) if p) for row in passed]

    assert run["predictions"]["predicted_genres"].tolist() == expected


def test_predictions_match_model(inferred, run):
    predictions = run["predictions"]
    expected = model_probabilities(inferred, run["backbone"], predictions["cover"].tolist())

    np.testing.assert_allclose(probability_columns(predictions, run["genres"]), expected, atol=1e-6)


def test_predictions_name_backbone(run):
    assert set(run["predictions"]["backbone"]) == {run["backbone"]}


def test_resnet50_probabilities_differ(inferred):
    # Otherwise test_predictions_match_model could not tell covers apart.
    genres, _ = thresholds_of(inferred, "resnet50")
    probabilities = probability_columns(inferred["predictions"]["resnet50"], genres)

    assert np.ptp(probabilities, axis=0).max() > 1e-3


def test_default_is_selected_backbone(inferred):
    assert inferred["summary"]["selected_backbone"] == inferred["selected"]


def test_rejects_list_bad_files(inferred):
    assert sorted(inferred["rejects"]["cover"]) == sorted(BAD_COVERS)


@pytest.mark.parametrize("cover, reason", BAD_COVERS.items())
def test_reject_reason(inferred, cover, reason):
    rejects = inferred["rejects"].set_index("cover")

    assert rejects.loc[cover, "reason"] == reason
    assert repr(cover) in rejects.loc[cover, "detail"]


def test_unknown_backbone_names_choices(inferred):
    assert "'absent'" in inferred["unknown_backbone_error"]
    assert repr(inferred["other"]) in inferred["unknown_backbone_error"]
