"""Tests for the preprocessing nodes and pipeline.

Unit tests call the node functions on small in-memory tables. Runner tests
write a genre table and tiny covers, then run ``ingestion`` and
``preprocessing`` through a real KedroSession and read the saved outputs.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import GENRE_COLOURS, RETRO_BOXART, run_pipelines, write_cover
from game_genres.cover_batches import CoverBatches
from game_genres.pipelines.preprocessing.nodes import (
    build_genre_vocabulary,
    compute_class_weights,
    encode_multi_hot,
    prepare_cover_images,
    report_preprocessing,
    split_games,
)

SPLITS = ["train", "validation", "test"]
SPLIT_PARAMS = {"validation_size": 0.15, "test_size": 0.15, "seed": 42, "group_column": None}

# 29 games: Action on 20, Puzzle on 9, Racing on 6 and Card on 2. With
# min_examples=5 Card is dropped, so the Card-only game is rejected and the
# Action|Card game keeps Action only.
STANDARD_GENRES = (
    [["Action"]] * 12
    + [["Puzzle"]] * 5
    + [["Action", "Puzzle"]] * 4
    + [["Racing"]] * 3
    + [["Action", "Racing"]] * 3
    + [["Card"]]
    + [["Action", "Card"]]
)
STANDARD_MIN_EXAMPLES = 5
CARD_ONLY_GAME = "g-027"
ACTION_CARD_GAME = "g-028"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_games(
    root: Path, genre_lists: list[list[str]], titles: list[str] | None = None, cover_size: int = 8
) -> dict[str, Any]:
    """Write one tiny cover per game and a genre table, and return the runtime parameters."""
    covers = root / "covers"
    rows = []
    for i, genres in enumerate(genre_lists):
        cover = f"g-{i:03d}.png"
        drawn = [genre for genre in genres if genre in GENRE_COLOURS] or ["Action"]
        write_cover(covers / cover, drawn, size=cover_size, seed=i)
        title = titles[i] if titles else f"Game {i}"
        rows.append({"game_id": f"g-{i:03d}", "title": title, "genres": "|".join(genres), "cover": cover})
    table = root / "games.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    return {"games_table": str(table), "covers_dir": str(covers)}


def preprocess(project: Path, params: dict[str, Any], min_examples: int = STANDARD_MIN_EXAMPLES,
               split: dict[str, Any] | None = None, image: dict[str, Any] | None = None) -> None:
    runtime_params = {
        **params,
        "image": {"size": 8, **(image or {})},
        "preprocessing": {"min_examples": min_examples, "split": split or {}},
    }
    run_pipelines(project, ["ingestion", "preprocessing"], runtime_params=runtime_params)


def model_input_dir(project: Path) -> Path:
    return project / "data" / "05_model_input"


def read_model_input(project: Path) -> pd.DataFrame:
    return pd.read_parquet(model_input_dir(project) / "model_input_table.parquet")


def positives_per_split(model_input: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Count positive games per split (rows) and genre column (columns)."""
    counts = {}
    for split in SPLITS:
        positions = model_input.loc[model_input["split"] == split, "position"].to_numpy()
        counts[split] = labels[positions].sum(axis=0)
    return pd.DataFrame(counts).T


def games_table(genre_lists: list[list[str]], titles: list[str] | None = None) -> pd.DataFrame:
    """Build a games table shaped like the output of ingestion."""
    ids = [f"g-{i:03d}" for i in range(len(genre_lists))]
    table = pd.DataFrame({"game_id": ids, "genres": genre_lists, "cover": [f"{i}.png" for i in ids]})
    if titles is not None:
        table["title"] = titles
    return table


def labelled_standard_games() -> tuple[pd.DataFrame, dict[str, Any]]:
    vocabulary = build_genre_vocabulary(games_table(STANDARD_GENRES), {"min_examples": STANDARD_MIN_EXAMPLES})
    labelled, _ = encode_multi_hot(games_table(STANDARD_GENRES), vocabulary)
    return labelled, vocabulary


# build_genre_vocabulary


