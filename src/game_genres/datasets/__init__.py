"""Project-specific Kedro datasets."""

from .cover_folder import CoverFolderDataset
from .genre_classifier import GenreClassifierDataset
from .genre_table import GenreTableDataset
from .head_runs import HeadRunsDataset
from .numpy_array import NumpyArrayDataset

__all__ = [
    "CoverFolderDataset",
    "GenreClassifierDataset",
    "GenreTableDataset",
    "HeadRunsDataset",
    "NumpyArrayDataset",
]
