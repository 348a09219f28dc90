"""Tests for the project's Kedro datasets: GenreTableDataset and NumpyArrayDataset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from kedro.io import DatasetError

from conftest import write_cover
from game_genres.cover_batches import CoverBatches
from game_genres.datasets import GenreTableDataset, NumpyArrayDataset

# GenreTableDataset


def write_bytes(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_table_utf8_bom_accepted(tmp_path: Path) -> None:
    text = "game_id,title,genres,cover\ng1,Pokémon,Action,a.png\n"
    filepath = write_bytes(tmp_path / "games.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))

    table = GenreTableDataset(filepath=filepath).load()

    assert list(table.columns) == ["game_id", "title", "genres", "cover"]
    assert table.loc[0, "title"] == "Pokémon"


def test_table_latin1_error_names_line(tmp_path: Path) -> None:
    text = "game_id,title,genres,cover\ng1,Tetris,Puzzle,a.png\ng2,Pokémon,Action,b.png\n"
    filepath = write_bytes(tmp_path / "games.csv", text.encode("latin-1"))

    with pytest.raises(DatasetError) as caught:
        GenreTableDataset(filepath=filepath).load()
    message = str(caught.value)

    assert "is not valid utf-8" in message
    assert "byte 0xe9 at line 3" in message
    assert "Re-save the file as UTF-8" in message
    assert "set 'encoding' on the games_table entry" in message


def test_table_latin1_encoding_option(tmp_path: Path) -> None:
    text = "game_id,title,genres,cover\ng1,Pokémon,Action,a.png\n"
    filepath = write_bytes(tmp_path / "games.csv", text.encode("latin-1"))

    table = GenreTableDataset(filepath=filepath, encoding="latin-1").load()

    assert table.loc[0, "title"] == "Pokémon"


def test_table_missing_file(tmp_path: Path) -> None:
    dataset = GenreTableDataset(filepath=str(tmp_path / "absent.csv"))

    with pytest.raises(DatasetError) as caught:
        dataset.load()
    message = str(caught.value)

    assert "Genre table not found" in message
    assert "absent.csv" in message
    assert "--params games_table=PATH" in message
    assert not dataset.exists()


def test_table_cells_stay_strings(tmp_path: Path) -> None:
    text = "game_id,title,genres,cover\n007,NA,None,a.png\n1e3,null,nan,\n"
    filepath = write_bytes(tmp_path / "games.csv", text.encode("utf-8"))

    table = GenreTableDataset(filepath=filepath).load()
    records = table.to_dict("records")

    assert records[0] == {"game_id": "007", "title": "NA", "genres": "None", "cover": "a.png"}
    assert records[1] == {"game_id": "1e3", "title": "null", "genres": "nan", "cover": ""}
    assert all(isinstance(value, str) for record in records for value in record.values())


def test_table_short_row_filled(tmp_path: Path) -> None:
    # Some spreadsheet exports drop trailing empty cells.
    text = "game_id,title,genres,cover\ng1,Tetris\n"
    filepath = write_bytes(tmp_path / "games.csv", text.encode("utf-8"))

    table = GenreTableDataset(filepath=filepath).load()

    assert table.loc[0, "genres"] == ""
    assert table.loc[0, "cover"] == ""


def test_table_trailing_comma_aligned(tmp_path: Path) -> None:
    text = "game_id,genres,cover\ng1,Action,a.png,\ng2,Puzzle,b.png,\n"
    filepath = write_bytes(tmp_path / "games.csv", text.encode("utf-8"))

    table = GenreTableDataset(filepath=filepath).load()

    assert table["game_id"].tolist() == ["g1", "g2"]


def test_table_ragged_row_error(tmp_path: Path) -> None:
    text = "game_id,genres,cover\ng1,Action,a.png\ng2,Puzzle,b.png,extra\n"
    filepath = write_bytes(tmp_path / "games.csv", text.encode("utf-8"))

    with pytest.raises(DatasetError, match="more fields than its 3 header columns") as caught:
        GenreTableDataset(filepath=filepath).load()

    assert "line 3" in str(caught.value)
    assert "'extra'" in str(caught.value)


def test_table_custom_separator(tmp_path: Path) -> None:
    text = "game_id;genres;cover\ng1;Action|Puzzle;a.png\n"
    filepath = write_bytes(tmp_path / "games.csv", text.encode("utf-8"))

    table = GenreTableDataset(filepath=filepath, load_args={"sep": ";"}).load()

    assert table.to_dict("records") == [{"game_id": "g1", "genres": "Action|Puzzle", "cover": "a.png"}]


def test_table_save_rejected(tmp_path: Path) -> None:
    filepath = write_bytes(tmp_path / "games.csv", b"game_id,genres,cover\n")
    dataset = GenreTableDataset(filepath=filepath)

    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(dataset.load())


# NumpyArrayDataset


class BlockProducer:
    """ArrayBatches that declares ``rows`` rows and yields the given blocks."""

    def __init__(self, rows: int, blocks: list[np.ndarray], failure: Exception | None = None) -> None:
        self.shape = (rows, *blocks[0].shape[1:])
        self.dtype = blocks[0].dtype
        self.blocks = blocks
        self.failure = failure
        self.blocks_yielded = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self.blocks:
            self.blocks_yielded += 1
            yield block
        if self.failure is not None:
            raise self.failure


def blocks_of(array: np.ndarray, size: int) -> list[np.ndarray]:
    return [array[start : start + size] for start in range(0, len(array), size)]


def test_array_round_trip(tmp_path: Path) -> None:
    array = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "nested" / "a.npy"), mmap_mode=None)

    dataset.save(array)
    loaded = dataset.load()

    assert type(loaded) is np.ndarray
    assert loaded.dtype == np.int16
    np.testing.assert_array_equal(loaded, array)


def test_array_loads_memmap_by_default(tmp_path: Path) -> None:
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "a.npy"))
    dataset.save(np.ones((3, 2), dtype=np.uint8))

    loaded = dataset.load()

    assert isinstance(loaded, np.memmap)
    assert not loaded.flags.writeable


def test_array_saves_producer_by_blocks(tmp_path: Path) -> None:
    array = np.arange(7 * 2 * 2 * 3, dtype=np.uint8).reshape(7, 2, 2, 3)
    producer = BlockProducer(7, blocks_of(array, 3))
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "images.npy"))

    dataset.save(producer)
    loaded = dataset.load()

    assert producer.blocks_yielded == 3
    assert isinstance(loaded, np.memmap)
    np.testing.assert_array_equal(loaded, array)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["images.npy"]


def test_array_saves_cover_batches(tmp_path: Path) -> None:
    paths = []
    for i in range(5):
        paths.append(tmp_path / "covers" / f"{i}.png")
        write_cover(paths[-1], ["Action"], size=8, seed=i)
    batches = CoverBatches(paths, size=6, policy="crop", max_pixels=1000, batch_size=2)
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "images.npy"))

    dataset.save(batches)
    loaded = dataset.load()

    assert isinstance(loaded, np.memmap)
    assert loaded.shape == (5, 6, 6, 3)
    assert loaded.dtype == np.uint8
    np.testing.assert_array_equal(loaded, batches.to_array())


def test_array_short_producer_raises(tmp_path: Path) -> None:
    producer = BlockProducer(5, blocks_of(np.ones((4, 2), dtype=np.uint8), 2))
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "a.npy"))

    with pytest.raises(DatasetError, match="yielded 4 rows but declared 5"):
        dataset.save(producer)

    assert list(tmp_path.iterdir()) == []


def test_array_short_producer_keeps_old_file(tmp_path: Path) -> None:
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "a.npy"), mmap_mode=None)
    dataset.save(np.zeros((2, 2), dtype=np.uint8))

    with pytest.raises(DatasetError):
        dataset.save(BlockProducer(5, [np.ones((4, 2), dtype=np.uint8)]))

    np.testing.assert_array_equal(dataset.load(), np.zeros((2, 2), dtype=np.uint8))


def test_array_long_producer_raises(tmp_path: Path) -> None:
    producer = BlockProducer(3, blocks_of(np.ones((4, 2), dtype=np.uint8), 2))
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "a.npy"))

    with pytest.raises(DatasetError) as caught:
        dataset.save(producer)

    assert "declared 3" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_array_failing_producer_cleans_up(tmp_path: Path) -> None:
    failure = OSError("cover vanished")
    producer = BlockProducer(6, [np.ones((2, 2), dtype=np.uint8)], failure=failure)
    dataset = NumpyArrayDataset(filepath=str(tmp_path / "a.npy"))

    with pytest.raises(DatasetError, match="cover vanished"):
        dataset.save(producer)

    assert list(tmp_path.iterdir()) == []

