from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from intent_pipeline.synth import generate

INTERVAL = date(2026, 11, 21)
PEOPLE = 300


class Workload:
    def __init__(self, base: Path, **kwargs):
        self.landing = base / "landing"
        self.truth = base / "ground_truth"
        self.summary = generate(self.landing, self.truth, **kwargs)


@pytest.fixture(scope="session")
def workload(tmp_path_factory) -> Workload:
    """One default-shaped workload (single full-history drop) shared by the read-only tests."""
    return Workload(tmp_path_factory.mktemp("synth"), people=PEOPLE, seed=7, interval_start=INTERVAL)


POLLUTED_PEOPLE = 600


@pytest.fixture(scope="session")
def polluted(tmp_path_factory) -> Workload:
    """A polluted workload: hub identifiers near 1.5% of the links, 3.5% of people with a typo'd new-device form."""
    base = tmp_path_factory.mktemp("polluted")
    return Workload(base, people=POLLUTED_PEOPLE, seed=7, interval_start=INTERVAL, pollution="polluted")


@pytest.fixture(scope="session")
def clean(tmp_path_factory) -> Workload:
    """The same people (same seed) without any pollution."""
    base = tmp_path_factory.mktemp("clean")
    return Workload(base, people=POLLUTED_PEOPLE, seed=7, interval_start=INTERVAL, pollution="clean")
