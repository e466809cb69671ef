"""Profile one dbt invocation in-process, every thread included (dbt runs its nodes in worker threads,
which ``python -m cProfile`` does not see).

    python bench/dbt_profile.py OUT.pstats [--clock wall|thread] -- build --select ... --project-dir ...

Runs ``dbtRunner().invoke(<dbt args>)`` in this process (the caller's environment: set
``INTENT_LAKE_DIR``, ``INTENT_WAREHOUSE`` and the rest as ``pipeline.dbt_env`` does) with one
``cProfile.Profile`` per thread, merges them into ``OUT.pstats`` (read it with ``pstats`` or
``python -m pstats``) and prints one JSON object: success, wall seconds, the process's CPU-seconds.
``--clock thread`` times each thread's own CPU (``time.thread_time``) instead of the wall clock, so
that a loaded machine's waiting does not count; the DuckDB queries' own threads are never seen.
docs/benchmarks.md, "dbt's fixed and per-node cost", reads such a profile.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import sys
import threading
import time


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """This script's arguments, and dbt's (after ``--``)."""
    if "--" not in argv:
        sys.exit("usage: python bench/dbt_profile.py OUT.pstats [--clock wall|thread] -- <dbt arguments>")
    at = argv.index("--")
    return argv[:at], argv[at + 1 :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--clock", choices=("wall", "thread"), default="wall")
    own, dbt_args = _split(sys.argv[1:])
    args = parser.parse_args(own)
    timer = time.thread_time if args.clock == "thread" else time.perf_counter

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        profile = cProfile.Profile(timer)
        with lock:
            profiles.append(profile)
        profile.enable()
        try:
            original_run(self)
        finally:
            profile.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    main_profile = cProfile.Profile(timer)
    profiles.append(main_profile)
    started = time.perf_counter()
    main_profile.enable()
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(dbt_args)
    main_profile.disable()
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats = pstats.Stats(profiles[0])
    for profile in profiles[1:]:
        stats.add(profile)
    stats.dump_stats(args.out)
    failure = repr(result.exception) if result.exception else None
    print(json.dumps({"success": result.success, "exception": failure, "wall_s": round(wall, 1),
                      "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "threads": len(profiles)}))  # fmt: skip


if __name__ == "__main__":
    main()
