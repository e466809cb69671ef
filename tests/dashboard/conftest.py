"""One build of the sample's dashboards for every test file of this folder.

``test_dashboard.py`` and ``test_operations_page.py`` (and any xdist worker running either) share
one sample, one ``dashboard/build.sh`` run and one rendering of the pages in headless Chromium:
the first test that needs them makes them under a file lock in a folder every worker of the test
run shares, the others wait and read the record it leaves (``tests/dashboard/site.py``), as
``tests/dbt/conftest.py`` shares its warehouse.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dashboard.site import build_site, render_site
from tests.shared import shared_folder


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample's serving copy and the dashboards built from it (once per test run)."""
    return build_site(shared_folder(tmp_path_factory))


@pytest.fixture(scope="session")
def rendered(built: dict[str, Path]) -> dict:
    """Every page of that build rendered in headless Chromium (once per test run), by page name."""
    return render_site(built)
