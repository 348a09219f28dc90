"""Lazy, batched decoding of covers into a uint8 image tensor."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from game_genres.images import load_cover_array


class CoverBatches:
    """Covers decoded and resized on demand, ``batch_size`` images at a time.

    Iterating yields uint8 arrays of shape ``(batch, size, size, 3)`` in the
    order of ``paths``; ``NumpyArrayDataset`` writes them straight to disk, so
    the full tensor is never held in memory. A progress bar shows images done
    and the time left.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        size: int,
        policy: str,
        max_pixels: int,
        batch_size: int = 64,
        description: str = "Resizing covers",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.paths = [Path(path) for path in paths]
        self.size = size
        self.policy = policy
        self.max_pixels = max_pixels
        self.batch_size = batch_size
        self.description = description
        self.shape = (len(self.paths), size, size, 3)
        self.dtype = np.dtype(np.uint8)

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[np.ndarray]:
        with tqdm(total=len(self.paths), desc=self.description, unit="image") as progress:
            for start in range(0, len(self.paths), self.batch_size):
                chunk = self.paths[start : start + self.batch_size]
                block = np.stack([load_cover_array(path, self.size, self.policy, self.max_pixels) for path in chunk])
                progress.update(len(chunk))
                yield block

    def to_array(self) -> np.ndarray:
        """Decode every cover into one in-memory array (for small inputs and tests)."""
        if not self.paths:
            return np.zeros(self.shape, dtype=self.dtype)
        return np.concatenate(list(self))
