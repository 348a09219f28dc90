"""Backbone input scaling, the weighted loss and the head, on tiny tensors."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

from game_genres.modeling import (
    CAFFE_MEAN_BGR,
    WeightedBinaryCrossentropy,
    assemble_model,
    average_heads,
    balanced_class_weights,
    build_feature_extractor,
    build_head,
    input_scaling_layers,
    keras_cache_dir,
)


def _scale(mode: str, image: np.ndarray) -> np.ndarray:
    x = keras.ops.convert_to_tensor(image)
    for layer in input_scaling_layers(mode):
        x = layer(x)
    return keras.ops.convert_to_numpy(x)


def _constant_image(red: float, green: float, blue: float) -> np.ndarray:
    image = np.zeros((1, 4, 4, 3), dtype="float32")
    image[..., 0], image[..., 1], image[..., 2] = red, green, blue
    return image


def test_resnet_scaling_is_caffe_bgr():
    scaled = _scale("caffe", _constant_image(200.0, 100.0, 50.0))
    # caffe mode: channels reversed to BGR, then the ImageNet BGR mean subtracted.
    expected = np.array([50.0 - CAFFE_MEAN_BGR[0], 100.0 - CAFFE_MEAN_BGR[1], 200.0 - CAFFE_MEAN_BGR[2]])
    np.testing.assert_allclose(scaled[0, 2, 2], expected, atol=1e-4)


def test_resnet_scaling_matches_keras():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, size=(2, 5, 5, 3)).astype("float32")
    reference = keras.applications.resnet50.preprocess_input(image.copy())
    np.testing.assert_allclose(_scale("caffe", image), reference, atol=1e-3)


def test_mobilenet_scaling_is_unit_range():
    scaled = _scale("tf", _constant_image(0.0, 127.5, 255.0))
    np.testing.assert_allclose(scaled[0, 0, 0], [-1.0, 0.0, 1.0], atol=1e-6)


def test_mobilenet_scaling_matches_keras():
    image = np.linspace(0, 255, 48, dtype="float32").reshape(1, 4, 4, 3)
    reference = keras.applications.mobilenet_v2.preprocess_input(image.copy())
    np.testing.assert_allclose(_scale("tf", image), reference, atol=1e-5)


def test_efficientnet_scaling_is_identity():
    image = _constant_image(12.0, 34.0, 56.0)
    assert input_scaling_layers("none") == []
    np.testing.assert_array_equal(keras.applications.efficientnet.preprocess_input(image.copy()), image)


@pytest.mark.parametrize("architecture, expected_first_layer", [
    ("ResNet50", "rgb_to_bgr_minus_mean"),
    ("MobileNetV2", "scale_to_unit_range"),
])
def test_extractor_scales_exactly_once(architecture, expected_first_layer):
    extractor = build_feature_extractor({"architecture": architecture, "weights": None, "input_size": 32}, 32)
    names = [layer.name for layer in extractor.layers]
    assert names[1] == expected_first_layer
    assert sum(name == expected_first_layer for name in names) == 1


def test_efficientnet_extractor_adds_no_scaling():
    extractor = build_feature_extractor({"architecture": "EfficientNetB0", "weights": None, "input_size": 32}, 32)
    names = [layer.name for layer in extractor.layers]
    assert "scale_to_unit_range" not in names
    assert "rgb_to_bgr_minus_mean" not in names


def test_extractor_resizes_to_input_size():
    extractor = build_feature_extractor({"architecture": "MobileNetV2", "weights": None, "input_size": 32, "alpha": 0.35}, 48)
    assert extractor.input_shape == (None, 48, 48, 3)
    assert "resize_to_backbone" in [layer.name for layer in extractor.layers]


def test_extractor_is_frozen():
    extractor = build_feature_extractor({"architecture": "MobileNetV2", "weights": None, "input_size": 32, "alpha": 0.35}, 32)
    assert extractor.trainable_weights == []


def test_unknown_architecture_rejected():
    with pytest.raises(ValueError, match="Unknown backbone architecture 'VGG16'"):
        build_feature_extractor({"architecture": "VGG16", "weights": None}, 32)


def test_missing_weights_file_rejected(tmp_path):
    missing = tmp_path / "nothing.h5"
    with pytest.raises(FileNotFoundError, match="nothing.h5"):
        build_feature_extractor({"architecture": "ResNet50", "weights": str(missing)}, 32)


def test_alpha_on_resnet_rejected():
    with pytest.raises(ValueError, match="'alpha' applies to MobileNetV2 only"):
        build_feature_extractor({"architecture": "ResNet50", "weights": None, "alpha": 0.5}, 32)


def test_offline_imagenet_error_explains_fix(monkeypatch):
    # No route to the download host: Keras cannot get the weights, and the
    # error must name the folder Keras looked in and what to do next.
    monkeypatch.setattr("keras.src.utils.file_utils.get_file", _refuse_download)
    with pytest.raises(RuntimeError) as raised:
        build_feature_extractor({"architecture": "MobileNetV2", "weights": "imagenet", "alpha": 0.35}, 96)
    message = str(raised.value)
    assert "MobileNetV2 (alpha=0.35)" in message
    assert str(keras_cache_dir()) in message
    assert "weights: null" in message
    assert "path of a local weights file" in message


def test_cache_dir_is_the_one_keras_uses():
    from keras.src.backend.config import keras_home

    assert keras_cache_dir() == Path(keras_home()) / "models"


def _refuse_download(*args, **kwargs):
    raise Exception("URL fetch failure: no network in this test")


def test_weighted_loss_matches_hand_computation():
    # Two genres; genre 0 is rare (w_pos 3.0, w_neg 0.6), genre 1 common (w_pos 0.8, w_neg 1.3).
    loss = WeightedBinaryCrossentropy([3.0, 0.8], [0.6, 1.3])
    y_true = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")
    y_pred = np.array([[0.8, 0.3], [0.4, 0.9]], dtype="float32")
    # Sample 1: -(3.0*log 0.8) and -(1.3*log 0.7); sample 2: -(0.6*log 0.6) and -(0.8*log 0.9).
    sample_1 = (-3.0 * np.log(0.8) - 1.3 * np.log(0.7)) / 2
    sample_2 = (-0.6 * np.log(0.6) - 0.8 * np.log(0.9)) / 2
    expected = (sample_1 + sample_2) / 2
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)


def test_weighted_loss_favours_rare_positives():
    # Weights from n / (2 * positives): the rare genre has 5 of 100 positives, the common one 50.
    n, rare, common = 100, 5, 50
    loss = WeightedBinaryCrossentropy([n / (2 * rare), n / (2 * common)], [n / (2 * (n - rare)), n / (2 * (n - common))])
    missed_rare = float(loss(np.array([[1.0, 0.0]]), np.array([[0.1, 0.0]])))
    missed_common = float(loss(np.array([[0.0, 1.0]]), np.array([[0.0, 0.1]])))
    assert missed_rare > missed_common
    assert missed_rare / missed_common == pytest.approx(common / rare, rel=1e-3)


def test_weighted_loss_equals_bce_when_unweighted():
    rng = np.random.default_rng(1)
    y_true = (rng.random((8, 3)) > 0.5).astype("float32")
    y_pred = rng.uniform(0.05, 0.95, (8, 3)).astype("float32")
    ours = float(WeightedBinaryCrossentropy([1.0] * 3, [1.0] * 3)(y_true, y_pred))
    reference = float(keras.losses.BinaryCrossentropy()(y_true, y_pred))
    assert ours == pytest.approx(reference, rel=1e-4)


def test_weighted_loss_rejects_mismatched_weights():
    with pytest.raises(ValueError, match="2 positive and 3 negative"):
        WeightedBinaryCrossentropy([1.0, 2.0], [1.0, 1.0, 1.0])


def test_head_outputs_one_sigmoid_per_genre():
    head = build_head(16, 5, {"hidden_units": [8], "dropout": 0.1})
    scores = keras.ops.convert_to_numpy(head(np.zeros((3, 16), dtype="float32")))
    assert scores.shape == (3, 5)
    assert head.layers[-1].activation.__name__ == "sigmoid"


def test_balanced_class_weights_hand_computed():
    # Genre 0: 1 positive of 4; genre 1: 2 of 4; genre 2: never positive.
    labels = np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]])
    positive, negative = balanced_class_weights(labels)
    np.testing.assert_allclose(positive[:2], [4 / 2, 4 / 4])
    np.testing.assert_allclose(negative, [4 / 6, 4 / 4, 4 / 8])
    assert np.isinf(positive[2])


def _compiled_head(seed, name):
    keras.utils.set_random_seed(seed)
    head = build_head(6, 3, {"hidden_units": [4], "dropout": 0.0}, name=name)
    head.compile(optimizer="adam", loss=WeightedBinaryCrossentropy([1.0] * 3, [1.0] * 3))
    return head


def test_average_heads_mean_and_reload(tmp_path):
    heads = [_compiled_head(seed, f"genre_head_fold_{seed}") for seed in range(3)]
    averaged = average_heads(heads, 6)
    embeddings = np.random.default_rng(5).normal(size=(7, 6)).astype("float32")
    expected = np.mean([keras.ops.convert_to_numpy(head(embeddings)) for head in heads], axis=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(averaged(embeddings)), expected, atol=1e-6)

    # The fold heads were compiled with the project's loss; the saved average
    # must not need it to load.
    path = tmp_path / "head.keras"
    averaged.save(path)
    reloaded = keras.saving.load_model(path, compile=False, custom_objects=None)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(embeddings)), expected, atol=1e-6)


def test_average_of_one_head():
    head = _compiled_head(0, "genre_head")
    embeddings = np.ones((2, 6), dtype="float32")
    single = average_heads([head], 6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(single(embeddings)),
                               keras.ops.convert_to_numpy(head(embeddings)), atol=1e-7)


def test_assembled_model_matches_head_on_embeddings(tmp_path):
    extractor = build_feature_extractor({"architecture": "MobileNetV2", "weights": None, "input_size": 32, "alpha": 0.35}, 32)
    head = build_head(extractor.output_shape[-1], 3, {"hidden_units": [], "dropout": 0.0})
    model = assemble_model(extractor, head, name="genres")
    images = np.random.default_rng(2).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    direct = keras.ops.convert_to_numpy(model(images))
    two_step = keras.ops.convert_to_numpy(head(extractor(images)))
    np.testing.assert_allclose(direct, two_step, atol=1e-6)

    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, compile=False)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(images)), direct, atol=1e-6)


def test_random_backbone_embeddings_reproducible():
    from game_genres.pipelines.training.nodes import embed_covers

    images = np.random.default_rng(4).integers(0, 255, (3, 32, 32, 3), dtype=np.uint8)
    backbone = {"architecture": "MobileNetV2", "weights": None, "input_size": 32, "alpha": 0.35}
    training = {"seed": 7, "embedding_batch_size": 2}
    first, _, _ = embed_covers(images, backbone, training)
    second, _, _ = embed_covers(images, backbone, training)
    np.testing.assert_array_equal(first, second)


def test_flat_embeddings_logged_as_warning(caplog):
    from game_genres.pipelines.training.nodes import embed_covers

    # A constant image gives every cover the same embedding, whatever the backbone.
    images = np.full((3, 32, 32, 3), 128, dtype=np.uint8)
    backbone = {"architecture": "MobileNetV2", "weights": None, "input_size": 32, "alpha": 0.35}
    with caplog.at_level("WARNING", logger="game_genres.pipelines.training.nodes"):
        embed_covers(images, backbone, {"seed": 1, "embedding_batch_size": 3})
    assert "barely vary between covers" in caplog.text