def test_vocabulary_order_by_count() -> None:
    games = games_table([["Racing"], ["Puzzle", "Action"], ["Puzzle"], ["Action"], ["Sports"]])

    vocabulary = build_genre_vocabulary(games, {"min_examples": 1})

    # Equal counts are ordered by name.
    assert vocabulary["genres"] == ["Action", "Puzzle", "Racing", "Sports"]
    assert vocabulary["counts"] == {"Action": 2, "Puzzle": 2, "Racing": 1, "Sports": 1}


def test_vocabulary_drops_rare_genres() -> None:
    vocabulary = build_genre_vocabulary(games_table(STANDARD_GENRES), {"min_examples": STANDARD_MIN_EXAMPLES})

    assert vocabulary["genres"] == ["Action", "Puzzle", "Racing"]
    assert vocabulary["dropped"] == {"Card": "2 games, fewer than min_examples=5"}
    assert vocabulary["min_examples"] == 5


def test_vocabulary_min_examples_below_one() -> None:
    with pytest.raises(ValueError, match=r"preprocessing\.min_examples must be at least 1, got 0"):
        build_genre_vocabulary(games_table([["Action"]]), {"min_examples": 0})


def test_vocabulary_no_genre_kept() -> None:
    with pytest.raises(ValueError, match=r"0 genre\(s\) have at least min_examples=3 games") as caught:
        build_genre_vocabulary(games_table([["Action"], ["Puzzle"]]), {"min_examples": 3})

    assert "Lower preprocessing.min_examples" in str(caught.value)


# encode_multi_hot


def test_multi_hot_vocabulary_order() -> None:
    games = games_table([["Racing", "Action"], ["Puzzle"], ["Card", "Racing"]])
    vocabulary = {"genres": ["Puzzle", "Action", "Racing"]}

    labelled, rejects = encode_multi_hot(games, vocabulary)

    assert [row.tolist() for row in labelled["multi_hot"]] == [[0, 1, 1], [1, 0, 0], [0, 0, 1]]
    assert labelled["multi_hot"][0].dtype == np.uint8
    assert labelled["genres"].tolist() == [["Racing", "Action"], ["Puzzle"], ["Racing"]]
    assert rejects.empty


def test_multi_hot_rejects_unlabelled_games() -> None:
    games = games_table([["Action"], ["Card"], ["Card", "Demo"]])

    labelled, rejects = encode_multi_hot(games, {"genres": ["Action"]})

    assert labelled["game_id"].tolist() == ["g-000"]
    assert rejects["game_id"].tolist() == ["g-001", "g-002"]
    assert rejects["reason"].tolist() == ["no_genre_in_vocabulary", "no_genre_in_vocabulary"]
    assert rejects["cover"].tolist() == ["g-001.png", "g-002.png"]
    assert "Card" in rejects.loc[1, "detail"]


# split_games


@pytest.mark.parametrize(
    ("validation_size", "test_size"),
    [(0.5, 0.5), (0.0, 0.2), (0.2, 1.2), (-0.1, 0.2)],
    ids=["sum-one", "zero", "above-one", "negative"],
)
def test_split_bad_sizes(validation_size: float, test_size: float) -> None:
    labelled, vocabulary = labelled_standard_games()
    params = {**SPLIT_PARAMS, "validation_size": validation_size, "test_size": test_size}

    with pytest.raises(ValueError, match="Split sizes must be fractions with validation_size [+] test_size < 1"):
        split_games(labelled, vocabulary, params)


def test_split_missing_group_column() -> None:
    labelled, vocabulary = labelled_standard_games()

    with pytest.raises(ValueError, match="group_column is 'franchise', but the games table has no such column"):
        split_games(labelled, vocabulary, {**SPLIT_PARAMS, "group_column": "franchise"})


def test_split_labels_follow_positions() -> None:
    labelled, vocabulary = labelled_standard_games()
    multi_hot_of = {row.game_id: row.multi_hot.tolist() for row in labelled.itertuples()}

    table, labels = split_games(labelled, vocabulary, SPLIT_PARAMS)

    assert table["position"].tolist() == list(range(len(labelled)))
    assert labels.shape == (len(labelled), 3)
    assert labels.dtype == np.uint8
    assert [labels[row.position].tolist() for row in table.itertuples()] == [
        multi_hot_of[game_id] for game_id in table["game_id"]
    ]


