"""The tiny exports of `tests/export/conftest.py`, served here."""

from tests.export.conftest import tiny_exports  # noqa: F401
