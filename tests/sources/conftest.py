"""Fixtures for the extract tests."""

from __future__ import annotations

import pytest
from intent_pipeline.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    """A fresh installation under tmp_path (landing, lake, ... in <tmp>/data)."""
    return Settings.from_env({"INTENT_HOME": str(tmp_path)})