def test_split_rows_ordered_by_split() -> None:
    labelled, vocabulary = labelled_standard_games()

    table, _ = split_games(labelled, vocabulary, SPLIT_PARAMS)
    order = [SPLITS.index(split) for split in table["split"]]

    assert order == sorted(order)
    assert set(table["split"]) == set(SPLITS)


def test_split_groups_ignore_case_and_spaces() -> None:
    genre_lists = [["Action"], ["Puzzle"]] * 12
    titles = [f"Title {i // 2}" for i in range(24)]
    titles[1] = " title 0 "
    labelled, _ = encode_multi_hot(games_table(genre_lists, titles), {"genres": ["Action", "Puzzle"]})

    table, _ = split_games(labelled, {"genres": ["Action", "Puzzle"]}, {**SPLIT_PARAMS, "group_column": "title"})
    first_pair = table[table["game_id"].isin(["g-000", "g-001"])]

    assert first_pair["group"].nunique() == 1
    assert first_pair["split"].nunique() == 1


def test_split_repairs_missing_genre() -> None:
    # With these title groups and seed 42, stratification alone leaves a genre
    # out of one split, so split_games has to move a group.
    groups = [
        (["Action"], 1), (["Puzzle"], 1), (["Racing", "Action"], 2), (["Puzzle"], 2),
        (["Action"], 1), (["Racing", "Action"], 2), (["Puzzle"], 3), (["Action"], 2),
        (["Action"], 3), (["Action"], 2), (["Racing"], 2), (["Racing", "Action"], 1),
        (["Action"], 1), (["Racing"], 1), (["Racing"], 3), (["Racing", "Action"], 1),
    ]
    genre_lists = [genres for genres, size in groups for _ in range(size)]
    titles = [f"Title {i}" for i, (_, size) in enumerate(groups) for _ in range(size)]
    vocabulary = {"genres": ["Action", "Racing", "Puzzle"]}
    labelled, _ = encode_multi_hot(games_table(genre_lists, titles), vocabulary)

    table, labels = split_games(labelled, vocabulary, {**SPLIT_PARAMS, "group_column": "title"})
    positives = positives_per_split(table, labels)

    assert positives.to_numpy().min() >= 1
    assert table.groupby("title")["split"].nunique().max() == 1


def test_split_impossible_genre_raises() -> None:
    # Two games cannot put a genre in three splits.
    genre_lists = [["Action"]] * 18 + [["Action", "Puzzle"]] * 2
    vocabulary = {"genres": ["Action", "Puzzle"]}
    labelled, _ = encode_multi_hot(games_table(genre_lists), vocabulary)

    with pytest.raises(ValueError, match="Cannot place every genre in every split: missing 'Puzzle' in") as caught:
        split_games(labelled, vocabulary, SPLIT_PARAMS)

    assert "raise preprocessing.min_examples" in str(caught.value)


# compute_class_weights


def test_class_weights_hand_computed() -> None:
    # Train: 4 games (Action on 3, Puzzle on 1). The validation and test rows
    # are all Puzzle and must not change the weights.
    model_input = pd.DataFrame(
        {"position": range(6), "split": ["train"] * 4 + ["validation", "test"]}
    )
    labels = np.array([[1, 0], [1, 0], [1, 1], [0, 1], [0, 1], [0, 1]], dtype=np.uint8)

    weights = compute_class_weights(model_input, labels, {"genres": ["Action", "Puzzle"]})

    assert weights["n_train"] == 4
    assert weights["positives"] == [3, 2]
    assert weights["negatives"] == [1, 2]
    assert weights["positive_weight"] == pytest.approx([4 / 6, 4 / 4])
    assert weights["negative_weight"] == pytest.approx([4 / 2, 4 / 4])


def test_class_weights_use_positions() -> None:
    # Rows are listed out of position order, and the weights must follow "position".
    # The training positions are 3, 1 and 2. Rows 0, 2 and 3 would give [2, 2].
    model_input = pd.DataFrame({"position": [3, 0, 1, 2], "split": ["train", "test", "train", "train"]})
    labels = np.array([[1, 1], [1, 0], [0, 1], [1, 0]], dtype=np.uint8)

    weights = compute_class_weights(model_input, labels, {"genres": ["Action", "Puzzle"]})

    assert weights["positives"] == [2, 1]


