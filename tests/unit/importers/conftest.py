"""Fixtures of the importer tests: the real samples in tests/data/real, converted once."""

from __future__ import annotations

import pytest
from importer_samples import BOSTON_DUPES_SAMPLE, BOSTON_SAMPLE, NYC_SAMPLE, convert_file

from hotline.importers import BOSTON311, NYC311, Conversion


@pytest.fixture(scope="session")
def nyc() -> Conversion:
    return convert_file(NYC_SAMPLE, NYC311)


@pytest.fixture(scope="session")
def boston() -> Conversion:
    return convert_file(BOSTON_SAMPLE, BOSTON311)


@pytest.fixture(scope="session")
def boston_dupes() -> Conversion:
    return convert_file(BOSTON_DUPES_SAMPLE, BOSTON311)
