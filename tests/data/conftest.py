"""Fixtures for tests/data: the shared Tatoeba file, when it is there."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT / "../shared/data"
FRA_ENG_PATH = SHARED_DATA / "fra-eng" / "fra.txt"


@pytest.fixture(scope="session")
def fra_eng_path() -> Path:
    """`../shared/data/fra-eng/fra.txt`, or a skip that says why it is missing."""
    if not FRA_ENG_PATH.is_file():
        pytest.skip(
            f"{FRA_ENG_PATH.resolve()} is absent: these tests need ../shared/data next to the "
            "repository (Tatoeba English–French from https://www.manythings.org/anki/)."
        )
    return FRA_ENG_PATH
