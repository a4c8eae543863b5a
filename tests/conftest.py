"""Session fixtures."""

import pytest

import scalinglaws as sl

from .helpers import DATA


@pytest.fixture(scope="session")
def epoch_fit():
    """The default fit on Epoch AI's Chinchilla points (bundled copy), computed once."""
    return sl.fit("chinchilla", sl.read_points(DATA / "chinchilla_epoch.csv"))

