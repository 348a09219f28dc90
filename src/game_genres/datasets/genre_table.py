"""Kedro dataset that reads the user's genre table with a clear encoding check."""

from __future__ import annotations

import csv
import io
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError


class GenreTableDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """CSV genre table loaded with every column as text.

    Every cell stays a string (empty cells become ``""``), so that values such
    as ``NA`` or ``None`` in a title or genre are not turned into missing
    values by pandas. A file that is not valid in ``encoding`` raises a
    ``DatasetError`` that names the byte, the line and the fix.
    """

    def __init__(
        self,
        filepath: str,
        encoding: str = "utf-8",
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._encoding = encoding
        self._load_args = {"sep": ",", **(load_args or {})}
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        path = Path(self._filepath)
        if not path.is_file():
            raise DatasetError(
                f"Genre table not found: '{path}'. Pass its location with "
                "'kedro run --params games_table=PATH' or edit 'games_table' "
                "in conf/base/catalog.yml."
            )
        raw = path.read_bytes()
        # utf-8-sig also accepts the byte-order mark that spreadsheet programs write.
        codec = "utf-8-sig" if self._encoding.lower().replace("_", "-") in ("utf-8", "utf8") else self._encoding
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as error:
            line = raw[: error.start].count(b"\n") + 1
            raise DatasetError(
                f"Genre table '{path}' is not valid {self._encoding}: byte "
                f"0x{raw[error.start]:02x} at line {line} cannot be decoded. "
                f"Re-save the file as UTF-8, or set 'encoding' on the games_table "
                "entry in conf/base/catalog.yml to the file's encoding "
                "(for example latin-1 or cp1252)."
            ) from error
        self._check_extra_fields(path, text)
        try:
            with warnings.catch_warnings():
                # _check_extra_fields has rejected every non-empty extra field,
                # so the fields pandas drops here are empty.
                warnings.simplefilter("ignore", pd.errors.ParserWarning)
                return pd.read_csv(
                    io.StringIO(text),
                    dtype=str,
                    keep_default_na=False,
                    # A trailing delimiter on every data row must not turn the
                    # first column into the index and shift the others left.
                    index_col=False,
                    **self._load_args,
                )
        except pd.errors.ParserError as error:
            raise DatasetError(f"Genre table '{path}' is not a valid CSV file: {error}") from error

    def _check_extra_fields(self, path: Path, text: str) -> None:
        """Reject a row with more non-empty fields than the header has columns."""
        reader = csv.reader(io.StringIO(text), delimiter=self._load_args["sep"])
        header = next(reader, [])
        for fields in reader:
            extra = [field for field in fields[len(header):] if field.strip()]
            if extra:
                raise DatasetError(
                    f"Genre table '{path}' has a row with more fields than its {len(header)} header columns "
                    f"(line {reader.line_num}, extra values {extra}). Quote values that contain the "
                    f"delimiter '{self._load_args['sep']}', or add the missing column names to the header."
                )

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError("GenreTableDataset is read-only: it describes the user's input table.")

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "encoding": self._encoding, "load_args": self._load_args}
