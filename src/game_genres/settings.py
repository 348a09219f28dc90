"""Kedro project settings."""

import os

# TensorFlow prints several lines of C++ start-up chatter on every import;
# keep warnings and errors only unless the user asked for more.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # An environment such as conf/sample overrides single keys (one backbone's
    # weights, one catalog entry's filepath) and keeps the rest of base.
    "merge_strategy": {"parameters": "soft", "catalog": "soft"},
}
