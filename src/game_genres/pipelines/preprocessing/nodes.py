"""Nodes that turn the clean games table into encoded, split training inputs."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit
from sklearn.preprocessing import MultiLabelBinarizer

from game_genres.cover_batches import CoverBatches
from game_genres.images import resolve_cover_path
from game_genres.modeling import balanced_class_weights

logger = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")
REASON_NO_KEPT_GENRE = "no_genre_in_vocabulary"


def build_genre_vocabulary(games: pd.DataFrame, params: dict[str, Any]) -> dict[str, Any]:
    """Keep the genres with at least ``min_examples`` games.

    Returns:
        ``genres`` (the label set, most frequent first, ties by name; this
        order is the column order of every multi-hot array downstream),
        ``counts`` of every genre seen and ``dropped`` with the reason.
    """
    min_examples = int(params["min_examples"])
    if min_examples < 1:
        raise ValueError(f"preprocessing.min_examples must be at least 1, got {min_examples}.")
    counts = pd.Series([genre for genres in games["genres"] for genre in genres]).value_counts()
    counts = counts.sort_index().sort_values(ascending=False, kind="stable")
    kept = [genre for genre, count in counts.items() if count >= min_examples]
    dropped = {
        genre: f"{count} game{'s' if count != 1 else ''}, fewer than min_examples={min_examples}"
        for genre, count in counts.items()
        if count < min_examples
    }
    if len(kept) < 2:
        raise ValueError(
            f"{len(kept)} genre(s) have at least min_examples={min_examples} games (most frequent: "
            f"{counts.head(3).to_dict()}); multi-label training needs at least 2. "
            "Lower preprocessing.min_examples."
        )
    logger.info("Genre vocabulary: kept %d genres, left out %d with fewer than %d games: %s.",
                len(kept), len(dropped), min_examples, sorted(dropped))
    return {
        "genres": kept,
        "min_examples": min_examples,
        "counts": {genre: int(count) for genre, count in counts.items()},
        "dropped": dropped,
    }


def encode_multi_hot(games: pd.DataFrame, vocabulary: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Encode each game's kept genres as a multi-hot row; reject games left with none.

    Returns:
        The labelled games (``genres`` narrowed to the vocabulary, plus a
        ``multi_hot`` column holding each game's uint8 label vector in
        vocabulary order) and the rejects table.
    """
    genres = vocabulary["genres"]
    kept_genres = games["genres"].map(lambda values: [g for g in values if g in set(genres)])
    has_label = kept_genres.map(len) > 0

    rejected = games.loc[~has_label]
    rejects = pd.DataFrame(
        {
            "game_id": rejected["game_id"],
            "cover": rejected["cover"],
            "reason": REASON_NO_KEPT_GENRE,
            "detail": rejected["genres"].map(
                lambda values: f"All of its genres {values} are outside the vocabulary (too few examples)."
            ),
        }
    ).reset_index(drop=True)
    if len(rejects):
        logger.warning("Rejected %d games whose genres are all outside the vocabulary.", len(rejects))

    labelled = games.loc[has_label].copy()
    labelled["genres"] = kept_genres[has_label]
    binarizer = MultiLabelBinarizer(classes=genres)
    multi_hot = binarizer.fit_transform(labelled["genres"]).astype(np.uint8)
    labelled["multi_hot"] = list(multi_hot)
    return labelled.reset_index(drop=True), rejects


