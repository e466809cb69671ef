"""``erase`` takes the DAG's writer pool (docs/privacy.md, "Erasure").

The ``customer_intent`` DAG serialises every task that writes the warehouse, its serving copy or
purges the lake (``dbt_build``, ``publish``, ``retention``) with one Airflow pool of one slot,
``intent_warehouse`` (created by ``scripts/airflow-init.sh`` and the compose init). ``erase`` runs
outside Airflow, so it cannot take a slot the way a task does; it takes the pool itself:

1. it closes the pool: the pool's slots are set to 0 (the description says who holds it and what
   it was), so the scheduler queues no new writer task of any run;
2. it waits until no task instance occupies the pool (running or queued: a ``dbt_build`` that was
   already building finishes first), up to ``wait_seconds``; if one still does then, it opens the
   pool again and refuses with the task instances that hold it;
3. it erases, and in every case (success, error, Ctrl-C) gives the pool its slots back.

A pool already closed by another ``erase`` is refused (one erasure at a time). If an erasure
process is killed (SIGKILL, a crash of the machine) the pool stays closed, which stops the writers
and never lets them write beside a half-done erasure: reopen it with
``airflow pools set intent_warehouse 1 "<description>"`` after checking what it was doing.

This needs the Airflow metadata database of the installation (the same ``AIRFLOW_HOME`` /
``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` the scheduler uses): a CLI on the scheduler's machine or in
its container, as ``airflow pools`` itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

POOL = "intent_warehouse"
HELD_BY = "held by intent erase "
DEFAULT_WAIT_SECONDS = 1800.0  # a dbt build of the default sample takes minutes, not half an hour


class PoolBusy(RuntimeError):
    """The pool could not be taken: missing, held by another erase, or a writer still holds it."""


@dataclass(frozen=True)
class PoolState:
    slots: int
    description: str
    include_deferred: bool


def _pool(name: str):
    from airflow.models.pool import Pool

    return Pool.get_pool(name)


def _set(name: str, state: PoolState) -> None:
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(name, state.slots, state.description, state.include_deferred)


def holders(name: str) -> list[str]:
    """``dag_id.task_id (run_id, state)`` of every task instance occupying the pool."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    states = (TaskInstanceState.RUNNING, TaskInstanceState.QUEUED, TaskInstanceState.DEFERRED)
    query = select(TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.run_id, TaskInstance.state).where(
        TaskInstance.pool == name, TaskInstance.state.in_(states)
    )
    with create_session() as session:
        rows = session.execute(query).all()
    return [f"{dag_id}.{task_id} ({run_id}, {state})" for dag_id, task_id, run_id, state in rows]


def _occupied(name: str) -> int:
    pool = _pool(name)
    return int(pool.occupied_slots()) if pool is not None else 0


@contextmanager
def holding_pool(
    name: str = POOL,
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    poll_seconds: float = 2.0,
    holder: str = "",
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    log: Callable[[str], None] = lambda message: None,
) -> Iterator[dict]:
    """Close the pool, wait for its writers to finish, yield, give the pool its slots back.

    Yields ``{"pool", "slots", "waited_seconds"}``. Raises :class:`PoolBusy` (with the pool as it
    was) when the pool does not exist, another erase holds it, or a writer still holds it after
    ``wait_seconds``."""
    pool = _pool(name)
    if pool is None:
        raise PoolBusy(
            f"Airflow has no pool {name!r} here (AIRFLOW_HOME or the metadata DB is not the scheduler's?): "
            "erase takes the DAG's writer pool so that it never runs beside dbt_build, publish or retention. "
            "Run it where `airflow pools list` shows the pool, or pass --no-pool when no Airflow runs this "
            "warehouse."
        )
    description = pool.description or ""
    if description.startswith(HELD_BY):
        raise PoolBusy(
            f"the pool {name!r} is closed by another erasure ({description}); wait for it. If that process "
            f'is gone, reopen the pool: airflow pools set {name} 1 "<description>"'
        )
    was = PoolState(int(pool.slots), description, bool(pool.include_deferred))
    since = datetime.now(UTC).isoformat(timespec="seconds")
    _set(name, PoolState(0, f"{HELD_BY}{holder} since {since}; was {was.slots} slot(s): {was.description}",
                         was.include_deferred))  # fmt: skip
    started = monotonic()
    try:
        while (busy := _occupied(name)) > 0:
            waited = monotonic() - started
            if waited >= wait_seconds:
                raise PoolBusy(
                    f"a pipeline writer holds the warehouse: {', '.join(holders(name)) or f'{busy} slot(s)'} "
                    f"in pool {name!r}, still after {waited:.0f} s. Nothing was erased; erase again when the "
                    "run's dbt_build / publish / retention finished (or pass a longer --wait)."
                )
            log(f"erase: waiting for {', '.join(holders(name)) or 'the pool'} to finish ({waited:.0f} s)")
            sleep(poll_seconds)
        yield {"pool": name, "slots": was.slots, "waited_seconds": round(monotonic() - started, 1)}
    finally:
        _set(name, was)
