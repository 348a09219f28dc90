"""Nodes that turn the user's genre table and covers folder into a clean games table."""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from game_genres.images import CoverRejectedError, open_cover_rgb, resolve_cover_path

logger = logging.getLogger(__name__)

REASON_MISSING_GAME_ID = "game_id_missing"
REASON_DUPLICATE_GAME_ID = "game_id_duplicate"
REASON_NO_GENRES = "genres_empty"

REJECT_COLUMNS = ["row_number", "game_id", "cover", "reason", "detail"]

# Columns the clean games table adds for each decoded cover; prefixed so that
# user columns such as "format" or "width" are kept unchanged beside them.
COVER_PROPERTY_COLUMNS = ["cover_width", "cover_height", "cover_format", "cover_mode", "cover_extension_mismatch"]


def _check_columns(table: pd.DataFrame, columns: dict[str, str]) -> None:
    missing = [f"'{name}' (parameter ingestion.columns.{role})" for role, name in columns.items() if name not in table.columns]
    if missing:
        raise ValueError(
            f"Genre table is missing required column(s) {', '.join(missing)}. "
            f"Columns found: {list(table.columns)}. Rename the columns in the CSV "
            "or set ingestion.columns in conf/base/parameters_ingestion.yml, or at run "
            "time with --params ingestion.columns.genres=NAME."
        )


def _genre_key(genre: str) -> str:
    return re.sub(r"\s+", " ", genre).strip().casefold()


def _canonical_genres(raw_lists: pd.Series) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Map each case/space variant of a genre to its most frequent spelling."""
    spellings: dict[str, Counter] = {}
    for genres in raw_lists:
        for genre in genres:
            spelling = re.sub(r"\s+", " ", genre).strip()
            spellings.setdefault(_genre_key(genre), Counter())[spelling] += 1

    canonical = {}
    merges = {}
    for key, counts in spellings.items():
        # most_common keeps first-seen order among equal counts, so ties are stable.
        canonical[key] = counts.most_common(1)[0][0]
        if len(counts) > 1:
            merges[canonical[key]] = sorted(counts)
    return canonical, merges


def _reject(
    rejects: list[dict], row_number: int, row: pd.Series, columns: dict[str, str], reason: str, detail: str
) -> None:
    rejects.append(
        {
            "row_number": row_number,
            "game_id": row[columns["game_id"]],
            "cover": row[columns["cover"]],
            "reason": reason,
            "detail": detail,
        }
    )


def ingest_games(
    table: pd.DataFrame, covers_dir: str, image_params: dict[str, Any], params: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Validate every row and cover of the genre table.

    Args:
        table: The raw genre table, every cell a string.
        covers_dir: Folder that the table's cover paths are relative to.
        image_params: ``image`` parameters; ``max_pixels`` caps width x height.
        params: ``ingestion`` parameters: ``columns`` (game_id, genres, cover)
            and ``genre_delimiter``.

    Returns:
        The clean games table (one row per usable game: ``game_id``,
        ``genres`` as a list, ``cover`` relative to the covers folder, the
        cover's decoded size and format, and every other column of the input),
        the rejects table (``row_number`` counts data rows from 1, so the
        header is not a row), and a report of the counts.
    """
    columns = params["columns"]
    _check_columns(table, columns)
    clashes = [name for name in COVER_PROPERTY_COLUMNS if name in table.columns]
    if clashes:
        raise ValueError(
            f"Genre table has column(s) {clashes}, which ingestion adds itself for each decoded cover. "
            "Rename those columns in the CSV."
        )
    delimiter = params["genre_delimiter"]
    max_pixels = int(image_params["max_pixels"])

    rows = table.reset_index(drop=True).copy()
    rows[columns["game_id"]] = rows[columns["game_id"]].str.strip()
    raw_genres = rows[columns["genres"]].map(lambda text: [g for g in text.split(delimiter) if g.strip()])
    canonical, merges = _canonical_genres(raw_genres)
    for spelling, variants in merges.items():
        logger.warning("Merged genre spellings %s into '%s'.", variants, spelling)

    rejects: list[dict] = []
    kept: list[dict] = []
    kept_row_of_id: dict[str, int] = {}
    image_modes: Counter = Counter()
    extension_mismatches = 0

    for index, row in tqdm(rows.iterrows(), total=len(rows), desc="Checking covers", unit="cover"):
        row_number = index + 1
        game_id = row[columns["game_id"]]
        if not game_id:
            _reject(rejects, row_number, row, columns, REASON_MISSING_GAME_ID, "The game id cell is empty.")
            continue
        if game_id in kept_row_of_id:
            _reject(
                rejects, row_number, row, columns, REASON_DUPLICATE_GAME_ID,
                f"Game id '{game_id}' is already used by row {kept_row_of_id[game_id]}, which is kept.",
            )
            continue

        genres = list(dict.fromkeys(canonical[_genre_key(g)] for g in raw_genres[index]))
        if not genres:
            _reject(
                rejects, row_number, row, columns, REASON_NO_GENRES,
                f"The genres cell '{row[columns['genres']]}' holds no genre (delimiter '{delimiter}').",
            )
            continue

        try:
            path = resolve_cover_path(covers_dir, row[columns["cover"]])
            _, info = open_cover_rgb(path, max_pixels)
        except CoverRejectedError as error:
            _reject(rejects, row_number, row, columns, error.reason, error.detail)
            continue

        image_modes[info.mode] += 1
        extension_mismatches += int(info.extension_mismatch)
        if info.extension_mismatch:
            logger.warning("Cover '%s' is a %s file with a misleading extension; it is used.", path, info.format)

        record = {column: row[column] for column in table.columns}
        record.update(
            {
                "game_id": game_id,
                "genres": genres,
                "cover": str(row[columns["cover"]]).strip(),
                "cover_width": info.width,
                "cover_height": info.height,
                "cover_format": info.format,
                "cover_mode": info.mode,
                "cover_extension_mismatch": info.extension_mismatch,
            }
        )
        kept.append(record)
        kept_row_of_id[game_id] = row_number

    games = pd.DataFrame(kept)
    if columns["genres"] != "genres":
        games = games.drop(columns=[columns["genres"]], errors="ignore")
    if columns["cover"] != "cover":
        games = games.drop(columns=[columns["cover"]], errors="ignore")
    if columns["game_id"] != "game_id":
        games = games.drop(columns=[columns["game_id"]], errors="ignore")
    rejects_table = pd.DataFrame(rejects, columns=REJECT_COLUMNS)

    by_reason = rejects_table["reason"].value_counts().sort_index().to_dict()
    report = {
        "rows_read": len(rows),
        "rows_kept": len(games),
        "rows_rejected": len(rejects_table),
        "rejected_by_reason": {reason: int(count) for reason, count in by_reason.items()},
        "genre_spellings_merged": merges,
        "covers_with_misleading_extension": extension_mismatches,
        "cover_modes": dict(sorted(image_modes.items())),
        "covers_dir": str(covers_dir),
    }
    logger.info(
        "Ingestion: read %d rows, kept %d, rejected %d %s.",
        report["rows_read"], report["rows_kept"], report["rows_rejected"], report["rejected_by_reason"] or "",
    )
    if games.empty:
        raise ValueError(
            f"No usable game in the genre table ({len(rows)} rows read, all rejected: {report['rejected_by_reason']}). "
            "See data/02_intermediate/ingestion_rejects.csv for each row's reason."
        )
    return games, rejects_table, report