def test_class_weights_no_negative_raises() -> None:
    model_input = pd.DataFrame({"position": range(3), "split": ["train"] * 3})
    labels = np.array([[1, 0], [1, 1], [1, 0]], dtype=np.uint8)

    with pytest.raises(ValueError, match="Genre 'Action' has 3 positive and 0 negative training games"):
        compute_class_weights(model_input, labels, {"genres": ["Action", "Puzzle"]})


# prepare_cover_images and report_preprocessing


def test_cover_batches_in_position_order(tmp_path: Path) -> None:
    for name in ["a.png", "b.png", "c.png"]:
        write_cover(tmp_path / name, ["Action"], size=8)
    model_input = pd.DataFrame({"position": [1, 2, 0], "cover": ["a.png", "b.png", "c.png"]})
    image_params = {"size": 4, "resize_policy": "crop", "max_pixels": 1000, "batch_size": 2}

    batches = prepare_cover_images(model_input, str(tmp_path), image_params)

    assert isinstance(batches, CoverBatches)
    assert batches.shape == (3, 4, 4, 3)
    assert [path.name for path in batches.paths] == ["c.png", "a.png", "b.png"]
    assert [len(block) for block in batches] == [2, 1]


def test_report_counts_per_split() -> None:
    model_input = pd.DataFrame(
        {"position": range(4), "split": ["train", "train", "validation", "test"], "group": ["a", "a", "b", "c"]}
    )
    labels = np.array([[1, 0], [1, 1], [0, 1], [1, 0]], dtype=np.uint8)
    rejects = pd.DataFrame({"game_id": ["x"], "cover": ["x.png"], "reason": ["no_genre_in_vocabulary"], "detail": [""]})
    vocabulary = {"genres": ["Action", "Puzzle"], "dropped": {"Card": "1 games"}, "min_examples": 1}

    report = report_preprocessing(vocabulary, model_input, labels, rejects)

    assert report["splits"]["train"] == {"games": 2, "groups": 1, "positives_per_genre": {"Action": 2, "Puzzle": 1}}
    assert report["games_rejected"] == 1
    assert report["rejected_by_reason"] == {"no_genre_in_vocabulary": 1}


# Runner: labels and rejects


def test_rare_genre_dropped_in_report(kedro_project: Path, tmp_path: Path) -> None:
    preprocess(kedro_project, write_games(tmp_path / "data", STANDARD_GENRES))

    report = read_json(kedro_project / "data/08_reporting/preprocessing_report.json")
    vocabulary = read_json(model_input_dir(kedro_project) / "genre_vocabulary.json")

    assert report["genres_kept"] == ["Action", "Puzzle", "Racing"]
    assert report["genres_dropped"] == {"Card": "2 games, fewer than min_examples=5"}
    assert vocabulary["genres"] == ["Action", "Puzzle", "Racing"]


def test_unlabelled_games_rejected(kedro_project: Path, tmp_path: Path) -> None:
    preprocess(kedro_project, write_games(tmp_path / "data", STANDARD_GENRES))

    rejects = pd.read_csv(kedro_project / "data/08_reporting/preprocessing_rejects.csv")
    model_input = read_model_input(kedro_project).set_index("game_id")
    report = read_json(kedro_project / "data/08_reporting/preprocessing_report.json")

    assert rejects["game_id"].tolist() == [CARD_ONLY_GAME]
    assert rejects["reason"].tolist() == ["no_genre_in_vocabulary"]
    assert CARD_ONLY_GAME not in model_input.index
    assert list(model_input.loc[ACTION_CARD_GAME, "genres"]) == ["Action"]
    assert report["games_encoded"] == len(STANDARD_GENRES) - 1
    assert report["rejected_by_reason"] == {"no_genre_in_vocabulary": 1}


def test_saved_labels_match_genres(kedro_project: Path, tmp_path: Path) -> None:
    preprocess(kedro_project, write_games(tmp_path / "data", STANDARD_GENRES))

    model_input = read_model_input(kedro_project)
    labels = np.load(model_input_dir(kedro_project) / "multi_hot_labels.npy")
    genres = read_json(model_input_dir(kedro_project) / "genre_vocabulary.json")["genres"]
    expected = [[int(genre in set(row.genres)) for genre in genres] for row in model_input.itertuples()]

    assert labels.shape == (len(model_input), len(genres))
    assert labels.dtype == np.uint8
    assert labels[model_input["position"].to_numpy()].tolist() == expected


