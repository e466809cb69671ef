"""The dbt Python model ``attribution_touch_credits`` on an engine whose dbt adapter runs no Python
model (Postgres; Spark in session mode: dbt-spark submits Python models to Databricks only).

The one route for those engines (docs/portability.md, macros/precomputed.sql): after dbt built the
model's inputs, :func:`run_precomputed` runs the model's own file with the config dbt resolved into
``manifest.json``, on the inputs read from the engine, and writes its output to
``raw.attribution_touch_credits`` there with a fingerprint of the journeys and the settings it ran
with (``raw.attribution_touch_credits__computed_from``); the model's materialization ``precomputed``
then copies that table, and fails if the journeys or settings changed since. What differs per engine
(how a relation is read, fingerprinted and written) is an :class:`Engine`.
"""

from __future__ import annotations

import runpy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

ATTRIBUTION_MODEL = "attribution_touch_credits"
ATTRIBUTION_INPUT = "int_attribution_journeys"
ATTRIBUTION_SETTINGS = ("path_transform", "half_life_days", "markov_order")
MODEL_FILE = Path(__file__).resolve().parents[2] / "dbt_project/models/marts/attribution/attribution_touch_credits.py"
STAGED_SCHEMA = "raw"


@dataclass(frozen=True)
class Dialect:
    """What differs between two engines in the SQL of the precomputed route (and Postgres's load of the
    lake): the names of the types a staged table's columns get (:func:`sql_type`), and how the
    fingerprint query (:func:`fingerprint_sql`) writes a row as text and the rows' texts sorted and
    joined by ``|`` (``sorted_join``, an aggregate over ``{row}``)."""

    boolean: str
    integer: str
    floating: str
    timestamp: str
    date: str
    text: str
    row_text: str
    sorted_join: str


# the fingerprints' values must equal macros/precomputed.sql's precomputed_fingerprint on each engine
# (default__ on Postgres, spark__ on Spark), or the model fails as stale
POSTGRES = Dialect(
    boolean="boolean", integer="bigint", floating="double precision", timestamp="timestamp", date="date",
    text="text", row_text="cast(rows as text)", sorted_join="string_agg({row}, '|' order by {row})",
)  # fmt: skip
SPARK = Dialect(
    boolean="boolean", integer="bigint", floating="double", timestamp="timestamp", date="date",
    text="string", row_text="to_json(struct(rows.*))", sorted_join="array_join(array_sort(collect_list({row})), '|')",
)  # fmt: skip


def sql_type(arrow_type: Any, dialect: Dialect) -> str:
    """The engine's type of a column of Arrow type ``arrow_type``: booleans, integers (any width, as
    bigint), floats (as double), timestamps (any unit, without a zone: the lake's times are naive
    UTC), dates; anything else (strings, a column of nulls only) as text."""
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return dialect.boolean
    if pa.types.is_integer(arrow_type):
        return dialect.integer
    if pa.types.is_floating(arrow_type):
        return dialect.floating
    if pa.types.is_timestamp(arrow_type):
        return dialect.timestamp
    if pa.types.is_date(arrow_type):
        return dialect.date
    return dialect.text


def fingerprint_sql(relation: str, dialect: Dialect) -> str:
    """The query of ``relation``'s fingerprint: its row count and the md5 of its rows' texts, sorted
    and joined by ``|`` (empty with no rows), as ``count:md5`` text."""
    joined = dialect.sorted_join.format(row=dialect.row_text)
    return (
        f"select cast(count(*) as {dialect.text}) || ':' || case when count(*) = 0 then '' else md5({joined}) end "
        f"from {relation} as rows"
    )


class Engine(Protocol):
    """What :func:`run_precomputed` needs of an engine."""

    def fingerprint(self, relation: str) -> str:
        """The text of macro ``precomputed_fingerprint`` (macros/precomputed.sql) for ``relation``."""
        ...

    def read_frame(self, relation: str) -> Any:
        """Every row of ``relation`` as a pandas DataFrame (numbers as floats, times as pandas times)."""
        ...

    def write(self, table: Any, fingerprint: str, settings: str) -> None:
        """``table`` (pyarrow) as ``raw.<model>``, and (fingerprint, settings) as ``raw.<model>__computed_from``."""
        ...


class _ModelConfig:
    def __init__(self, values: Mapping[str, Any]):
        self._values = values

    def __call__(self, **_: Any) -> None:  # dbt.config(...) in the model: the manifest already has it
        return None

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)


class _Frame:
    def __init__(self, frame):
        self._frame = frame

    def df(self):
        return self._frame


class _ModelContext:
    """What the Python model reads of ``dbt`` (``config.get``, ``ref(...).df()``)."""

    def __init__(self, config: Mapping[str, Any], frames: Mapping[str, Any]):
        self.config = _ModelConfig(config)
        self._frames = frames

    def ref(self, name: str) -> _Frame:
        return _Frame(self._frames[name])


def run_precomputed(manifest_path: Path | str, engine: Engine) -> int:
    """Run the Python model ``attribution_touch_credits`` (its own file, with the config dbt resolved
    into ``manifest.json``) on the inputs dbt built on ``engine``, and write its table and
    fingerprint there for the ``precomputed`` materialization. Returns the rows written."""
    import json

    import pyarrow as pa

    manifest = json.loads(Path(manifest_path).read_text())
    nodes = {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    config = nodes[ATTRIBUTION_MODEL]["config"]
    settings = ";".join(f"{name}={config.get(name)}" for name in ATTRIBUTION_SETTINGS)
    model = runpy.run_path(str(MODEL_FILE))["model"]
    fingerprint = engine.fingerprint(nodes[ATTRIBUTION_INPUT]["relation_name"])
    # every model the Python model refs (the journeys, and people for the analytics consent); the
    # fingerprint covers the journeys: the other inputs come from the same first phase of the build
    frames = {ref["name"]: engine.read_frame(nodes[ref["name"]]["relation_name"])
              for ref in nodes[ATTRIBUTION_MODEL]["refs"]}  # fmt: skip
    out = model(_ModelContext(config, frames), None)
    table = pa.Table.from_pandas(out, preserve_index=False)
    engine.write(table, fingerprint, settings)
    return table.num_rows


def frame_of(names: list[str], rows: list) -> Any:
    """Rows from a driver as a DataFrame as a DuckDB read gives them: decimals as floats, timestamps
    as pandas times (the model computes in floats, as on DuckDB)."""
    import decimal
    from datetime import datetime

    import pandas as pd

    frame = pd.DataFrame(rows, columns=names)
    for name in names:
        if frame[name].map(lambda v: isinstance(v, decimal.Decimal)).any():
            frame[name] = frame[name].astype(float)
    for name in names:
        if frame[name].map(lambda v: isinstance(v, datetime)).any():
            frame[name] = pd.to_datetime(frame[name])
    return frame
