"""Project-specific Kedro datasets."""

from .genre_table import GenreTableDataset
from .head_runs import HeadRunsDataset
from .numpy_array import NumpyArrayDataset

__all__ = ["GenreTableDataset", "HeadRunsDataset", "NumpyArrayDataset"]