# Runner: split


def test_split_same_seed_reproducible(kedro_project: Path, tmp_path: Path) -> None:
    params = write_games(tmp_path / "data", STANDARD_GENRES)

    preprocess(kedro_project, params, split={"seed": 7})
    first = read_model_input(kedro_project)
    preprocess(kedro_project, params, split={"seed": 7})
    second = read_model_input(kedro_project)

    pd.testing.assert_frame_equal(first, second)


def test_split_seed_changes_split(kedro_project: Path, tmp_path: Path) -> None:
    params = write_games(tmp_path / "data", STANDARD_GENRES)

    preprocess(kedro_project, params, split={"seed": 7})
    first = read_model_input(kedro_project).set_index("game_id")["split"]
    preprocess(kedro_project, params, split={"seed": 8})
    second = read_model_input(kedro_project).set_index("game_id")["split"]

    assert not first.sort_index().equals(second.sort_index())


def test_every_genre_in_every_split(kedro_project: Path, tmp_path: Path) -> None:
    preprocess(kedro_project, write_games(tmp_path / "data", STANDARD_GENRES))

    model_input = read_model_input(kedro_project)
    labels = np.load(model_input_dir(kedro_project) / "multi_hot_labels.npy")
    positives = positives_per_split(model_input, labels)
    report = read_json(kedro_project / "data/08_reporting/preprocessing_report.json")

    # Racing has only 6 games.
    assert positives.to_numpy().min() >= 1
    assert report["splits"]["test"]["positives_per_genre"]["Racing"] >= 1
    assert report["splits"]["validation"]["positives_per_genre"]["Racing"] >= 1


def test_group_stays_in_one_split(kedro_project: Path, tmp_path: Path) -> None:
    # 12 titles, each released as 3 games with the same genres.
    genre_lists = ([["Action"]] * 3 + [["Puzzle"]] * 3 + [["Action", "Puzzle"]] * 3) * 4
    titles = [f"Title {i // 3}" for i in range(len(genre_lists))]
    params = write_games(tmp_path / "data", genre_lists, titles=titles)

    preprocess(kedro_project, params, min_examples=3, split={"group_column": "title"})
    model_input = read_model_input(kedro_project)
    splits_per_title = model_input.groupby("title")["split"].nunique()

    assert len(splits_per_title) == 12
    assert splits_per_title.max() == 1
    assert set(model_input["split"]) == set(SPLITS)


def test_missing_group_column_raises(kedro_project: Path, tmp_path: Path) -> None:
    params = write_games(tmp_path / "data", STANDARD_GENRES)

    with pytest.raises(Exception) as caught:
        preprocess(kedro_project, params, split={"group_column": "franchise"})
    message = str(caught.value)

    assert "preprocessing.split.group_column is 'franchise'" in message
    assert "Set it to an existing column or to null" in message


def test_bad_split_sizes_raise(kedro_project: Path, tmp_path: Path) -> None:
    params = write_games(tmp_path / "data", STANDARD_GENRES)

    with pytest.raises(Exception) as caught:
        preprocess(kedro_project, params, split={"validation_size": 0.6, "test_size": 0.4})
    message = str(caught.value)

    assert "validation_size + test_size < 1" in message
    assert "validation_size=0.6, test_size=0.4" in message


def test_single_genre_vocabulary_error(kedro_project: Path, tmp_path: Path) -> None:
    params = write_games(tmp_path / "data", [["Action"]] * 20 + [["Puzzle"]] * 2)

    with pytest.raises(Exception) as caught:
        preprocess(kedro_project, params, min_examples=5)

    assert "preprocessing.min_examples" in str(caught.value)


# Runner: class weights


