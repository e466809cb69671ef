"""Fixtures for the quality-gate tests."""

from __future__ import annotations

import pytest
from intent_pipeline.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A fresh installation under tmp_path (lake, warehouse, reports in <tmp>/data)."""
    return Settings.from_env({"INTENT_HOME": str(tmp_path)})
