"""Kedro dataset that reads every file of a covers folder as raw bytes."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

COVER_FOLDER_COLUMNS = ["cover", "image", "read_error"]


class CoverFolderDataset(AbstractDataset[None, pd.DataFrame]):
    """Folder of cover files, loaded as one row per file with its raw bytes.

    ``load`` returns a DataFrame with the columns ``cover`` (the path relative to
    the folder, with '/' separators), ``image`` (the file's bytes) and
    ``read_error``. ``read_error`` is None for a file that was read. Otherwise it
    gives the reason the file could not be read (an OSError, a broken symlink or
    a special file such as a named pipe), and ``image`` is None. Rows are sorted
    by ``cover``. Every file is listed, hidden files and non-images included, so
    that the pipeline rejects each one with a reason instead of skipping it.
    Symlinks to files are read, but symlinks to folders are not entered, which
    also rules out symlink loops.

    NOTE: the bytes of every file are held in memory at once, so a folder larger
    than the free memory has to be split into several runs.
    """

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = PurePosixPath(path)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        folder = Path(self._path)
        if not folder.is_dir():
            raise DatasetError(
                f"Covers folder for inference not found: '{folder}' does not exist or is not a folder. "
                "Pass its location with 'kedro run --pipelines inference --params "
                "inference_covers_dir=PATH' or edit 'inference_covers' in conf/base/catalog_inference.yml."
            )

        rows = []
        for directory, _, file_names in os.walk(folder, followlinks=False):
            for file_name in file_names:
                path = Path(directory) / file_name
                rows.append({"cover": path.relative_to(folder).as_posix(), **_read_file(path)})
        rows.sort(key=lambda row: row["cover"])
        return pd.DataFrame(rows, columns=COVER_FOLDER_COLUMNS)

    def save(self, data: None) -> None:
        raise DatasetError("CoverFolderDataset is read-only: it describes the user's folder of covers.")

    def _exists(self) -> bool:
        return Path(self._path).is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}


def _read_file(path: Path) -> dict[str, Any]:
    # Reading a named pipe would block, so only regular files are opened.
    if not path.is_file():
        kind = "a broken symlink" if path.is_symlink() and not path.exists() else "not a regular file"
        return {"image": None, "read_error": f"'{path}' is {kind}."}
    try:
        return {"image": path.read_bytes(), "read_error": None}
    except OSError as error:
        return {"image": None, "read_error": f"{type(error).__name__}: {error}"}