def _stratified_partition(labels: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    first, second = next(splitter.split(np.zeros(len(labels)), labels))
    return np.sort(first), np.sort(second)


def _repair_missing_genres(split_of_group: np.ndarray, group_labels: np.ndarray, group_sizes: np.ndarray,
                           genres: list[str]) -> np.ndarray:
    """Move whole groups so that every genre has a positive in every split.

    Iterative stratification nearly always reaches this on its own; a genre
    with only a handful of games can still miss a small split. The smallest
    group holding the genre moves from the split that has the most of it.
    """
    split_of_group = split_of_group.copy()
    for _ in range(len(genres) * len(SPLITS)):
        presence = np.stack([group_labels[split_of_group == s].sum(axis=0) for s in range(len(SPLITS))])
        missing = np.argwhere(presence == 0)
        if len(missing) == 0:
            return split_of_group
        target, genre = missing[0]
        donor = int(np.argmax(presence[:, genre]))
        candidates = np.flatnonzero((split_of_group == donor) & (group_labels[:, genre] > 0))
        if presence[donor, genre] < 2 or len(candidates) < 2:
            break
        moved = candidates[np.argmin(group_sizes[candidates])]
        split_of_group[moved] = target
        logger.info("Moved one group with genre '%s' from %s to %s so every split has it.",
                    genres[genre], SPLITS[donor], SPLITS[target])
    presence = np.stack([group_labels[split_of_group == s].sum(axis=0) for s in range(len(SPLITS))])
    absent = [f"'{genres[g]}' in {SPLITS[s]}" for s, g in np.argwhere(presence == 0)]
    raise ValueError(
        f"Cannot place every genre in every split: missing {', '.join(absent)}. These genres have too few "
        "games (or too few distinct groups); raise preprocessing.min_examples or change the split ratios."
    )


def count_genres_per_group(group_codes: np.ndarray, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Count each genre's games in each group.

    Args:
        group_codes: The group of each game, integers in ``0 .. n_groups - 1``.
        labels: Multi-hot labels, ``(n_games, n_genres)``.
        n_groups: Number of groups.

    Returns:
        ``(n_groups, n_genres)`` int64 counts.
    """
    counts = np.zeros((n_groups, labels.shape[1]), dtype=np.int64)
    np.add.at(counts, group_codes, labels)
    return counts


def split_games(
    labelled: pd.DataFrame, vocabulary: dict[str, Any], params: dict[str, Any]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Split games into train, validation and test with iterative stratification.

    Games that share ``group_column`` (for example a title released on two
    platforms) always land in the same split, so near-identical covers cannot
    leak from training into test. Stratification works on groups, each with
    the union of its games' genres.

    Returns:
        The model input table (``position`` is the row in every model input
        array, ``split`` its split) and the multi-hot label matrix of shape
        ``(n_games, n_genres)``, uint8, in the same row order.
    """
    validation_size = float(params["validation_size"])
    test_size = float(params["test_size"])
    seed = int(params["seed"])
    if not (0 < validation_size < 1 and 0 < test_size < 1 and validation_size + test_size < 1):
        raise ValueError(
            f"Split sizes must be fractions with validation_size + test_size < 1, got "
            f"validation_size={validation_size}, test_size={test_size}."
        )

    group_column = params.get("group_column")
    if group_column:
        if group_column not in labelled.columns:
            raise ValueError(
                f"preprocessing.split.group_column is '{group_column}', but the games table has no such "
                f"column (columns: {list(labelled.columns)}). Set it to an existing column or to null."
            )
        group_keys = labelled[group_column].astype(str).str.strip().str.casefold()
    else:
        group_keys = labelled["game_id"]
    group_codes, group_names = pd.factorize(group_keys, sort=True)

    labels = np.stack(labelled["multi_hot"].to_numpy()).astype(np.uint8)
    n_groups = len(group_names)
    group_labels = count_genres_per_group(group_codes, labels, n_groups)
    group_sizes = np.bincount(group_codes, minlength=n_groups)
    group_presence = (group_labels > 0).astype(np.uint8)

    rest, test_groups = _stratified_partition(group_presence, test_size, seed)
    train_part, validation_part = _stratified_partition(
        group_presence[rest], validation_size / (1.0 - test_size), seed
    )
    split_of_group = np.zeros(n_groups, dtype=np.int64)
    split_of_group[rest[validation_part]] = SPLITS.index("validation")
    split_of_group[test_groups] = SPLITS.index("test")
    split_of_group = _repair_missing_genres(split_of_group, group_labels, group_sizes, vocabulary["genres"])

    table = labelled.drop(columns=["multi_hot"]).copy()
    table["split"] = [SPLITS[s] for s in split_of_group[group_codes]]
    table["group"] = group_names[group_codes]
    order = np.argsort(table["split"].map(SPLITS.index).to_numpy(), kind="stable")
    table = table.iloc[order].reset_index(drop=True)
    table.insert(0, "position", np.arange(len(table)))
    sizes = table["split"].value_counts().reindex(SPLITS).to_dict()
    logger.info("Split %d games in %d groups: %s.", len(table), n_groups, sizes)
    return table, labels[order]


def compute_class_weights(model_input: pd.DataFrame, labels: np.ndarray, vocabulary: dict[str, Any]) -> dict[str, Any]:
    """Weight each genre's positive and negative examples from the training split only.

    For genre j with P_j positive and N_j negative training games
    (n = P_j + N_j)::

        positive_weight_j = n / (2 * P_j)
        negative_weight_j = n / (2 * N_j)

    so that, in the weighted binary cross-entropy, a genre's positives and
    its negatives each carry half of that genre's total weight, whatever its
    frequency. Their ratio N_j / P_j is the usual ``pos_weight``. This is the
    per-genre form of scikit-learn's ``class_weight="balanced"``. It is not
    Keras' ``class_weight``, which picks one weight per image from the
    argmax label and so is wrong for multi-hot targets.
    """
    train = (model_input["split"] == "train").to_numpy()
    train_labels = labels[model_input["position"].to_numpy()[train]]
    n = len(train_labels)
    positives = train_labels.sum(axis=0).astype(np.int64)
    negatives = n - positives
    genres = vocabulary["genres"]
    for genre, p, q in zip(genres, positives, negatives):
        if p == 0 or q == 0:
            raise ValueError(
                f"Genre '{genre}' has {p} positive and {q} negative training games, so its class "
                "weights are undefined. Raise preprocessing.min_examples or check the split."
            )
    positive_weight, negative_weight = balanced_class_weights(train_labels)
    return {
        "formula": "positive_weight = n / (2 * positives); negative_weight = n / (2 * negatives); n = training games",
        "n_train": int(n),
        "genres": genres,
        "positive_weight": [float(w) for w in positive_weight],
        "negative_weight": [float(w) for w in negative_weight],
        "positives": [int(p) for p in positives],
        "negatives": [int(q) for q in negatives],
    }


def prepare_cover_images(model_input: pd.DataFrame, covers_dir: str, image_params: dict[str, Any]) -> CoverBatches:
    """Describe the model input image tensor, decoded lazily when the catalog saves it.

    Returns:
        A ``CoverBatches`` of shape ``(n_games, size, size, 3)``, uint8 RGB,
        rows in ``position`` order, resized with the ``resize_policy``
        (``pad`` keeps the whole cover on a white square, ``crop`` fills the
        square and cuts the longer side).
    """
    paths = [resolve_cover_path(covers_dir, cover) for cover in model_input.sort_values("position")["cover"]]
    return CoverBatches(
        paths,
        size=int(image_params["size"]),
        policy=image_params["resize_policy"],
        max_pixels=int(image_params["max_pixels"]),
        batch_size=int(image_params["batch_size"]),
    )


def report_preprocessing(
    vocabulary: dict[str, Any], model_input: pd.DataFrame, labels: np.ndarray, rejects: pd.DataFrame
) -> dict[str, Any]:
    """Summarise the label set, the split and the rejects for people and scripts."""
    genres = vocabulary["genres"]
    per_split = {}
    for split in SPLITS:
        rows = model_input.loc[model_input["split"] == split, "position"].to_numpy()
        counts = labels[rows].sum(axis=0)
        per_split[split] = {
            "games": int(len(rows)),
            "groups": int(model_input.loc[model_input["split"] == split, "group"].nunique()),
            "positives_per_genre": {genre: int(c) for genre, c in zip(genres, counts)},
        }
    report = {
        "genres_kept": genres,
        "genres_dropped": vocabulary["dropped"],
        "min_examples": vocabulary["min_examples"],
        "games_encoded": int(len(model_input)),
        "games_rejected": int(len(rejects)),
        "rejected_by_reason": {k: int(v) for k, v in rejects["reason"].value_counts().items()},
        "splits": per_split,
    }
    logger.info(
        "Preprocessing: %d genres kept, %d dropped; %d games encoded, %d rejected; split sizes %s.",
        len(genres), len(vocabulary["dropped"]), len(model_input), len(rejects),
        {split: per_split[split]["games"] for split in SPLITS},
    )
    return report
