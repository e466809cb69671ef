"""The marts gate's referential checks (a mart's person ids exist in ``marts.people``), evaluated beside GX.

A mart suite states them as ``expect_column_values_to_be_in_set`` with ``value_set`` the suite parameter
``{"$PARAMETER": "people_person_ids"}``: every person id. GX copies and serialises an expectation's
configuration (pydantic's ``dict()``, ``deepcopy``) thousands of times a validation run, that value set
included, so its cost grew with people x checks: cProfile of the gate at 2,000 people put 9.7 of its 27.0 s in
pydantic's ``dict()`` alone, and at 100,000 people the gate took 143.8 CPU-s (docs/incremental.md, "The marts
gate"). The check itself is GX's own for pandas,
``column.isin(value_set)`` over the column's non-null values; :func:`referential_row` evaluates exactly that
on the same DataFrame and turns the counts into GX's report row with the raw gate's merge
(``batched.Merge``: ``mostly``, percents of the rows considered and of all rows, the first failing values
with their key columns). The other expectations of the suite still run in GX.
"""

from __future__ import annotations

from types import SimpleNamespace

from intent_pipeline.quality.batched import Merge
from intent_pipeline.quality.checks import MAX_EXAMPLES, examples_of

PEOPLE_IDS = "people_person_ids"


def is_referential(expectation: dict, columns) -> bool:
    """An ``expect_column_values_to_be_in_set`` against every person id, on a column the table has and without
    a row condition (anything else stays with GX, whose error or condition handling the report keeps)."""
    kwargs = expectation.get("kwargs") or {}
    return (
        expectation.get("type") == "expect_column_values_to_be_in_set"
        and kwargs.get("value_set") == {"$PARAMETER": PEOPLE_IDS}
        and not kwargs.get("row_condition")
        and kwargs.get("column") in columns
    )


def referential_row(expectation: dict, df, person_ids: list, keys: list[str]) -> dict:
    """The report row GX gives ``expectation`` (:func:`is_referential`) on ``df`` with ``person_ids`` as the set."""
    series = df[expectation["kwargs"]["column"]]
    present = series.notna()
    unexpected = present & ~series.isin(person_ids)
    merge = Merge(SimpleNamespace(expectation_config=SimpleNamespace(
        type=expectation["type"], kwargs=expectation["kwargs"], meta=expectation.get("meta") or {})))  # fmt: skip
    merge.element, merge.missing, merge.unexpected = len(df), int((~present).sum()), int(unexpected.sum())
    first = df.index[unexpected.to_numpy()][:MAX_EXAMPLES]
    details = {"partial_unexpected_list": list(series.loc[first]), "partial_unexpected_index_list": list(first)}
    merge.examples = examples_of(details, df, keys)
    return merge.row(keys)
