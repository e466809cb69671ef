"""Suite-wide collection order: the slow modules first.

``make test`` runs the suite on every core with pytest-xdist, one test file per worker at a time
(``--dist loadfile``: a file's module fixtures are built once). Files that hold a slow test (real
dbt builds, Airflow end to end) are handed out first, so the fast files fill the other workers
while they run instead of the slow ones starting last and running alone.
"""

from __future__ import annotations


def pytest_collection_modifyitems(config, items):
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: each file keeps its order
