"""Benchmark: dbt's fixed and per-node CPU cost, the DAG's build as it is against a candidate setting.

    python bench/dbt_overhead.py [--people N] [--seed S] [--candidate NAME=VALUE ...]

Generates a workload of ``N`` people for one day and extracts it into a raw lake (the code the
DAG runs: ``dbt_modes.scratch_workload``), parses the project once, then per mode, each in a
warehouse folder of its own that starts from that parse, in the same run: ``baseline`` (the
environment as given) and ``candidate`` (the same with the ``--candidate`` variables set; dbt reads
its global flags from ``DBT_*`` variables, which ``pipeline.dbt_process_env`` passes on):

* ``noop_cpu_s``: a ``dbt run`` that selects nothing: dbt's start, profile, the kept parse's load,
  the adapter's connection; what every dbt call costs before its first node;
* ``forked_noop_cpu_s`` (baseline only): the same call by ``dbtRunner`` in a child forked from this
  process after it imported dbt once: what the call would cost from a fork server of dbt calls;
* ``build_cpu_s``: the DAG's build into the empty warehouse (``pipeline.duckdb_build``), and the
  sum of its nodes' ``execution_time`` per kind (model materialisation, seed, data test) from
  ``run_results.json``, which on a loaded machine counts waiting too: only the CPU-seconds are
  compared.

CPU-seconds are user + system of dbt's processes (``RUSAGE_CHILDREN``). Then every table and view of
the two warehouses is compared (row count and an order-free hash of the rows): ``tables_equal`` is
false, and the exit code 1, when any differs. The last line is one JSON object with the figures and
the ratios candidate / baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dbt_modes import scratch_workload  # noqa: E402  (a sibling benchmark: the same workload setup)
from intent_pipeline import pipeline  # noqa: E402

DAY = date(2026, 11, 21)
# what the candidate sets unless --candidate says otherwise (docs/benchmarks.md, "dbt's fixed and
# per-node cost")
DEFAULT_CANDIDATE = ("DBT_LOG_LEVEL_FILE=info",)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def node_seconds(run_results: Path) -> dict[str, float]:
    """The sum of ``execution_time`` per kind of node (``model:<materialized>``, ``seed``, ``test``, ...)."""
    results = json.loads(run_results.read_text())["results"]
    manifest = json.loads((run_results.parent / "manifest.json").read_text())
    seconds: dict[str, float] = defaultdict(float)
    for result in results:
        kind = result["unique_id"].split(".")[0]
        node = manifest["nodes"].get(result["unique_id"]) or {}
        if kind == "model":
            kind = f"model:{node['config']['materialized']}"
        seconds[kind] += result["execution_time"]
    return {kind: round(value, 2) for kind, value in sorted(seconds.items())}


def table_digests(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Every table and view of ``warehouse`` (schema.name) with its row count and the sum of its rows' hashes."""
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as connection:
        names = connection.execute(
            "select table_schema, table_name from information_schema.tables where table_schema <> 'build_state'"
            " order by 1, 2").fetchall()  # fmt: skip
        return {
            f"{schema}.{name}": connection.execute(
                f'select count(*), coalesce(sum(hash(t)), 0) from "{schema}"."{name}" as t'
            ).fetchone()  # fmt: skip
            for schema, name in names
        }


def differing_columns(table: str, one: Path, other: Path) -> list[str]:
    """The columns of ``table`` whose order-free hash differs between the warehouses ``one`` and ``other``."""
    import duckdb

    sums = []
    for warehouse in (one, other):
        with duckdb.connect(str(warehouse), read_only=True) as connection:
            columns = [row[0] for row in connection.execute(f"describe {table}").fetchall()]
            select = ", ".join(f'coalesce(sum(hash("{column}")), 0)' for column in columns)
            sums.append(dict(zip(columns, connection.execute(f"select {select} from {table}").fetchone(), strict=True)))
    return sorted(column for column in sums[0].keys() | sums[1].keys() if sums[0].get(column) != sums[1].get(column))


