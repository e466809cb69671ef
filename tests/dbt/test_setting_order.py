"""The order of macro ``setting`` (dbt_project/macros/setting.sql): a dbt ``--vars`` value beats the
INTENT_<NAME> environment variable, which beats the default (docs/configuration.md), on the real dbt CLI."""

from __future__ import annotations

import pytest

from tests.dbt.conftest import run_dbt

pytestmark = pytest.mark.slow


def test_a_var_beats_the_environment_which_beats_the_default(tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    # the window given both ways: the var wins; the event given in the environment alone: it beats the default
    env = {"INTENT_CONVERSION_WINDOW_DAYS": "60", "INTENT_CONVERSION_EVENT": "order_placed"}
    done = run_dbt(
        tmp_path, lake, "compile", "--inline", "select '{{ conversion_definition() }}' as conversion_definition",
        "--vars", "{conversion_window_days: 45}", extra_env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    compiled = done.stdout.split("Compiled inline node is:", 1)[1]
    assert "'order_placed within 45 days'" in compiled, compiled
