"""Tests for the ingestion pipeline, run through a real KedroSession on tiny covers.

Each test writes a genre table and a covers folder under ``tmp_path``, runs the
``ingestion`` pipeline and reads what it saved: the clean table
(``games.parquet``), the rejects table and the report.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import run_pipelines, write_cover

GAMES_PATH = Path("data/02_intermediate/games.parquet")
REJECTS_PATH = Path("data/02_intermediate/ingestion_rejects.csv")
REPORT_PATH = Path("data/08_reporting/ingestion_report.json")
COVER_IMAGES_PATH = Path("data/05_model_input/cover_images.npy")
MODEL_INPUT_PATH = Path("data/05_model_input/model_input_table.parquet")

# Small enough to stay under max_pixels=500 in the size-limit test.
GOOD_COVER_SIZE = 16


@dataclass
class IngestionOutput:
    """Saved outputs of one ingestion run."""

    games: pd.DataFrame
    rejects: pd.DataFrame
    report: dict[str, Any]

    def reject_of(self, game_id: str) -> pd.Series:
        """Return the single rejects row of ``game_id``."""
        matches = self.rejects[self.rejects["game_id"] == game_id]
        assert len(matches) == 1, f"expected one reject for {game_id!r}, found:\n{self.rejects}"
        return matches.iloc[0]


@pytest.fixture
def covers(tmp_path: Path) -> Path:
    folder = tmp_path / "covers"
    folder.mkdir()
    return folder


def good_rows(covers: Path, count: int = 2) -> list[dict[str, str]]:
    """Write ``count`` valid covers and return their table rows."""
    rows = []
    for i in range(count):
        cover = f"good-{i}.png"
        write_cover(covers / cover, ["Action"], size=GOOD_COVER_SIZE, seed=i)
        rows.append({"game_id": f"good-{i}", "title": f"Good {i}", "genres": "Action", "cover": cover})
    return rows


def write_table(path: Path, rows: list[dict[str, str]], sep: str = ",") -> Path:
    pd.DataFrame(rows).to_csv(path, index=False, sep=sep)
    return path


def read_outputs(project: Path) -> IngestionOutput:
    return IngestionOutput(
        games=pd.read_parquet(project / GAMES_PATH),
        rejects=pd.read_csv(project / REJECTS_PATH, dtype={"game_id": str, "cover": str}, keep_default_na=False),
        report=json.loads((project / REPORT_PATH).read_text(encoding="utf-8")),
    )


def ingest(
    project: Path, covers: Path, rows: list[dict[str, str]], params: dict[str, Any] | None = None
) -> IngestionOutput:
    """Write ``rows`` as the genre table, run ingestion and return its outputs."""
    table = write_table(covers.parent / "games.csv", rows)
    runtime_params = {"games_table": str(table), "covers_dir": str(covers), **(params or {})}
    run_pipelines(project, ["ingestion"], runtime_params=runtime_params)
    return read_outputs(project)


def table_row(game_id: str, cover: str, genres: str = "Action") -> dict[str, str]:
    return {"game_id": game_id, "title": game_id.title(), "genres": genres, "cover": cover}


def save_image(path: Path, image: Image.Image, **save_options: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **save_options)


def noise_pixels(width: int, height: int) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)


# Covers that cannot be used


def test_missing_cover_file_rejected(kedro_project: Path, covers: Path) -> None:
    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("lost", "lost.png")])

    reject = output.reject_of("lost")

    assert reject["reason"] == "cover_file_not_found"
    assert reject["row_number"] == 3
    assert reject["cover"] == "lost.png"
    assert "lost" not in set(output.games["game_id"])


def test_unreadable_image_rejected(kedro_project: Path, covers: Path) -> None:
    (covers / "noise.png").write_bytes(b"this is not an image, only text bytes" * 4)

    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("noise", "noise.png")])

    assert output.reject_of("noise")["reason"] == "cover_unreadable"
    assert "noise" not in set(output.games["game_id"])


def test_truncated_image_rejected(kedro_project: Path, covers: Path) -> None:
    save_image(covers / "cut.png", Image.fromarray(noise_pixels(32, 32)), format="PNG")
    data = (covers / "cut.png").read_bytes()
    (covers / "cut.png").write_bytes(data[: len(data) // 2])

    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("cut", "cut.png")])

    assert output.reject_of("cut")["reason"] == "cover_truncated"
    assert "cut" not in set(output.games["game_id"])


def test_zero_byte_image_rejected(kedro_project: Path, covers: Path) -> None:
    (covers / "empty.jpg").write_bytes(b"")

    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("empty", "empty.jpg")])

    assert output.reject_of("empty")["reason"] == "cover_file_empty"
    assert "empty" not in set(output.games["game_id"])


def test_cover_too_large_rejected(kedro_project: Path, covers: Path) -> None:
    save_image(covers / "big.png", Image.fromarray(noise_pixels(40, 40)), format="PNG")
    rows = good_rows(covers) + [table_row("big", "big.png")]

    output = ingest(kedro_project, covers, rows, params={"image": {"max_pixels": 500}})
    reject = output.reject_of("big")

    assert reject["reason"] == "cover_too_large"
    assert "1600" in reject["detail"]
    assert output.report["rows_kept"] == 2


def test_parent_escape_rejected(kedro_project: Path, covers: Path) -> None:
    # The file exists, but outside the covers folder.
    write_cover(covers.parent / "outside.png", ["Action"], size=GOOD_COVER_SIZE)

    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("escape", "../outside.png")])

    assert output.reject_of("escape")["reason"] == "cover_path_outside_covers_dir"
    assert "escape" not in set(output.games["game_id"])


def test_absolute_cover_path_rejected(kedro_project: Path, covers: Path) -> None:
    rows = good_rows(covers)
    # An absolute path is rejected even when it names a file inside the covers folder.
    rows.append(table_row("absolute", str(covers / "good-0.png")))

    output = ingest(kedro_project, covers, rows)

    assert output.reject_of("absolute")["reason"] == "cover_path_outside_covers_dir"
    assert "absolute" not in set(output.games["game_id"])


# Covers that are kept


def test_png_named_jpg_kept(kedro_project: Path, covers: Path) -> None:
    save_image(covers / "liar.jpg", Image.fromarray(noise_pixels(8, 8)), format="PNG")

    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("liar", "liar.jpg")])
    liar = output.games.set_index("game_id").loc["liar"]

    assert output.rejects.empty
    assert output.report["covers_with_misleading_extension"] == 1
    assert liar["cover_format"] == "PNG"
    assert bool(liar["cover_extension_mismatch"])


def write_palette_png(path: Path) -> None:
    save_image(path, Image.fromarray(noise_pixels(8, 8)).convert("P"), format="PNG")


def write_rgba_png(path: Path) -> None:
    rgba = np.dstack([noise_pixels(8, 8), np.full((8, 8), 128, dtype=np.uint8)])
    save_image(path, Image.fromarray(rgba, mode="RGBA"), format="PNG")


def write_grayscale_png(path: Path) -> None:
    save_image(path, Image.fromarray(noise_pixels(8, 8)[:, :, 0], mode="L"), format="PNG")


def write_cmyk_jpeg(path: Path) -> None:
    save_image(path, Image.new("CMYK", (8, 8), (0, 255, 255, 0)), format="JPEG", quality=95)


def write_16bit_png(path: Path) -> None:
    values = np.linspace(0, 65535, 64, dtype=np.uint16).reshape(8, 8)
    save_image(path, Image.fromarray(values), format="PNG")


@pytest.mark.parametrize(
    ("writer", "filename", "mode"),
    [
        (write_palette_png, "palette.png", "P"),
        (write_rgba_png, "rgba.png", "RGBA"),
        (write_grayscale_png, "gray.png", "L"),
        (write_cmyk_jpeg, "cmyk.jpg", "CMYK"),
        (write_16bit_png, "deep.png", "I;16"),
    ],
    ids=["palette", "rgba", "grayscale", "cmyk", "16-bit"],
)
def test_cover_mode_kept_and_counted(kedro_project: Path, covers: Path, writer, filename: str, mode: str) -> None:
    writer(covers / filename)

    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("odd", filename)])
    odd = output.games.set_index("game_id").loc["odd"]

    assert output.rejects.empty
    assert odd["cover_mode"] == mode
    assert output.report["cover_modes"] == {"RGB": 2, mode: 1}


def test_exif_orientation_applied(kedro_project: Path, colour_data) -> None:
    params = colour_data(n_games=30)
    covers = Path(params["covers_dir"])
    # Stored 32 wide x 16 high: red top-left square on blue. Orientation 6 turns
    # it 90 degrees clockwise for display, to 16 x 32 with the red square top-right.
    stored = Image.new("RGB", (32, 16), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 12, 12))
    exif = Image.Exif()
    exif[0x0112] = 6
    save_image(covers / "exif.jpg", stored, format="JPEG", quality=95, exif=exif)
    table = pd.read_csv(params["games_table"], dtype=str, keep_default_na=False)
    exif_row = {"game_id": "exif", "title": "Turned", "genres": "Action", "cover": "exif.jpg"}
    pd.concat([table, pd.DataFrame([exif_row])]).to_csv(params["games_table"], index=False)
    params.update({"image": {"size": 32, "resize_policy": "pad"}, "preprocessing": {"min_examples": 3}})

    run_pipelines(kedro_project, ["ingestion", "preprocessing"], runtime_params=params)
    games = pd.read_parquet(kedro_project / GAMES_PATH).set_index("game_id")
    model_input = pd.read_parquet(kedro_project / MODEL_INPUT_PATH).set_index("game_id")
    image = np.load(kedro_project / COVER_IMAGES_PATH)[model_input.loc["exif", "position"]]
    # "pad" centres the 16 x 32 upright cover between white bands at x < 8 and x >= 24.
    red, green, blue = (int(value) for value in image[4, 18])

    assert (games.loc["exif", "cover_width"], games.loc["exif", "cover_height"]) == (32, 16)
    assert red > 200
    assert blue < 60
    assert tuple(int(value) for value in image[4, 2]) == (255, 255, 255)
    assert tuple(int(value) for value in image[28, 18])[2] > 200


# Table contents


@pytest.mark.parametrize("genres", ["", " | ", "|"], ids=["empty", "spaces", "delimiter-only"])
def test_empty_genres_rejected(kedro_project: Path, covers: Path, genres: str) -> None:
    write_cover(covers / "bare.png", ["Action"], size=GOOD_COVER_SIZE)

    output = ingest(kedro_project, covers, good_rows(covers) + [table_row("bare", "bare.png", genres=genres)])

    assert output.reject_of("bare")["reason"] == "genres_empty"
    assert "bare" not in set(output.games["game_id"])


def test_genre_spellings_merged(kedro_project: Path, covers: Path) -> None:
    spellings = ["action", "Action", " Action ", "ACTION|puzzle", "Puzzle"]
    rows = []
    for i, genres in enumerate(spellings):
        write_cover(covers / f"g{i}.png", ["Action"], size=GOOD_COVER_SIZE, seed=i)
        rows.append(table_row(f"g{i}", f"g{i}.png", genres=genres))

    output = ingest(kedro_project, covers, rows)
    genres_of = {row.game_id: list(row.genres) for row in output.games.itertuples()}
    merged = output.report["genre_spellings_merged"]

    # "Action" is written twice once spaces are trimmed, so it beats the first-seen "action".
    assert genres_of["g0"] == ["Action"]
    assert genres_of["g3"] == ["Action", "puzzle"]
    assert merged["Action"] == ["ACTION", "Action", "action"]
    # A one-to-one tie keeps the spelling seen first.
    assert merged["puzzle"] == ["Puzzle", "puzzle"]


def test_duplicate_game_id_rejected(kedro_project: Path, covers: Path) -> None:
    rows = good_rows(covers, count=3)
    rows[2]["game_id"] = "good-0"

    output = ingest(kedro_project, covers, rows)
    reject = output.reject_of("good-0")
    kept = output.games.set_index("game_id")

    assert reject["reason"] == "game_id_duplicate"
    assert reject["row_number"] == 3
    assert "row 1" in reject["detail"]
    assert kept.loc["good-0", "cover"] == "good-0.png"


def test_duplicate_of_rejected_row(kedro_project: Path, covers: Path) -> None:
    rows = [table_row("twice", "lost.png")] + good_rows(covers)
    rows[2]["game_id"] = "twice"

    output = ingest(kedro_project, covers, rows)

    assert "twice" in set(output.games["game_id"])


@pytest.mark.parametrize("game_id", ["", "   "], ids=["empty", "spaces"])
def test_empty_game_id_rejected(kedro_project: Path, covers: Path, game_id: str) -> None:
    rows = good_rows(covers, count=3)
    rows[1]["game_id"] = game_id

    output = ingest(kedro_project, covers, rows)

    assert output.rejects["reason"].tolist() == ["game_id_missing"]
    assert output.rejects["row_number"].tolist() == [2]
    assert output.games["game_id"].tolist() == ["good-0", "good-2"]


def test_na_strings_stay_strings(kedro_project: Path, covers: Path) -> None:
    rows = good_rows(covers, count=4)
    for row, text in zip(rows, ["NA", "None", "null", "nan"]):
        row["title"] = text
    rows[0]["game_id"] = "NA"

    output = ingest(kedro_project, covers, rows)

    assert output.games["title"].tolist() == ["NA", "None", "null", "nan"]
    assert output.games["game_id"].tolist()[0] == "NA"


def test_extra_columns_kept(kedro_project: Path, covers: Path) -> None:
    rows = good_rows(covers)
    for row in rows:
        row.update({"platform": "Atari - 5200", "notes": ""})

    output = ingest(kedro_project, covers, rows)

    assert output.games["platform"].tolist() == ["Atari - 5200", "Atari - 5200"]
    assert output.games["title"].tolist() == ["Good 0", "Good 1"]
    assert output.games["notes"].tolist() == ["", ""]


def test_extra_row_number_column(kedro_project: Path, covers: Path) -> None:
    rows = good_rows(covers)
    for i, row in enumerate(rows):
        row["row_number"] = f"#{i}"

    output = ingest(kedro_project, covers, rows)

    assert output.games["row_number"].tolist() == ["#0", "#1"]


def test_extra_format_column(kedro_project: Path, covers: Path) -> None:
    rows = good_rows(covers)
    for row in rows:
        row["format"] = "Cartridge"

    output = ingest(kedro_project, covers, rows)
    values = output.games.astype(str).to_numpy().ravel().tolist()

    assert "Cartridge" in values


def test_covers_in_subfolders(kedro_project: Path, covers: Path) -> None:
    write_cover(covers / "nes" / "a.png", ["Action"], size=GOOD_COVER_SIZE)
    write_cover(covers / "snes" / "usa" / "b.png", ["Puzzle"], size=GOOD_COVER_SIZE)
    rows = [table_row("a", "nes/a.png"), table_row("b", "snes/usa/b.png")]

    output = ingest(kedro_project, covers, rows)

    assert output.rejects.empty
    assert output.games["cover"].tolist() == ["nes/a.png", "snes/usa/b.png"]


def test_custom_columns_and_delimiter(kedro_project: Path, covers: Path) -> None:
    rows = [
        {"id": row["game_id"], "title": row["title"], "tags": "Action;Puzzle", "image": row["cover"]}
        for row in good_rows(covers)
    ]
    rows.append({"id": "lost", "title": "Lost", "tags": "Action", "image": "lost.png"})
    params = {
        "ingestion": {"columns": {"game_id": "id", "genres": "tags", "cover": "image"}, "genre_delimiter": ";"}
    }

    output = ingest(kedro_project, covers, rows, params=params)

    assert output.games["game_id"].tolist() == ["good-0", "good-1"]
    assert [list(genres) for genres in output.games["genres"]] == [["Action", "Puzzle"], ["Action", "Puzzle"]]
    assert output.games["cover"].tolist() == ["good-0.png", "good-1.png"]
    assert not {"id", "tags", "image"} & set(output.games.columns)
    assert output.reject_of("lost")["cover"] == "lost.png"


def test_missing_column_raises(kedro_project: Path, covers: Path) -> None:
    rows = [{key: value for key, value in row.items() if key != "genres"} for row in good_rows(covers)]

    with pytest.raises(Exception) as caught:
        ingest(kedro_project, covers, rows)
    message = str(caught.value)

    assert "missing required column(s) 'genres'" in message
    assert "ingestion.columns" in message


def test_latin1_table_raises(kedro_project: Path, covers: Path) -> None:
    table = covers.parent / "games.csv"
    text = "game_id,title,genres,cover\ngood-0,Pokémon,Action,good-0.png\n"
    table.write_bytes(text.encode("latin-1"))

    with pytest.raises(Exception) as caught:
        run_pipelines(kedro_project, ["ingestion"], {"games_table": str(table), "covers_dir": str(covers)})
    message = str(caught.value)

    assert "is not valid utf-8" in message
    assert "line 2" in message
    assert "Re-save the file as UTF-8" in message
    assert "'encoding'" in message


# Every row accounted for


def test_every_row_accounted_for(kedro_project: Path, covers: Path, caplog: pytest.LogCaptureFixture) -> None:
    (covers / "empty.png").write_bytes(b"")
    rows = good_rows(covers, count=3) + [
        table_row("lost-1", "lost-1.png"),
        table_row("lost-2", "lost-2.png"),
        table_row("empty", "empty.png"),
        table_row("bare", "good-0.png", genres=""),
        table_row("good-1", "good-1.png"),
        table_row("", "good-2.png"),
    ]

    with caplog.at_level(logging.INFO, logger="game_genres"):
        output = ingest(kedro_project, covers, rows)
    report = output.report
    expected_by_reason = {
        "cover_file_empty": 1,
        "cover_file_not_found": 2,
        "game_id_duplicate": 1,
        "game_id_missing": 1,
        "genres_empty": 1,
    }

    assert report["rows_read"] == len(rows)
    assert report["rows_read"] == report["rows_kept"] + report["rows_rejected"]
    assert report["rows_kept"] == len(output.games)
    assert report["rows_rejected"] == len(output.rejects)
    assert report["rejected_by_reason"] == expected_by_reason
    assert output.rejects["reason"].value_counts().to_dict() == expected_by_reason
    assert sorted(output.rejects["row_number"]) == [4, 5, 6, 7, 8, 9]
    assert "Ingestion: read 9 rows, kept 3, rejected 6" in caplog.text