def forked_noop_cpu(settings, interval, target: Path) -> float:
    """The CPU-seconds of the same do-nothing call as ``noop_cpu_s``, run by ``dbtRunner`` in a child
    forked from this process after it imported dbt once (what a fork server of dbt calls would pay):
    the child gets dbt's environment and folder (``pipeline.dbt_env``, ``pipeline.dbt_command``) and exits."""
    import dbt.adapters.duckdb  # noqa: F401  (imported before the fork, as a fork server would)
    from dbt.cli.main import dbtRunner

    env = {**pipeline.dbt_env(settings, *interval), "INTENT_WAREHOUSE": settings.warehouse.name}
    args = pipeline.dbt_command(settings, "run", "--select", "tag:no_such_tag", target=target)[1:]
    before = _children_cpu()
    child = os.fork()
    if child == 0:  # the child: dbt's environment and folder, one call, exit
        os.environ.clear()
        os.environ.update(env)
        os.chdir(settings.warehouse.absolute().parent)
        quiet = os.open(os.devnull, os.O_WRONLY)
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        os._exit(0 if dbtRunner().invoke(args).success else 1)
    _, status = os.waitpid(child, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("the forked dbt call failed")
    return _children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--candidate", nargs="*", default=list(DEFAULT_CANDIDATE),
                        help="NAME=VALUE environment variables of the candidate mode")  # fmt: skip
    args = parser.parse_args()
    candidate = dict(pair.split("=", 1) for pair in args.candidate)

    base, settings = scratch_workload("intent-dbt-overhead-", args.people, args.seed, [DAY])
    interval = pipeline.interval_dates(DAY)
    result: dict = {"benchmark": "dbt_overhead", "people": args.people, "candidate_env": candidate}
    digests = {}
    try:
        parsed = pipeline.run_dbt(settings, "parse", interval=None)
        if parsed.returncode != 0:
            sys.exit(f"dbt parse failed:\n{parsed.stdout[-3000:]}")
        kept = settings.state_dir / "dbt" / "target" / pipeline.PARTIAL_PARSE_FILE
        for mode, variables in (("baseline", {}), ("repeat", {}), ("candidate", candidate)):
            home = base / mode
            own = settings.model_copy(update={"warehouse": home / "warehouse.duckdb", "state_dir": home / "state"})
            target = own.state_dir / "dbt" / "target"
            target.mkdir(parents=True)
            shutil.copyfile(kept, target / pipeline.PARTIAL_PARSE_FILE)
            saved = {name: os.environ.get(name) for name in variables}
            os.environ.update(variables)
            try:
                before = _children_cpu()
                done = pipeline.run_dbt(own, "run", "--select", "tag:no_such_tag", interval=interval, target=target)
                noop = _children_cpu() - before
                before = _children_cpu()
                built = pipeline.duckdb_build(own, interval)
                build = _children_cpu() - before
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
            for step, run in (("noop", done), ("build", built)):
                if run.returncode != 0:
                    sys.exit(f"{mode}: {step} failed:\n{run.stdout[-3000:]}")
            result[mode] = {"noop_cpu_s": round(noop, 2), "build_cpu_s": round(build, 2),
                            "node_seconds": node_seconds(target / "run_results.json")}  # fmt: skip
            digests[mode] = table_digests(own.warehouse)
            if mode == "baseline":
                result["forked_noop_cpu_s"] = round(forked_noop_cpu(own, interval, target), 2)
        differ, unstable = (
            sorted(name for name in digests["baseline"].keys() | digests[mode].keys()
                   if digests["baseline"].get(name) != digests[mode].get(name))
            for mode in ("candidate", "repeat")
        )  # fmt: skip
        for key, names in (("columns_differing", differ), ("columns_unstable", unstable)):
            other = "candidate" if key == "columns_differing" else "repeat"
            result[key] = {name: differing_columns(name, base / "baseline" / "warehouse.duckdb",
                                                   base / other / "warehouse.duckdb") for name in names}  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)
    result["tables_compared"] = len(digests["baseline"])
    result["tables_equal"] = not differ
    result["tables_differing"] = differ
    # what differs between two builds of the same settings is not the candidate's doing
    result["tables_unstable"] = unstable
    for key in ("noop_cpu_s", "build_cpu_s"):
        result[f"{key.removesuffix('_cpu_s')}_ratio"] = round(result["candidate"][key] / result["baseline"][key], 3)
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(result))
    sys.exit(0 if not set(differ) - set(unstable) else 1)


if __name__ == "__main__":
    main()
