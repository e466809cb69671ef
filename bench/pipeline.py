"""Benchmark: the whole customer_intent DAG through Airflow on a generated workload.

    python bench/pipeline.py [--people N] [--seed S] [--keep DIR] [--postgres] [--spark] [--no-incremental]

Generates a workload of N people (default 2000: about a minute on 2 cores), runs the DAG
once with `airflow dags test` (SQLite metadata, DuckDB warehouse, outbox activation), and
reads each task's wall time from Airflow's metadata DB. As a baseline in the same run it
measures `scan_floor_seconds`: the time DuckDB needs just to read the same landing files
once (CSV and JSON natively; the GBK CSV read as latin-1 bytes and the XLSX with openpyxl,
since DuckDB's encodings and excel extensions cannot be downloaded offline). The last line
of output is one JSON object with the figures, including the ratio of each to the floor.

--postgres (off by default: it adds a server start and two more builds) starts a PostgreSQL
server from the OS package, loads the DAG's raw lake into it (`postgres_load_seconds`), builds
the whole project there without the unit tests (`postgres_build_seconds`, the two phases and the
attribution step between them), builds the same lake on DuckDB the same way
(`duckdb_build_seconds`, the comparison's reference: the DAG's own warehouse predates the
activation history the DAG writes after dbt) and compares every mart row for row
(`postgres_marts_equal`, `postgres_marts_differing`). docs/portability.md.

--spark (off by default: a JVM and a second whole build, several minutes on 2 cores) builds the same
lake on Spark in one local session (`python -m intent_pipeline.spark_build --precomputed`: every seed
and model, the Python attribution model beside dbt as on Postgres; `spark_build_seconds`, the JVM's
CPU seconds and peak memory) and compares every mart with the same DuckDB build, with the same function
as Postgres's (`spark_marts_equal`, `spark_marts_differing`; the intermediate models and seeds in
`spark_other_relations_differing`).

Incremental days (docs/incremental.md; on by default, --no-incremental leaves them out): a second
workload of the same people and seed, written as daily drops (history in the first; lookback_days +
2 drops, so that the history drop is outside the last day's lookback window), extracted into its own
lake. The DAG's dbt build (`pipeline.duckdb_build`: no unit tests, the seeds that did not change and
their data tests left out, dbt's trimmed environment) builds the day before the last on an empty
warehouse, then times two builds of the last day on copies of that warehouse, each starting from
that build's target folder as the DAG's lasting one does (its parse kept: partial parsing): the
daily, incremental one (`incremental_day_seconds`) and the DAG's `full_refresh` run
(`full_build_seconds`, `--full-refresh`: every seed and model rebuilt from every partition).
`incremental_day_ratio` is the first over the second (the wall time of the dbt process, parse
included; `incremental_day_cpu_ratio` the same with its CPU seconds, steadier on a shared machine);
`incremental_day_top_nodes` are the slowest nodes of the incremental build and
`incremental_day_node_seconds` its time per kind of node (dbt's run_results), which say what
dominates; `full_build_top_nodes` / `full_build_node_seconds` the same of the full refresh;
`*_parse_kept` whether dbt kept the history build's parse. `incremental_day_area_seconds` /
`full_build_area_seconds`: the same node times by the models' folder (`intermediate/identity`,
`seeds`, ...) as [models, their data tests]; `--areas-of DIR` prints them again for the two builds
kept in a `--keep` folder.

The floor (`incremental_empty_day_*`): the same daily build of the day after the last, on a copy of the
day's warehouse and target folder, when nothing landed (its extract writes empty partitions; the
lookback's partitions are still read): what a day costs whatever it brings, against the same full
refresh (`incremental_empty_day_ratio`, `incremental_empty_day_cpu_ratio`). `incremental_empty_day_split`
and `incremental_day_split` say where each build's wall time goes: outside dbt's nodes (start, the
seeds' check, the saved parse and manifest, the artifacts), the models' and the data tests' summed
node seconds, their counts and median node seconds. A day ratio below the empty day's is out of reach
without cutting the floor itself. Since dayskip the daily build leaves out the models and data tests
whose inputs did not change and that do not read the run's date (``day_skip``, docs/incremental.md):
on the empty day no source got a row, so it builds only what reads the date, the lake outside the
sources, and what is downstream of those.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = "2026-11-21"
LOGICAL_DATE = "2026-11-22"
SKIP_BAD = "ignore_errors=true"


def _env(base: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INTENT_", "AIRFLOW_CONN_"))}
    env.update(
        AIRFLOW_HOME=str(base / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONPATH=str(ROOT / "plugins"),
        PATH=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
        INTENT_HOME=str(base / "home"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def _run(args: list[str], env: dict, log: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args[:4])} failed, see {log}:\n{(done.stdout + done.stderr)[-3000:]}")
    return time.perf_counter() - started


PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20
TICKS = os.sysconf("SC_CLK_TCK")


def tree_sample(root: int) -> tuple[float, float, float, float] | None:
    """One look at the process tree under ``root`` (itself included), from /proc (Linux): (UTC epoch
    seconds, the tree's summed resident MB, its largest process's resident MB, its CPU-seconds so far);
    None once ``root`` has ended (a zombie's /proc entry reads as no CPU).
    The CPU is every live process's user + system time plus what its children that it waited for used
    (``/proc/PID/stat`` fields 14-17), so a dbt process that ended counts in its parent's figure."""
    procs: dict[int, tuple[int, float, float]] = {}  # pid -> (ppid, resident MB, CPU-seconds)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] != "Z":  # an ended process not yet waited for reads as no CPU and no memory
                cpu = sum(int(fields[i]) for i in (11, 12, 13, 14)) / TICKS
                procs[int(entry)] = (int(fields[1]), int(fields[21]) * PAGE_MB, cpu)
    if root not in procs:
        return None
    tree, grew = {root}, True
    while grew:
        new = {pid for pid, (ppid, _, _) in procs.items() if ppid in tree} - tree
        tree, grew = tree | new, bool(new)
    rss = [procs[pid][1] for pid in tree]
    return time.time(), sum(rss), max(rss, default=0.0), sum(procs[pid][2] for pid in tree)


class TreeSampler(threading.Thread):
    """Samples ``tree_sample(root)`` every ``every`` seconds until ``done`` is set or the root ends."""

    def __init__(self, root: int, every: float = 1.0) -> None:
        super().__init__(daemon=True)
        self.root, self.every = root, every
        self.samples: list[tuple[float, float, float, float]] = []
        self.done = threading.Event()

    def run(self) -> None:
        while (sample := tree_sample(self.root)) is not None:
            self.samples.append(sample)
            if self.done.wait(self.every):
                return


def task_resources(samples: list[tuple[float, float, float, float]], spans: dict[str, tuple[str, str]]) -> dict:
    """Per task (``spans``: task id -> Airflow's UTC start and end dates): the peak resident MB of the
    ``airflow dags test`` process tree (all tasks run inside it, dbt and its other programs as its
    children) and of its largest process among the samples taken while the task ran (None when none
    was: a task shorter than the sampling interval), and the tree's CPU-seconds from the last sample
    before its start to the last before its end."""

    def epoch(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()

    def cpu_at(moment: float) -> float:
        return max((s for s in samples if s[0] <= moment), default=(0.0, 0.0, 0.0, 0.0))[3]

    out = {}
    for task, (start, end) in spans.items():
        begun, ended = epoch(start), epoch(end)
        during = [s for s in samples if begun <= s[0] <= ended]
        out[task] = {
            "peak_tree_rss_mb": round(max(s[1] for s in during)) if during else None,
            "peak_process_rss_mb": round(max(s[2] for s in during)) if during else None,
            "cpu_seconds": round(cpu_at(ended) - cpu_at(begun), 1),
        }
    return out


def _cpu_since(before: resource.struct_rusage) -> float:
    """CPU-seconds (user + system) of the children that ended since ``before``."""
    now = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (now.ru_utime - before.ru_utime) + (now.ru_stime - before.ru_stime)


def _run_sampled(args: list[str], env: dict, log: Path, every: float = 1.0) -> tuple[float, list]:
    """``_run`` with its process tree sampled every ``every`` seconds (TreeSampler): wall seconds and the samples."""
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        sampler = TreeSampler(process.pid, every)
        sampler.start()
        code = process.wait()
        sampler.done.set()
        sampler.join()
    if code != 0:
        sys.exit(f"{' '.join(args[:4])} failed, see {log}:\n{log.read_text()[-3000:]}")
    return time.perf_counter() - started, sampler.samples


def scan_floor(landing: Path) -> float:
    """Seconds for DuckDB to read every landing file of the interval once (skipping the bad lines
    the workload plants, which DuckDB's readers would otherwise stop on)."""
    import duckdb
    import openpyxl

    started = time.perf_counter()
    con = duckdb.connect()
    for path in sorted(landing.rglob(f"dt={INTERVAL}/*")):
        p = str(path).replace("'", "''")
        if path.suffix == ".jsonl":
            con.execute(f"select count(*) from read_json('{p}', format='newline_delimited', {SKIP_BAD})").fetchall()
        elif path.suffix == ".json":
            con.execute(f"select count(*) from read_json('{p}', format='array', {SKIP_BAD})").fetchall()
        elif path.suffix == ".csv":
            try:
                con.execute(f"select count(*) from read_csv('{p}', all_varchar=true, {SKIP_BAD})").fetchall()
            except duckdb.Error:  # GBK: same bytes, read without the encodings extension
                latin1 = f"read_csv('{p}', all_varchar=true, {SKIP_BAD}, encoding='latin-1')"
                con.execute(f"select count(*) from {latin1}").fetchall()
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
            book.close()
    con.close()
    return time.perf_counter() - started


def _dag_build(
    base: Path, name: str, home: Path, lake: Path, day: str, *, full_refresh: bool = False, after: Path | None = None
) -> tuple[float, dict]:
    """The DAG's ``dbt build`` (``pipeline.duckdb_build``: no unit tests, the unchanged seeds and the data
    tests that read only them left out, dbt's trimmed environment) of ``home/name/warehouse.duckdb`` for
    the interval starting ``day``, in the target folder ``base/dbt-<name>-<day>/target``: its wall time
    and dbt's run_results. ``after``: the target folder of the build before it, copied first, as the
    DAG's lasting target holds its previous run's parse and manifest (the warehouse file has the same
    name in every folder, so dbt keeps that parse: pipeline.run_dbt)."""
    from datetime import date, datetime, timedelta

    from intent_pipeline import dbt_fork, pipeline
    from intent_pipeline.settings import Settings

    start = datetime.combine(date.fromisoformat(day), datetime.min.time())
    settings = Settings.from_env({"INTENT_HOME": str(home), "INTENT_LAKE_DIR": str(lake),
                                  "INTENT_WAREHOUSE": str(home / name / "warehouse.duckdb"),
                                  "INTENT_STATE_DIR": str(home / name / "state")})  # fmt: skip
    target = base / f"dbt-{name}-{day}" / "target"
    if after is not None:
        shutil.copytree(after, target)
    before = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    forked_before = dbt_fork.forked_cpu_s()
    started = time.perf_counter()
    completed = pipeline.duckdb_build(settings, (start, start + timedelta(days=1)), full_refresh=full_refresh,
                                      target=target)  # fmt: skip
    seconds = time.perf_counter() - started
    after_usage = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    forked = dbt_fork.forked_cpu_s() - forked_before
    (target.parent / "build.log").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise SystemExit(f"dbt build of {name} failed, see {target.parent / 'build.log'}:\n{completed.stdout[-3000:]}")
    results = json.loads((target / "run_results.json").read_text())
    # CPU seconds of the dbt process and of this one's part of the build (the seeds' fingerprints and
    # record), user + system: on a shared machine the wall time measures the other processes as much
    # (a forked build's dbt CPU is the fork server's child's, not this process's: forked_cpu_s)
    results["cpu_seconds"] = forked + sum((a.ru_utime - b.ru_utime) + (a.ru_stime - b.ru_stime)
                                          for a, b in zip(after_usage, before, strict=True))  # fmt: skip
    # whether dbt kept the saved parse (its debug log says so): the DAG's daily build does
    results["parse_kept"] = "Partial parsing enabled" in (target.parent / "logs" / "dbt.log").read_text()
    return seconds, results


def seconds_by_area(target: Path) -> dict[str, list[float]]:
    """dbt's node times of one build (``target``: its target folder) summed by area, the model's folder
    (``intermediate/identity``, ``marts/scoring``; ``seeds``), as [models' seconds, data tests'
    seconds]; a data test counts for the first node it tests. Largest first."""
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())["results"]
    area = {uid: "/".join(node["fqn"][1:3]) if node["resource_type"] == "model" else "seeds"
            for uid, node in manifest["nodes"].items() if node["resource_type"] in ("model", "seed")}  # fmt: skip
    seconds: dict[str, list[float]] = {}
    for result in results:
        uid = result["unique_id"]
        if uid.startswith("test."):
            tested = [dep for dep in manifest["nodes"][uid]["depends_on"]["nodes"] if dep in area]
            where, column = (area[tested[0]] if tested else "other"), 1
        else:
            where, column = area.get(uid, uid.split(".")[0]), 0
        seconds.setdefault(where, [0.0, 0.0])[column] += result["execution_time"]
    return {where: [round(v, 2) for v in pair] for where, pair in sorted(seconds.items(), key=lambda kv: -sum(kv[1]))}


def node_seconds_by_kind(results: dict) -> dict[str, list[float]]:
    """One build's node execution seconds (``results``: its run_results) by kind, the unique id's
    first part (``model``, ``test``, ``seed``, ``unit_test``), in the order dbt ran them."""
    seconds: dict[str, list[float]] = {}
    for result in results["results"]:
        seconds.setdefault(result["unique_id"].split(".")[0], []).append(result["execution_time"])
    return seconds


def floor_split(seconds: float, results: dict) -> dict[str, float]:
    """Where one build's wall ``seconds`` go (``results``: its run_results with ``cpu_seconds``):
    ``outside_nodes`` is the wall time outside dbt's node execution (process start, the seeds'
    fingerprints, loading the saved parse and manifest, writing the artifacts: the wall minus dbt's
    ``elapsed_time``), then the summed node seconds of models and of data tests (two threads: their
    sum can exceed the elapsed time), the number of each and each kind's median node seconds (what a
    node costs whatever it does), and the process's CPU seconds."""
    from statistics import median

    split: dict[str, float] = {"wall": round(seconds, 2), "outside_nodes": round(seconds - results["elapsed_time"], 2)}
    by_kind = node_seconds_by_kind(results)
    for kind in ("model", "test", "seed"):
        times = by_kind.get(kind)
        if times:
            split[f"{kind}s"] = round(sum(times), 2)
            split[f"{kind}_count"] = len(times)
            split[f"{kind}_median"] = round(median(times), 3)
    split["cpu_seconds"] = round(results["cpu_seconds"], 2)
    return split


def incremental_figures(base: Path, env: dict, people: int, seed: int, *, dbt_forked: bool = False) -> dict:
    """Time the last day's incremental build against a full refresh of the same warehouse.
    ``dbt_forked`` (a test run of the bench, never its command line: the figures are a dbt process's
    cost): the builds fork from the test session's dbt fork server (intent_pipeline.dbt_fork), and the
    figures say so (``dbt_forked``)."""
    from datetime import date, datetime, timedelta

    import yaml

    sys.path.insert(0, str(ROOT / "plugins"))
    from intent_pipeline import dbt_fork
    from intent_pipeline.settings import Settings
    from intent_pipeline.sources import SOURCES, extract_source

    # the builds run dbt from this process's environment, as the DAG's task does: none of the caller's
    # INTENT_* settings (a warehouse, unit tests on) reaches them; the fork server's socket only when asked
    prefixes = ("INTENT_", "AIRFLOW_CONN_")
    kept = dbt_fork.without_settings(os.environ, prefixes) if dbt_forked else {}
    for name in [name for name in os.environ if name.startswith(prefixes) and name not in kept]:
        del os.environ[name]

    project = yaml.safe_load((ROOT / "dbt_project" / "dbt_project.yml").read_text())
    lookback = int(project["vars"]["lookback_days"])
    drops = lookback + 2
    last = date.fromisoformat(INTERVAL)
    home = base / "incremental"
    landing, lake = home / "landing", home / "lake"
    _run([sys.executable, "-m", "intent_pipeline", "synth", "--people", str(people), "--seed", str(seed),
          "--date", INTERVAL, "--daily-drops", str(drops), "--landing", str(landing),
          "--truth", str(home / "ground_truth")], env, base / "synth-incremental.log")  # fmt: skip
    settings = Settings.from_env({"INTENT_HOME": str(home), "INTENT_LANDING_URL": str(landing),
                                  "INTENT_LAKE_DIR": str(lake)})  # fmt: skip
    days = [last - timedelta(days=n) for n in range(drops - 1, -1, -1)]
    rows_per_day = {}
    for day in days:
        read = 0
        loaded_at = datetime.combine(day + timedelta(days=1), datetime.min.time())
        for source in SOURCES:
            manifest = extract_source(source, settings, day, batch_id=f"bench/{source}/{day}", loaded_at=loaded_at)
            read += sum(counts["read"] for counts in manifest["tables"].values())
        rows_per_day[day.isoformat()] = read
    # the days before the last: one first build on an empty warehouse, without the last drop
    last_drop = [path for path in (lake / "raw").glob(f"*/dt={last}") if path.is_dir()]
    aside = home / "aside"
    for path in last_drop:
        (aside / path.parent.name).mkdir(parents=True, exist_ok=True)
        path.rename(aside / path.parent.name / path.name)
    first_seconds, _ = _dag_build(base, "history", home, lake, days[-2].isoformat())
    for path in last_drop:
        (aside / path.parent.name / path.name).rename(path)
    # the last day as the DAG builds it on the day before's warehouse and target folder (seeds
    # unchanged, parse kept), and as its param full_refresh rebuilds it from the same two
    kept = base / f"dbt-history-{days[-2].isoformat()}" / "target"
    for name in ("daily", "full"):
        (home / name).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(home / "history" / "warehouse.duckdb", home / name / "warehouse.duckdb")
    day_seconds, day_results = _dag_build(base, "daily", home, lake, INTERVAL, after=kept)
    full_seconds, full_results = _dag_build(base, "full", home, lake, INTERVAL, full_refresh=True, after=kept)
    # the day after the last, when nothing landed (its extract writes empty partitions): the floor of a
    # day's build, what it costs whatever the day brings, on the daily warehouse and target folder
    empty_day = last + timedelta(days=1)
    loaded_at = datetime.combine(empty_day + timedelta(days=1), datetime.min.time())
    for source in SOURCES:
        extract_source(source, settings, empty_day, batch_id=f"bench/{source}/{empty_day}", loaded_at=loaded_at)
    (home / "empty").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(home / "daily" / "warehouse.duckdb", home / "empty" / "warehouse.duckdb")
    empty_seconds, empty_results = _dag_build(base, "empty", home, lake, empty_day.isoformat(),
                                              after=base / f"dbt-daily-{INTERVAL}" / "target")  # fmt: skip

    def per_kind(results: dict) -> dict[str, float]:
        return {kind: round(sum(times), 2) for kind, times in node_seconds_by_kind(results).items()}

    def slowest(results: dict) -> dict[str, float]:
        top = sorted(results["results"], key=lambda r: -r["execution_time"])[:8]
        return {r["unique_id"].split(".", 2)[2]: round(r["execution_time"], 2) for r in top}

    return {
        "dbt_forked": bool(dbt_fork.socket_path()),
        "incremental_lookback_days": lookback,
        "incremental_rows_read_per_day": rows_per_day,
        "incremental_first_build_seconds": round(first_seconds, 2),
        "incremental_day_seconds": round(day_seconds, 2),
        "full_build_seconds": round(full_seconds, 2),
        "incremental_day_ratio": round(day_seconds / full_seconds, 3),
        "incremental_day_cpu_seconds": round(day_results["cpu_seconds"], 2),
        "full_build_cpu_seconds": round(full_results["cpu_seconds"], 2),
        "incremental_day_cpu_ratio": round(day_results["cpu_seconds"] / full_results["cpu_seconds"], 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "incremental_day_dbt_elapsed": round(day_results["elapsed_time"], 2),
        "full_build_dbt_elapsed": round(full_results["elapsed_time"], 2),
        "incremental_day_node_seconds": per_kind(day_results),
        "incremental_day_nodes": len(day_results["results"]),
        "incremental_day_top_nodes": slowest(day_results),
        "incremental_day_parse_kept": day_results["parse_kept"],
        "full_build_parse_kept": full_results["parse_kept"],
        "incremental_day_area_seconds": seconds_by_area(base / f"dbt-daily-{INTERVAL}" / "target"),
        # the same of the full refresh: which models the day's build made cheaper, and which not
        "full_build_node_seconds": per_kind(full_results),
        "full_build_top_nodes": slowest(full_results),
        "full_build_area_seconds": seconds_by_area(base / f"dbt-full-{INTERVAL}" / "target"),
        # the floor: a day that brought nothing, against the same full refresh
        "incremental_empty_day_seconds": round(empty_seconds, 2),
        "incremental_empty_day_cpu_seconds": round(empty_results["cpu_seconds"], 2),
        "incremental_empty_day_ratio": round(empty_seconds / full_seconds, 3),
        "incremental_empty_day_cpu_ratio": round(empty_results["cpu_seconds"] / full_results["cpu_seconds"], 3),
        "incremental_empty_day_split": floor_split(empty_seconds, empty_results),
        "incremental_day_split": floor_split(day_seconds, day_results),
        "incremental_empty_day_top_nodes": slowest(empty_results),
        "incremental_empty_day_parse_kept": empty_results["parse_kept"],
    }


INTERVAL_ENV = {"INTENT_INTERVAL_START": f"{INTERVAL} 00:00:00", "INTENT_INTERVAL_END": f"{LOGICAL_DATE} 00:00:00"}
NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")


def _dbt_command(base: Path, name: str) -> list[str]:
    dbt = Path(sys.executable).with_name("dbt")
    return [str(dbt), "--project-dir", str(ROOT / "dbt_project"), "--profiles-dir", str(ROOT / "dbt_project"),
            "--target-path", str(base / name / "target"), "--log-path", str(base / name / "logs")]  # fmt: skip


def duckdb_reference(base: Path, env: dict, lake: Path) -> tuple[Path, float]:
    """The DuckDB build of ``lake`` the other engines' marts are compared with (``base/compare.duckdb``,
    made once for --postgres and --spark: the DAG's own warehouse predates the activation history the
    DAG writes after dbt), and the seconds it took (0 when already made)."""
    warehouse = base / "compare.duckdb"
    if warehouse.exists():
        return warehouse, 0.0
    command = _dbt_command(base, "duck")
    duck_env = {**env, **INTERVAL_ENV, "INTENT_LAKE_DIR": str(lake), "INTENT_WAREHOUSE": str(warehouse)}
    seconds = _run([*command[:1], "build", *command[1:], *NO_UNIT_TESTS], duck_env, base / "duck-build.log")
    return warehouse, seconds


def postgres_figures(base: Path, env: dict, lake: Path) -> dict:
    """Load the lake into a fresh PostgreSQL server, build there and on DuckDB, compare the marts."""
    sys.path.insert(0, str(ROOT / "plugins"))
    from intent_pipeline.postgres_load import (
        build_postgres,
        compare_marts,
        load_lake,
        local_server,
        mart_relations,
        profile_env,
    )

    reference, duck_seconds = duckdb_reference(base, env, lake)
    duck_env = {**env, **INTERVAL_ENV, "INTENT_LAKE_DIR": str(lake), "INTENT_WAREHOUSE": str(reference)}
    with local_server() as connection:
        started = time.perf_counter()
        loaded = load_lake(lake, connection)
        load_seconds = time.perf_counter() - started
        pg_env = {**duck_env, **profile_env(connection)}
        started = time.perf_counter()
        phases = build_postgres(_dbt_command(base, "pg"), pg_env, base / "pg" / "target", *NO_UNIT_TESTS,
                                connection=connection)  # fmt: skip
        build_seconds = time.perf_counter() - started
        differing = compare_marts(reference, mart_relations(base / "pg" / "target" / "manifest.json"),
                                  connection)  # fmt: skip
    return {
        "postgres_rows_loaded": sum(loaded.values()),
        "postgres_load_seconds": round(load_seconds, 2),
        "postgres_build_seconds": round(build_seconds, 2),
        "postgres_attribution_seconds": round(phases["attribution_seconds"], 2),
        "duckdb_build_seconds": round(duck_seconds, 2),
        "postgres_marts_equal": not differing,
        "postgres_marts_differing": {mart: text[:300] for mart, text in differing.items()},
    }


def spark_figures(base: Path, env: dict, lake: Path) -> dict:
    """Build the lake on Spark (``intent_pipeline.spark_build --precomputed``: one local session, every
    seed and model, the attribution model beside dbt) and compare every mart with the DuckDB build of
    the same lake (``engine_compare.compare_with_duckdb``, Postgres's comparison)."""
    sys.path.insert(0, str(ROOT / "plugins"))
    from intent_pipeline.postgres_load import mart_relations

    reference, duck_seconds = duckdb_reference(base, env, lake)
    work = base / "spark"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "result.json"
    spark_env = {**env, **INTERVAL_ENV, "INTENT_WAREHOUSE": str(work / "unused.duckdb"), "INTENT_SCORING_MODEL": ""}
    command = [sys.executable, "-m", "intent_pipeline.spark_build", "--lake", str(lake), "--duckdb", str(reference),
               "--work", str(work), "--out", str(out), "--precomputed", "--",
               "build", "--resource-type", "seed", "--resource-type", "model"]  # fmt: skip
    # not _run: a model that fails on Spark is a figure to report (spark_marts_differing), not the end
    done = subprocess.run(command, env=spark_env, capture_output=True, text=True, cwd=ROOT)
    (base / "spark-build.log").write_text(done.stdout + done.stderr)
    if not out.exists():
        sys.exit(f"spark_build wrote no result, see {base / 'spark-build.log'}:\n{(done.stdout + done.stderr)[-3000:]}")
    result = json.loads(out.read_text())
    marts = mart_relations(work / "target" / "manifest.json")
    built = {node["relation"] for node in result["nodes"].values() if node["status"] == "success"}
    differing = {mart: text[:300] for mart, text in result["differences"].items() if mart in marts}
    differing.update({mart: "not built on spark" for mart in marts if mart not in built})
    return {
        "spark_build_seconds": result["seconds"],
        "spark_attribution_seconds": result.get("attribution_seconds"),
        "spark_compare_seconds": result.get("compare_seconds"),
        "spark_jvm_cpu_seconds": result.get("jvm_cpu_seconds"),
        "spark_jvm_peak_rss_mb": result.get("jvm_peak_rss_mb"),
        "spark_python_peak_rss_mb": result.get("python_peak_rss_mb"),
        **({"duckdb_build_seconds": round(duck_seconds, 2)} if duck_seconds else {}),
        "spark_build_success": result["success"],
        "spark_build_error": result["error"],
        "spark_marts_compared": len(marts),
        "spark_marts_equal": not differing,
        "spark_marts_differing": differing,
        # the intermediate models and seeds are compared too (the same function): what differs there
        "spark_other_relations_differing": {
            rel: text[:300] for rel, text in result["differences"].items() if rel not in marts
        },  # fmt: skip
        "spark_load_average": [round(x, 2) for x in os.getloadavg()],
    }


def dag_figures(args: argparse.Namespace, base: Path, env: dict) -> dict:
    """Generate the workload, run the DAG once, measure the scan floor of its landing files."""
    data = base / "home" / "data"
    data.mkdir(parents=True, exist_ok=True)
    py = sys.executable

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    generate = _run([py, "-m", "intent_pipeline", "synth", "--people", str(args.people), "--seed", str(args.seed),
                     "--date", INTERVAL, "--landing", str(data / "landing"), "--truth", str(data / "ground_truth")],
                    env, base / "synth.log")  # fmt: skip
    generate_cpu, usage = _cpu_since(usage), resource.getrusage(resource.RUSAGE_CHILDREN)
    _run(["airflow", "db", "migrate"], env, base / "migrate.log")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total, samples = _run_sampled(["airflow", "dags", "test", "customer_intent", LOGICAL_DATE], env, base / "dag.log")
    dag_cpu = _cpu_since(usage)

    db = sqlite3.connect(base / "airflow" / "airflow.db")
    query = "select task_id, duration, start_date, end_date from task_instance where dag_id = 'customer_intent'"
    ran = db.execute(query + " and start_date is not null order by start_date").fetchall()
    db.close()
    stages = {task_id: round(duration, 2) for task_id, duration, _, _ in ran}
    resources = task_resources(samples, {task_id: (start, end) for task_id, _, start, end in ran if end})
    rows = {}
    for manifest in sorted((data / "lake" / "manifests").glob(f"*/dt={INTERVAL}.json")):
        for table, counts in json.loads(manifest.read_text())["tables"].items():
            rows[table] = counts
    floor = scan_floor(data / "landing")
    landing_bytes = sum(p.stat().st_size for p in (data / "landing").rglob("*") if p.is_file())
    extract = sum(v for k, v in stages.items() if k.startswith("extract_"))
    print(f"landing {landing_bytes / 1e6:.1f} MB, {sum(c['read'] for c in rows.values())} rows; "
          f"DAG {total:.1f} s; floor {floor:.2f} s")  # fmt: skip
    result = {
        "landing_mb": round(landing_bytes / 1e6, 1),
        "rows_read": sum(c["read"] for c in rows.values()),
        "rows": rows,
        "generate_seconds": round(generate, 2),
        "generate_cpu_seconds": round(generate_cpu, 1),
        "stage_seconds": stages,
        # per task: the airflow dags test tree's peak resident MB (and its largest process's) and CPU-s,
        # sampled from /proc every second (tree_sample); the DAG's CPU-s and its largest process's peak
        "stage_resources": resources,
        "dag_cpu_seconds": round(dag_cpu, 1),
        "dag_peak_tree_rss_mb": round(max((s[1] for s in samples), default=0)),
        "dag_peak_process_rss_mb": round(max((s[2] for s in samples), default=0)),
        "extract_seconds_sum": round(extract, 2),
        "total_seconds": round(total, 2),
        "scan_floor_seconds": round(floor, 3),
        "ratio_extract_to_floor": round(extract / floor, 1),
        "ratio_total_to_floor": round(total / floor, 1),
    }
    if args.postgres:
        result.update(postgres_figures(base, env, data / "lake"))
    if args.spark:
        result.update(spark_figures(base, env, data / "lake"))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--postgres", action="store_true", help="also build on PostgreSQL and compare the marts")
    parser.add_argument("--spark", action="store_true",
                        help="also build on Spark (a local session) and compare the marts")  # fmt: skip
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--no-incremental", action="store_true",
                      help="leave out incremental_day_ratio (a second workload and three dbt builds)")  # fmt: skip
    what.add_argument("--incremental-only", action="store_true",
                      help="only incremental_day_ratio: no DAG run, no scan floor (larger sizes)")  # fmt: skip
    parser.add_argument("--areas-of", type=Path, metavar="DIR",
                        help="only print the area seconds of the last-day builds kept in DIR (--keep)")  # fmt: skip
    args = parser.parse_args()
    if args.areas_of:
        kept = args.areas_of
        builds = {name: kept / f"dbt-{name}-{INTERVAL}" / "target" for name in ("daily", "full")}
        print(json.dumps({name: seconds_by_area(target) for name, target in builds.items()}))
        return

    # the figures are a dbt process's cost: no call forks from a dbt fork server (intent_pipeline.dbt_fork)
    os.environ.pop("INTENT_DBT_FORK_SOCKET", None)
    # absolute: dbt refuses a relative INTENT_LAKE_DIR (the staging views keep the path)
    base = (args.keep or Path(tempfile.mkdtemp(prefix="intent-bench-"))).absolute()
    base.mkdir(parents=True, exist_ok=True)
    env = _env(base)
    result: dict = {"benchmark": "pipeline", "people": args.people, "seed": args.seed}
    if not args.incremental_only:
        result.update(dag_figures(args, base, env))
    if not args.no_incremental:
        result.update(incremental_figures(base, env, args.people, args.seed))
        print(f"incremental day {result['incremental_day_seconds']:.1f} s, full build "
              f"{result['full_build_seconds']:.1f} s: ratio {result['incremental_day_ratio']}")  # fmt: skip
    result["work_dir"] = str(base) if args.keep else None
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
