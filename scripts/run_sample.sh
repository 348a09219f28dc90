#!/usr/bin/env bash
# Run ingestion, preprocessing and training on the retro-boxart sample beside
# this checkout (../shared/datasets/retro-boxart), offline. The training
# pipeline also evaluates the backbones and logs the packaged MLflow model.
# MobileNetV2 (alpha 0.35) gets its ImageNet weights from ../shared/weights
# through KERAS_HOME; ResNet50 and EfficientNetB0 start from random weights.
# Extra arguments go to every kedro run, for example --params image.size=128.
set -euo pipefail
cd "$(dirname "$0")/.."

export KEDRO_DISABLE_TELEMETRY=true
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
export KERAS_HOME="${KERAS_HOME:-$PWD/.keras}"

sample=../shared/datasets/retro-boxart
weights=../shared/weights/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_224_no_top.h5
if [ ! -f "$sample/games.csv" ]; then
    echo "error: sample data set not found at $sample/games.csv; point the project at your own data as the README shows" >&2
    exit 1
fi
if [ ! -f "$weights" ]; then
    echo "error: MobileNetV2 weights not found at $weights; set mobilenetv2.backbone.weights to null or a local file in conf/sample/parameters_training.yml" >&2
    exit 1
fi
if ! command -v kedro >/dev/null; then
    echo "error: kedro not found; activate the project's virtual environment (. .venv/bin/activate) and install it with pip install -e \".[test]\"" >&2
    exit 1
fi
mkdir -p "$KERAS_HOME/models"
cp -n "$weights" "$KERAS_HOME/models/"

for pipeline in ingestion preprocessing training; do
    echo "== kedro run --env sample --pipelines $pipeline"
    kedro run --env sample --pipelines "$pipeline" "$@"
done
