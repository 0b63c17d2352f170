"""The exception and warning used for every data problem in :mod:`tinynet.datasets`."""

from __future__ import annotations


class DatasetError(ValueError):
    """A data file or directory is missing, damaged or not what it claims to be.

    Every message names the file (or directory) and says what to do about it.
    """


class DatasetNotFoundError(DatasetError):
    """The dataset is in none of the places looked at, and could not be downloaded.

    This is the only error on which ``load_dataset("auto")`` falls back to the bundled
    digits: a file that was *found* but is damaged raises a plain :class:`DatasetError`,
    because silently training on other data would hide a real problem.

    Attributes
    ----------
    places : list of str
        One line per place looked at (directory, cache, mirror URL) with what was found there.
    """

    def __init__(self, message: str, places: list[str] | None = None) -> None:
        super().__init__(message)
        self.places = list(places or [])


class DatasetWarning(UserWarning):
    """Data was loaded, but not quite as asked: unverified files, or a fallback dataset."""
