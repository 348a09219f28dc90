"""Kedro dataset for large arrays stored as ``.npy`` and read back memory-mapped."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any, Iterable, Protocol

import numpy as np
from kedro.io import AbstractDataset, DatasetError


class ArrayBatches(Protocol):
    """Lazy producer of an array too large to build in memory.

    ``shape`` and ``dtype`` describe the whole array, and iteration yields
    consecutive blocks along the first axis that add up to it.
    """

    shape: tuple[int, ...]
    dtype: np.dtype

    def __iter__(self) -> Iterable[np.ndarray]: ...


class NumpyArrayDataset(AbstractDataset[Any, np.ndarray]):
    """Array saved with ``np.save`` and loaded with ``mmap_mode``.

    ``save`` accepts an ``np.ndarray`` or an ``ArrayBatches`` object; the
    latter is written block by block into a memory-mapped ``.npy`` file, so
    the whole array never has to fit in memory. ``load`` returns a read-only
    memory map by default, which consumers can slice batch by batch.
    """

    def __init__(
        self,
        filepath: str,
        mmap_mode: str | None = "r",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = PurePosixPath(filepath)
        self._mmap_mode = mmap_mode
        self.metadata = metadata

    def load(self) -> np.ndarray:
        return np.load(Path(self._filepath), mmap_mode=self._mmap_mode, allow_pickle=False)

    def save(self, data: Any) -> None:
        path = Path(self._filepath)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, np.ndarray):
            np.save(path, data, allow_pickle=False)
            return

        # Write into a temporary file first so an interrupted run never leaves
        # a half-filled array under the real name.
        partial = path.with_name(path.name + ".partial")
        output = np.lib.format.open_memmap(partial, mode="w+", dtype=data.dtype, shape=tuple(data.shape))
        declared = data.shape[0]
        filled = 0
        try:
            for block in data:
                if filled + len(block) > declared:
                    raise DatasetError(
                        f"Array producer for '{path}' yielded at least {filled + len(block)} rows but declared {declared}."
                    )
                output[filled : filled + len(block)] = block
                filled += len(block)
            if filled != declared:
                raise DatasetError(f"Array producer for '{path}' yielded {filled} rows but declared {declared}.")
            output.flush()
        except BaseException:
            del output
            partial.unlink(missing_ok=True)
            raise
        del output
        partial.replace(path)

    def _exists(self) -> bool:
        return Path(self._filepath).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "mmap_mode": self._mmap_mode}
