"""Keras building blocks: frozen backbones with their own input scaling, heads and the weighted loss.

Every model built here uses only built-in Keras layers, so a saved ``.keras``
file loads in any process without this package (the training loss is not
saved with the model).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np

# ImageNet channel means in BGR order, as subtracted by Keras' "caffe" mode
# (keras.applications.imagenet_utils.preprocess_input).
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)

# Architecture name -> (constructor, input scaling that the ImageNet weights expect).
#   caffe: RGB -> BGR, then subtract CAFFE_MEAN_BGR (ResNet50).
#   tf:    scale 0..255 to -1..1 (MobileNetV2).
#   none:  the model rescales inside itself (EfficientNet's preprocess_input is the identity).
ARCHITECTURES: dict[str, tuple[Callable[..., keras.Model], str]] = {
    "ResNet50": (keras.applications.ResNet50, "caffe"),
    "EfficientNetB0": (keras.applications.EfficientNetB0, "none"),
    "MobileNetV2": (keras.applications.MobileNetV2, "tf"),
}


def keras_cache_dir() -> Path:
    """Return the folder where Keras looks for downloaded weights before fetching them.

    Keras reads ``KERAS_HOME`` once, when it is first imported. Setting the
    variable later in the same process has no effect, so this returns the
    folder that Keras really uses.
    """
    try:
        from keras.src.backend.config import keras_home
    except ImportError:  # a Keras release that moved its private config module
        return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "models"
    return Path(keras_home()) / "models"


def input_scaling_layers(mode: str) -> list[keras.layers.Layer]:
    """Return the layers that turn 0..255 RGB into what a backbone's ImageNet weights expect."""
    if mode == "none":
        return []
    if mode == "tf":
        return [keras.layers.Rescaling(scale=1.0 / 127.5, offset=-1.0, name="scale_to_unit_range")]
    if mode == "caffe":
        # A frozen 1x1 convolution swaps R and B and subtracts the BGR mean:
        # the exact caffe-style transform, with built-in layers only.
        swap = np.zeros((1, 1, 3, 3), dtype="float32")
        for channel in range(3):
            swap[0, 0, channel, 2 - channel] = 1.0
        layer = keras.layers.Conv2D(3, 1, use_bias=True, trainable=False, name="rgb_to_bgr_minus_mean")
        layer.build((None, None, None, 3))
        layer.set_weights([swap, -np.asarray(CAFFE_MEAN_BGR, dtype="float32")])
        return [layer]
    raise ValueError(f"Unknown input scaling mode '{mode}'; expected one of: none, tf, caffe.")


def _construct_backbone(params: dict[str, Any], input_size: int) -> keras.Model:
    architecture = params["architecture"]
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"Unknown backbone architecture '{architecture}'; expected one of {sorted(ARCHITECTURES)}."
        )
    constructor, _ = ARCHITECTURES[architecture]
    weights = params.get("weights")
    if weights not in (None, "imagenet") and not Path(weights).is_file():
        raise FileNotFoundError(
            f"Weights file for {architecture} not found: '{weights}'. Set 'weights' to an existing "
            "file (a Keras no-top weights file for this architecture), to imagenet, or to null."
        )
    kwargs: dict[str, Any] = {
        "include_top": False,
        "weights": weights,
        "input_shape": (input_size, input_size, 3),
        "pooling": "avg",
    }
    if params.get("alpha") is not None:
        if architecture != "MobileNetV2":
            raise ValueError(f"'alpha' applies to MobileNetV2 only, but is set for {architecture}.")
        kwargs["alpha"] = float(params["alpha"])
    try:
        return constructor(**kwargs)
    except Exception as error:
        if weights != "imagenet":
            raise
        variant = f"{architecture} (alpha={kwargs['alpha']})" if "alpha" in kwargs else architecture
        raise RuntimeError(
            f"Could not load ImageNet weights for {variant} at input size {input_size}: "
            f"Keras looked in '{keras_cache_dir()}' and then tried to "
            f"download them, which failed: {error}. On a machine without internet, put the "
            "weights file there (see KERAS_HOME), set this backbone's 'weights' to the path of "
            "a local weights file, or set 'weights: null' for random initialisation."
        ) from error


