"""The scheduled dbt build's arguments."""

from __future__ import annotations

import pytest
from intent_pipeline.pipeline import dbt_build_args


def test_the_scheduled_build_leaves_unit_tests_to_ci():
    assert dbt_build_args({}) == ("build", "--exclude-resource-type", "unit_test")


@pytest.mark.parametrize("value", ["1", "true", " YES "])
def test_unit_tests_in_the_dag_on_request(value):
    assert dbt_build_args({"INTENT_DBT_UNIT_TESTS": value}) == ("build",)
