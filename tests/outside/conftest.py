"""The outside checks that build with dbt start from the test run's parse of the project, as tests/dbt's do."""

from tests.dbt.conftest import dbt_parse_cache  # noqa: F401  (session fixture: where the run's parse is kept)