def test_class_weights_from_train_split(kedro_project: Path, tmp_path: Path) -> None:
    preprocess(kedro_project, write_games(tmp_path / "data", STANDARD_GENRES))

    weights = read_json(model_input_dir(kedro_project) / "class_weights.json")
    model_input = read_model_input(kedro_project)
    labels = np.load(model_input_dir(kedro_project) / "multi_hot_labels.npy")
    train = labels[model_input.loc[model_input["split"] == "train", "position"].to_numpy()]
    n = len(train)
    positives = train.sum(axis=0)
    positive_weight = dict(zip(weights["genres"], weights["positive_weight"]))

    assert weights["n_train"] == n
    assert weights["positive_weight"] == pytest.approx((n / (2 * positives)).tolist())
    assert weights["negative_weight"] == pytest.approx((n / (2 * (n - positives))).tolist())
    assert positive_weight["Racing"] > positive_weight["Action"]


# Runner: cover image tensor


def test_cover_images_memory_mapped(kedro_project: Path, tmp_path: Path) -> None:
    from kedro.framework.session import KedroSession

    params = write_games(tmp_path / "data", STANDARD_GENRES)
    preprocess(kedro_project, params, image={"size": 12, "batch_size": 5})

    with KedroSession.create(project_path=kedro_project, runtime_params=params) as session:
        images = session.load_context().catalog.load("cover_images")
    model_input = read_model_input(kedro_project)

    assert isinstance(images, np.memmap)
    assert images.shape == (len(model_input), 12, 12, 3)
    assert images.dtype == np.uint8


def test_resize_policy_changes_pixels(kedro_project: Path, tmp_path: Path) -> None:
    params = write_games(tmp_path / "data", STANDARD_GENRES)
    # Replace the first cover with a wide red one: "pad" adds white bands above
    # and below it, "crop" fills the square with red.
    wide_red = Image.new("RGB", (32, 16), (255, 0, 0))
    wide_red.save(Path(params["covers_dir"]) / "g-000.png")

    images = {}
    for policy in ["pad", "crop"]:
        preprocess(kedro_project, params, image={"size": 16, "resize_policy": policy})
        model_input = read_model_input(kedro_project).set_index("game_id")
        position = model_input.loc["g-000", "position"]
        images[policy] = np.load(model_input_dir(kedro_project) / "cover_images.npy")[position]

    assert images["pad"][0, 8].tolist() == [255, 255, 255]
    assert images["crop"][0, 8].tolist() == [255, 0, 0]
    assert images["pad"][8, 8].tolist() == [255, 0, 0]


# Runner: real covers


def pick_retro_rows(genres: list[str], per_genre: int) -> list[dict[str, str]]:
    """Pick the first ``per_genre`` rows of each genre from the retro-boxart table."""
    with open(RETRO_BOXART / "games.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    picked: list[dict[str, str]] = []
    for genre in genres:
        matching = [row for row in rows if genre in row["genres"].split("|") and row not in picked]
        picked.extend(matching[:per_genre])
    return picked


@pytest.mark.skipif(not RETRO_BOXART.is_dir(), reason="the retro-boxart data set is not next to the repository")
def test_real_covers_end_to_end(kedro_project: Path, tmp_path: Path) -> None:
    rows = pick_retro_rows(["Sports", "Puzzle", "Racing", "Strategy"], per_genre=10)
    table = tmp_path / "games.csv"
    pd.DataFrame(rows).to_csv(table, index=False)
    genre_counts = Counter(genre for row in rows for genre in row["genres"].split("|"))
    expected_genres = {genre for genre, count in genre_counts.items() if count >= 6}

    run_pipelines(
        kedro_project,
        ["ingestion", "preprocessing"],
        runtime_params={
            "games_table": str(table),
            "covers_dir": str(RETRO_BOXART),
            "image": {"size": 64},
            "preprocessing": {"min_examples": 6},
        },
    )
    ingestion = read_json(kedro_project / "data/08_reporting/ingestion_report.json")
    report = read_json(kedro_project / "data/08_reporting/preprocessing_report.json")
    model_input = read_model_input(kedro_project)
    labels = np.load(model_input_dir(kedro_project) / "multi_hot_labels.npy")
    images = np.load(model_input_dir(kedro_project) / "cover_images.npy", mmap_mode="r")

    assert len(rows) == 40
    assert ingestion["rows_read"] == 40
    assert ingestion["rows_kept"] == 40
    assert set(report["genres_kept"]) == expected_genres
    assert min(report["splits"][split]["games"] for split in SPLITS) >= 1
    assert positives_per_split(model_input, labels).to_numpy().min() >= 1
    assert images.shape == (len(model_input), 64, 64, 3)