def build_feature_extractor(params: dict[str, Any], image_size: int) -> keras.Model:
    """Build the frozen backbone that maps raw images to pooled embeddings.

    The model takes float32 RGB images in 0..255 of shape
    ``(image_size, image_size, 3)``, resizes them to the backbone's
    ``input_size`` when the two differ, applies the backbone's own input
    scaling exactly once and returns ``(batch, embedding_dim)``.
    """
    input_size = int(params.get("input_size") or image_size)
    backbone = _construct_backbone(params, input_size)
    backbone.trainable = False
    _, mode = ARCHITECTURES[params["architecture"]]

    inputs = keras.Input(shape=(image_size, image_size, 3), dtype="float32", name="image")
    x = inputs
    if input_size != image_size:
        x = keras.layers.Resizing(input_size, input_size, name="resize_to_backbone")(x)
    for layer in input_scaling_layers(mode):
        x = layer(x)
    outputs = backbone(x, training=False)
    return keras.Model(inputs, outputs, name=f"{params['architecture']}_features")


def build_head(embedding_dim: int, n_genres: int, params: dict[str, Any], name: str = "genre_head") -> keras.Model:
    """Build the classification head: dense layers with dropout, one sigmoid per genre."""
    inputs = keras.Input(shape=(embedding_dim,), name="embedding")
    x = inputs
    if params.get("input_dropout"):
        x = keras.layers.Dropout(float(params["input_dropout"]))(x)
    for units in params.get("hidden_units") or []:
        x = keras.layers.Dense(int(units), activation="relu")(x)
        x = keras.layers.Dropout(float(params.get("dropout", 0.0)))(x)
    outputs = keras.layers.Dense(n_genres, activation="sigmoid", name="genre_probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def average_heads(heads: list[keras.Model], embedding_dim: int, name: str = "genre_head") -> keras.Model:
    """Join heads that read the same embedding into one head that outputs their mean probability.

    Each head needs its own name: Keras refuses two sub-models with the same
    name in one model. The heads enter without their loss and optimizer, so
    the saved model loads without this package. They share their layers, and
    so their weights, with ``heads``.
    """
    plain = [keras.Model(head.inputs[0], head.outputs[0], name=head.name) for head in heads]
    if len(plain) == 1:
        return plain[0]
    inputs = keras.Input(shape=(embedding_dim,), name="embedding")
    outputs = keras.layers.Average(name="mean_genre_probabilities")([head(inputs) for head in plain])
    return keras.Model(inputs, outputs, name=name)


def assemble_model(feature_extractor: keras.Model, head: keras.Model, name: str) -> keras.Model:
    """Chain backbone and head into one model: raw image in, genre probabilities out."""
    outputs = head(feature_extractor.output)
    return keras.Model(feature_extractor.input, outputs, name=name)


def balanced_class_weights(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weight each genre's positives and negatives so that each half carries equal total weight.

    For genre j with P_j positive and N_j negative rows among n::

        positive_weight_j = n / (2 * P_j)
        negative_weight_j = n / (2 * N_j)

    Args:
        labels: Multi-hot labels, ``(n_games, n_genres)`` of 0/1.

    Returns:
        The positive and the negative weights, float64 arrays of length
        ``n_genres``; ``inf`` where a genre has no positive (or no negative) row.
    """
    labels = np.asarray(labels)
    n = labels.shape[0]
    positives = labels.sum(axis=0).astype(np.float64)
    negatives = n - positives
    with np.errstate(divide="ignore"):
        return n / (2.0 * positives), n / (2.0 * negatives)


class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy with a positive and a negative weight per genre.

    For labels ``y`` and probabilities ``p`` of shape ``(batch, n_genres)``::

        loss = mean over batch and genres of
               -(w_pos[j] * y * log(p) + w_neg[j] * (1 - y) * log(1 - p))

    with ``p`` clipped to ``[eps, 1 - eps]``. Unlike ``fit(class_weight=...)``,
    which weights each image by one label, every genre keeps its own balance.
    """

    def __init__(self, positive_weights, negative_weights, epsilon: float = 1e-7, name: str = "weighted_bce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.positive_weights = [float(w) for w in positive_weights]
        self.negative_weights = [float(w) for w in negative_weights]
        if len(self.positive_weights) != len(self.negative_weights):
            raise ValueError(
                f"Got {len(self.positive_weights)} positive and {len(self.negative_weights)} negative weights; "
                "expected one of each per genre."
            )
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        ops = keras.ops
        y_true = ops.cast(y_true, y_pred.dtype)
        p = ops.clip(y_pred, self.epsilon, 1.0 - self.epsilon)
        w_pos = ops.convert_to_tensor(self.positive_weights, dtype=y_pred.dtype)
        w_neg = ops.convert_to_tensor(self.negative_weights, dtype=y_pred.dtype)
        per_genre = -(w_pos * y_true * ops.log(p) + w_neg * (1.0 - y_true) * ops.log(1.0 - p))
        return ops.mean(per_genre, axis=-1)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "positive_weights": self.positive_weights,
            "negative_weights": self.negative_weights,
            "epsilon": self.epsilon,
        }
