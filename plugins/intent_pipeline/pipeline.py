"""Bodies of the ``customer_intent`` DAG's tasks.

The DAG file stays declarative; each task imports this module lazily and
calls one function here. Every function takes the data interval explicitly,
so the same code runs from Airflow, the benchmark and the tests.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from intent_pipeline.intervals import naive_utc
from intent_pipeline.settings import DBT_PROJECT_DIR, Settings

log = logging.getLogger(__name__)

HUBSPOT_CONN_ID = "hubspot_default"
DINGTALK_CONN_ID = "dingtalk_default"
# connection id -> (module, destination class, config class) of the destinations that run only
# when their connection exists
MORE_DESTINATIONS = {
    "wecom_default": ("intent_pipeline.activation.wecom", "WeComDestination", "WeComConfig"),
    "feishu_default": ("intent_pipeline.activation.feishu", "FeishuDestination", "FeishuConfig"),
    "slack_default": ("intent_pipeline.activation.slack", "SlackDestination", "SlackConfig"),
    "salesforce_default": ("intent_pipeline.activation.salesforce", "SalesforceDestination", "SalesforceConfig"),
    "crm_webhook_default": ("intent_pipeline.activation.webhook", "WebhookDestination", "WebhookConfig"),
}


def interval_from_context() -> dict:
    """The running task's data interval and run id, from the Airflow context; a run that breaks the
    DAG's one convention (logical date = interval start, :func:`convention_error`) fails here,
    before any work, without retries."""
    from airflow.sdk import get_current_context

    context = get_current_context()
    error = convention_error(
        context.get("logical_date"), context.get("data_interval_start"), context.get("data_interval_end")
    )
    if error:
        _fail(error)
    return {
        "interval_start": context["data_interval_start"],
        "interval_end": context["data_interval_end"],
        "run_id": context["run_id"],
    }


def convention_error(
    logical_date: datetime | None, interval_start: datetime | None, interval_end: datetime | None
) -> str | None:
    """Why a run is refused, or None. Every run covers one day ``[D, D + 1 day)`` with logical date D.

    The UI's plain "Trigger" sends the logical date "now" (or none, when the field is cleared) and
    no data interval; Airflow then infers the interval that ended last, ``[today - 1, today)`` (the
    last complete day, UTC: the DAG's timetable), under a logical date that is not its start, so the
    day's scheduled or backfill run (logical date D) would not stop it and the day would run twice.
    Refused: a run without a logical date, and one whose logical date is not a day's start. Not
    refused: a logical date D at 00:00 with the interval ``[D - 1, D)`` (``airflow dags test D``,
    the end-to-end tests' runner; docs/operations.md says not to use it for a past day)."""
    if logical_date is None or interval_start is None or interval_end is None:
        return (
            "this run has no logical date (a Trigger with the logical date cleared): customer_intent runs one "
            "day per run with logical date = the day's start. Trigger again with the form's Data interval: "
            "Manual (start D 00:00, end D + 1 day 00:00, logical date D 00:00, UTC), or run the day with "
            "`make run DATE=D` / `python scripts/airflow_run.py --from D`. Nothing was extracted or built."
        )
    logical, start, end = naive_utc(logical_date), naive_utc(interval_start), naive_utc(interval_end)
    if logical == start or logical.time() == datetime.min.time():
        return None
    day = start.date().isoformat()
    return (
        f"this run's logical date {logical.isoformat(sep=' ')} UTC is not the start of its data interval "
        f"[{start.isoformat(sep=' ')}, {end.isoformat(sep=' ')}) UTC (the UI's plain Trigger, which infers the "
        "interval that ended last): customer_intent runs one day per run with logical date = interval start, "
        f"so that a day never runs twice. To run {day}: in the Trigger form choose Data interval: Manual, "
        f"start {day} 00:00, end {(start.date() + timedelta(days=1)).isoformat()} 00:00 and logical date {day} "
        f"00:00 (UTC); or `make run DATE={day}`; or clear the day's existing run. Nothing was extracted or built."
    )


def _fail(message: str) -> None:
    """Fail the task without retries: a retry cannot fix bad data or a bad mapping."""
    from airflow.sdk.exceptions import AirflowFailException

    raise AirflowFailException(message)


def _write_json(path: Path, payload: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    os.replace(tmp, path)
    return path


def extract_task(source: str, interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """Extract one source's drop of the interval into the raw lake; returns the manifest's totals."""
    from intent_pipeline.sources import extract_source

    settings = Settings.from_env()
    manifest = extract_source(
        source,
        settings,
        interval_start.date(),
        batch_id=f"{run_id}/{source}",
        loaded_at=datetime.now(UTC).replace(tzinfo=None),
    )
    for table, counts in manifest["tables"].items():
        log.info(
            "%s: read %s, loaded %s, quarantined %s", table, counts["read"], counts["loaded"], counts["quarantined"]
        )
    if manifest.get("file_errors") and settings.on_bad_file == "fail":
        errors = "\n".join(f"- {error}" for error in manifest["file_errors"])
        _fail(
            f"{source}: {len(manifest['file_errors'])} file(s) rejected; their rows are in quarantine.\n{errors}\n"
            "Fix the export or the header mapping and re-run this interval "
            "(or set INTENT_ON_BAD_FILE=quarantine to go on without them)."
        )
    return {"source": source, "tables": manifest["tables"], "file_errors": manifest.get("file_errors", [])}


def validate_task(layer: str, interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """Run the GX suites of one layer (``raw`` or ``marts``) and enforce the gate."""
    from intent_pipeline.quality import QualityGateError, enforce_gate, validate_marts, validate_raw

    settings = Settings.from_env()
    if layer == "marts" and settings.engine == "postgres":
        from functools import partial

        from intent_pipeline.postgres_load import read_marts
        from intent_pipeline.serving import run_settings

        # GX on the run's snapshot in Postgres (postgres_load.snapshot_postgres), as on DuckDB
        snapshot = run_settings(settings, run_id).pg_snapshot
        report = validate_marts(settings, interval_start.date(), reader=partial(read_marts, snapshot=snapshot),
                                run_id=run_id)  # fmt: skip
    elif layer == "marts":
        from intent_pipeline.serving import run_settings

        # the run's own snapshot: another run's build can neither lock it nor change it
        # run_id: the verdicts are recorded in the lake too, for marts.quality_gate_results
        report = validate_marts(run_settings(settings, run_id), interval_start.date(), run_id=run_id)
    else:
        report = validate_raw(settings, interval_start.date(), run_id=run_id)
    try:
        enforce_gate(report)
    except QualityGateError as error:
        _fail(f"quality gate '{layer}' failed:\n{error}")
    failed_warnings = sum(
        1 for table in report["tables"].values() for result in table["results"] if not result["success"]
    )
    return {"layer": layer, "success": report["success"], "warnings": failed_warnings}


def dbt_command(settings: Settings, *args: str, target: Path | None = None) -> list[str]:
    """The dbt command line for this installation (target and logs in ``state_dir/dbt`` unless
    ``target`` names another target folder; the logs go beside it). Nothing that changes from run
    to run is on it: the interval and the approved scoring model go in the environment
    (:func:`dbt_env`), because dbt re-parses the whole project whenever ``--vars`` change, while a
    changed env var re-parses only the files that read it (docs/configuration.md#dbt-and-its-parse)."""
    dbt_bin = Path(sys.executable).with_name("dbt")
    target = target or settings.state_dir / "dbt" / "target"
    return [
        str(dbt_bin) if dbt_bin.exists() else "dbt",
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(target.parent / "logs"),
    ]  # fmt: skip


def model_vars(settings: Settings) -> dict:
    """``scoring_model``: the latest approved conversion model as a dbt var, or nothing (rule score alone)."""
    from intent_pipeline import scoring_model

    model = scoring_model.latest_approved(settings.models_dir)
    return {"scoring_model": scoring_model.to_dbt_var(model)} if model else {}


def scoring_model_env(variables: Mapping[str, object]) -> str:
    """The value of ``INTENT_SCORING_MODEL`` for :func:`model_vars`' result: the model var as JSON,
    or empty (no approved model). Macro scoring_model() reads it when no ``--vars`` names the var."""
    model = variables.get("scoring_model")
    return json.dumps(model, sort_keys=True) if model else ""


def dbt_env(settings: Settings, interval_start: datetime | None, interval_end: datetime | None) -> dict[str, str]:
    """Environment for dbt: the interval (naive UTC, macros/scoring_interval.sql; empty without one:
    a hand run, scored as of the data's latest event), the approved scoring model (macro
    scoring_model()), where the lake and the warehouse are, no telemetry, this package importable.
    The paths are absolute here; :func:`run_dbt` gives the warehouse relative to the folder it runs
    dbt in, so that dbt keeps its parse when the warehouse is copied elsewhere. dbt reads the lake,
    the interval and the scoring model only when a node runs, never while it parses (docs/dbt-parse.md).
    Of the caller's environment only what dbt needs is passed (:func:`dbt_process_env`)."""
    env = dict(os.environ)
    env.update(
        INTENT_INTERVAL_START=naive_utc(interval_start).isoformat(sep=" ") if interval_start else "",
        INTENT_INTERVAL_END=naive_utc(interval_end).isoformat(sep=" ") if interval_end else "",
        # absolute: the staging views keep the path (macros/lake.sql lake_dir() refuses a relative one)
        INTENT_LAKE_DIR=str(settings.lake_dir.absolute()),
        INTENT_WAREHOUSE=str(settings.warehouse),
        INTENT_SCORING_MODEL=scoring_model_env(model_vars(settings)),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PYTHONPATH=with_plugins_on_path(env.get("PYTHONPATH")),
    )
    return dbt_process_env(env)


# What a dbt process gets of its caller's environment (dbt_process_env). dbt_common scans the whole
# environment for DBT_ENV_SECRET_* values each time it writes a log line or raises an error
# (dbt_common.exceptions.env_secrets: about 27,000 times in one build of the sample), so every
# variable dbt does not need costs CPU in every call; an Airflow task's environment holds dozens
# (AIRFLOW_*, the terminal's, the CI's). Kept: every variable of dbt (DBT_*, the secrets among them),
# of this project (INTENT_*: every env_var() of dbt_project/, tests/test_dbt_env.py checks that), of
# the adapters and the libraries dbt's Python models load (Postgres' PG*, the cloud storages' credentials,
# the math libraries' threads), of Python, of the TLS certificates and proxies, and of the OS.
# INTENT_DBT_ENV_KEEP names more (comma-separated), for a profile or model of your own that reads them.
DBT_ENV_PREFIXES = ("DBT_", "INTENT_", "PYTHON", "PG", "AWS_", "AZURE_", "GOOGLE_", "GCS_", "GCE_", "HF_",
                    "DUCKDB_", "OPENBLAS_", "OMP_", "MKL_", "NUMEXPR_", "VECLIB_", "ARROW_", "SSL_", "REQUESTS_",
                    "CURL_", "LC_", "XDG_")  # fmt: skip
DBT_ENV_NAMES = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "USERNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TZDIR", "TMPDIR", "TEMP",
    "TMP", "VIRTUAL_ENV", "CONDA_PREFIX", "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "HOSTNAME", "TERM", "NO_COLOR",
    "FORCE_COLOR", "DO_NOT_TRACK", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy",
    "https_proxy", "no_proxy", "all_proxy", "NIX_SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO",
    "SYSTEMROOT", "SYSTEMDRIVE", "COMSPEC", "PATHEXT", "WINDIR", "APPDATA", "LOCALAPPDATA", "USERPROFILE",
})  # fmt: skip


def dbt_process_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` less what dbt does not need (:data:`DBT_ENV_PREFIXES`, :data:`DBT_ENV_NAMES`, and the
    names listed in ``INTENT_DBT_ENV_KEEP``): the environment every dbt process of this project gets
    (docs/dbt-parse.md, "dbt's environment")."""
    # that one variable alone: a malformed other INTENT_* is not this function's to judge
    more = Settings.from_env({k: v for k, v in env.items() if k == "INTENT_DBT_ENV_KEEP"}).dbt_env_keep.split(",")
    keep = DBT_ENV_NAMES | {name.strip() for name in more if name.strip()}
    return {name: value for name, value in env.items() if name in keep or name.startswith(DBT_ENV_PREFIXES)}


PARTIAL_PARSE_FILE = "partial_parse.msgpack"
# what dbt compares before it keeps a saved parse, besides the project's files and its own version
# (ManifestLoader.build_manifest_state_check): the command line's --vars, --target and --profile, and
# the profile's connection values (profiles.yml: the target, the warehouse, the Postgres server)
PARSE_ARGS = ("--vars", "--target", "--profile")
PROFILE_ENV = ("DBT_TARGET", "INTENT_WAREHOUSE", "INTENT_PG_HOST", "INTENT_PG_PORT", "INTENT_PG_USER",
               "INTENT_PG_DBNAME")  # fmt: skip


def scratch_parse_cache(settings: Settings) -> Path:
    """Where dbt runs on scratch copies (the rules check, the matcher's estimate, the benchmarks)
    keep their parse between runs (:func:`run_dbt`'s ``parse_cache``)."""
    return settings.state_dir / "dbt" / "scratch-parse"


def parse_key(args: Sequence[str], env: Mapping[str, str]) -> str:
    """What makes dbt keep or discard a saved parse, as a short hash: the command line's
    :data:`PARSE_ARGS` and the profile's variables (:data:`PROFILE_ENV`). Two runs with the same key
    keep each other's parse; the lake, the interval and the scoring model are not in it (dbt reads
    them only when a node runs)."""
    import hashlib

    given = {name: args[i + 1] for i, name in enumerate(args[:-1]) if name in PARSE_ARGS}
    profile = {name: env.get(name, "") for name in PROFILE_ENV}
    text = json.dumps({"args": given, "profile": profile}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_cache_file(cache: Path, args: Sequence[str], env: Mapping[str, str]) -> Path:
    """The saved parse in ``cache`` for a dbt run with these arguments and environment
    (:func:`parse_key`): one file per kind of run, so that one kind never replaces another's."""
    return cache / f"partial_parse.{parse_key(args, env)}.msgpack"


def run_dbt(
    settings: Settings,
    *args: str,
    interval: tuple[datetime, datetime] | None,
    target: Path | None = None,
    parse_cache: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run the real dbt CLI (:func:`dbt_command`, :func:`dbt_env`) so that it re-uses its parse.

    dbt throws its saved parse (``target/partial_parse.msgpack``) away when the profile's values,
    the ``--vars`` or the project change, and re-parses the files that read a changed env var while
    they were parsed (dbt's "partial parsing"). So dbt runs in the warehouse's folder with the
    warehouse given by its file name: a copy of the warehouse elsewhere (the rules check, a
    benchmark's home, a test) has the same profile as the DAG's build. The lake (absolute: the
    staging views keep its path, and every reader of the warehouse must find it), the interval
    (``None``: a hand run without one) and the scoring model are read by the project only when a
    node runs, so another lake, day or model re-parses nothing (docs/dbt-parse.md).

    ``parse_cache``, a folder for runs in a new target folder each time (env
    ``INTENT_DBT_PARSE_CACHE`` names another, so that tests and benchmarks share one; the DAG's
    build, in its own lasting target, gives none): when ``target`` has no saved parse yet, dbt
    starts from the one saved there for the same kind of run (:func:`parse_cache_file`: the same
    ``--vars`` and profile), and leaves its own there afterwards (replaced atomically: concurrent
    runs never read half a file). ``extra_env`` goes on top of the environment."""
    # dbt runs elsewhere than the caller: every path it gets is absolute but the warehouse's name
    target = (target or settings.state_dir / "dbt" / "target").absolute()
    workdir = settings.warehouse.absolute().parent
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **dbt_env(settings, *(interval or (None, None))),
        "INTENT_WAREHOUSE": settings.warehouse.name,
        **(extra_env or {}),
    }
    shared = Settings.from_env().dbt_parse_cache  # read now: tests and benches set it around a call
    cache = (shared or parse_cache) if parse_cache is not None else None
    kept = parse_cache_file(cache, args, env) if cache is not None else None
    if kept is not None:
        start_from_kept_parse(kept, target)
    from intent_pipeline import dbt_fork

    done = dbt_fork.run(dbt_command(settings, *args, target=target), env, workdir)  # the server's, or a subprocess
    if kept is not None:
        keep_parse(target, kept)
    return done


def start_from_kept_parse(kept: Path, target: Path) -> None:
    """Copy the parse ``kept`` (:func:`parse_cache_file`) into the target folder ``target`` when that has none."""
    import shutil

    saved = target / PARTIAL_PARSE_FILE
    if not saved.exists() and kept.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, saved)


def keep_parse(target: Path, kept: Path) -> None:
    """Leave the target folder's parse in the cache file ``kept`` when it differs from it (replaced
    atomically: a concurrent run never reads half a file)."""
    import shutil

    saved = target / PARTIAL_PARSE_FILE
    if saved.exists() and (not kept.exists() or kept.read_bytes() != saved.read_bytes()):
        kept.parent.mkdir(parents=True, exist_ok=True)
        fresh = kept.with_name(f".{kept.name}.{os.getpid()}")
        shutil.copyfile(saved, fresh)
        os.replace(fresh, kept)


def with_plugins_on_path(pythonpath: str | None) -> str:
    """``PYTHONPATH`` with this package's folder first: dbt's Python models (attribution) import it."""
    plugins = str(Path(__file__).resolve().parents[1])
    parts = [p for p in (pythonpath or "").split(os.pathsep) if p and p != plugins]
    return os.pathsep.join([plugins, *parts])


def dbt_build_args(env: Mapping[str, str] | None = None, *, full_refresh: bool = False) -> tuple[str, ...]:
    """The scheduled build's arguments: without dbt's unit tests, which check the SQL, not the
    data, and so belong in development and CI (``make test`` runs them), as dbt recommends; they
    were half of the sample's build time. ``INTENT_DBT_UNIT_TESTS=1`` runs them in the DAG too.
    ``full_refresh`` (the DAG's param ``full_refresh``, docs/incremental.md) adds ``--full-refresh``:
    every incremental model rebuilt from every partition of the lake."""
    args: tuple[str, ...] = ("build",) if Settings.from_env(env).dbt_unit_tests else (
        "build", "--exclude-resource-type", "unit_test")  # fmt: skip
    return (*args, "--full-refresh") if full_refresh else args


def full_refresh_from_context(context: Mapping[str, Any] | None = None) -> bool:
    """The run's param ``full_refresh`` (a Trigger's form or ``--conf '{"full_refresh": true}'``;
    false for scheduled and backfill runs, the DAG's default), from ``context`` (the running
    task's by default). Anything but a JSON boolean is refused here, before any work: a string
    "false" must not rebuild the warehouse."""
    if context is None:
        from airflow.sdk import get_current_context

        context = get_current_context()
    value = (context.get("params") or {}).get("full_refresh", False)
    if not isinstance(value, bool):
        _fail(f"the param full_refresh must be true or false (a JSON boolean), got {value!r}")
    return value


def dbt_build_task(interval_start: datetime, interval_end: datetime, run_id: str, full_refresh: bool = False) -> dict:
    """One ``dbt build`` (seeds, models, data tests; unit tests only if asked): the warehouse's only writer.
    ``full_refresh``: with ``--full-refresh`` (docs/incremental.md, "Full refresh and backfills").
    With ``INTENT_ENGINE=postgres``: :func:`postgres_build_task` instead."""
    settings = Settings.from_env()
    if settings.engine == "postgres":
        return postgres_build_task(settings, interval_start, interval_end, run_id, full_refresh=full_refresh)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    started, since = time.monotonic(), time.time()
    if full_refresh:
        log.info("full refresh: every incremental model is rebuilt from every partition of the lake")
    from intent_pipeline.dbt_errors import raise_for_dbt_failure, raise_if_held

    target = settings.state_dir / "dbt" / "target"
    raise_if_held(settings.warehouse, target, since)  # a BI session on the build file: fail (retried) before dbt starts
    completed = duckdb_build(settings, (interval_start, interval_end), full_refresh=full_refresh)
    log.info("dbt build output:\n%s", completed.stdout[-20000:])
    if completed.returncode != 0:
        # dbt's own error (the lock, the failing test) in the exception; data errors are not retried
        raise_for_dbt_failure(completed, target, since, settings.warehouse)
    results = json.loads((target / "run_results.json").read_text())["results"]
    counts: dict[str, int] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        counts[kind] = counts.get(kind, 0) + 1
    seconds = round(time.monotonic() - started, 1)
    # Still in the warehouse pool's slot: the run's later tasks read this copy, not the build file.
    from intent_pipeline.serving import snapshot_build

    snapshot_started = time.monotonic()
    snapshot = snapshot_build(settings, run_id)
    return {
        "nodes": counts,
        "seconds": seconds,
        "full_refresh": full_refresh,
        "snapshot": str(snapshot),
        "snapshot_seconds": round(time.monotonic() - snapshot_started, 2),
    }


def duckdb_build(
    settings: Settings,
    interval: tuple[datetime, datetime] | None,
    *,
    full_refresh: bool = False,
    target: Path | None = None,
) -> subprocess.CompletedProcess:
    """The DAG's ``dbt build`` of the DuckDB warehouse (:func:`run_dbt`, :func:`dbt_build_args`),
    without the seeds that did not change since the warehouse's last successful build and the data
    tests that read only them (``seed_state``: recorded in the warehouse after each successful build;
    a full refresh builds every seed), and without the models and data tests whose inputs did not change
    since then and that do not read the run's date (``day_skip``, docs/incremental.md)."""
    from intent_pipeline import day_skip, seed_state
    from intent_pipeline.privacy import seeds

    target = (target or settings.state_dir / "dbt" / "target").absolute()
    seeds.drop_erased_rows(settings)  # an erased person named in a seed is never loaded again (docs/privacy.md)
    current = seed_state.fingerprints(DBT_PROJECT_DIR)  # before the build: what it loads
    skip = seed_state.skip_args(current, settings.warehouse, target / "manifest.json", full_refresh=full_refresh)
    if skip:
        log.info("unchanged seeds and their tests left out of the build: %s", " ".join(skip[1:]))
    manifest = day_skip.read_manifest(target / "manifest.json")
    inputs = day_skip.fingerprints(DBT_PROJECT_DIR, manifest, settings.lake_dir, dbt_env(settings, None, None))
    last = day_skip.take_record(settings.warehouse)  # removed: a build that fails leaves none
    unchanged = [name for name in skip[1:] if name in current]
    same = () if full_refresh else day_skip.skip_args(inputs, last, unchanged, manifest, settings.warehouse)
    if same:
        log.info("%d models and data tests whose inputs did not change left out of the build: %s", len(same),
                 " ".join(same))  # fmt: skip
    left_out = (*skip[1:], *same)  # skip is ("--exclude", <names>) or ()
    excluded = ("--exclude", *left_out) if left_out else ()
    # the staging models' data tests check only the rows the day wrote when every other row was checked
    window = not full_refresh and day_skip.tests_lake_window(inputs, last, manifest, settings.warehouse)
    completed = run_dbt(settings, *dbt_build_args(full_refresh=full_refresh), *excluded, interval=interval,
                        target=target, extra_env={day_skip.TESTS_LAKE_WINDOW_ENV: str(window).lower()})  # fmt: skip
    if completed.returncode == 0:
        seed_state.record(current, settings.warehouse)
        day_skip.record(inputs, settings.warehouse)
    return completed


def postgres_build_task(
    settings: Settings, interval_start: datetime, interval_end: datetime, run_id: str, full_refresh: bool = False
) -> dict:
    """``dbt_build`` on the postgres target (``INTENT_ENGINE=postgres``, the server of the ``INTENT_PG_*``
    variables; docs/portability.md, "The DAG on Postgres"): the interval's raw partitions loaded into
    schema ``raw`` (``postgres_load.load_postgres_task``: replaced, never added to), then the build in
    its two phases around the Python attribution model (``postgres_load.build_postgres``), then the run's
    snapshot (``postgres_load.snapshot_postgres``: the marts copied to the run's own schemas, which its
    later tasks read). In the pool's slot, like the DuckDB build and its snapshot."""
    from intent_pipeline import postgres_load
    from intent_pipeline.privacy import seeds

    started = time.monotonic()
    seeds.drop_erased_rows(settings, run_id=run_id)  # as duckdb_build: no erased person from a seed
    try:
        loaded = postgres_load.load_postgres_task(interval_start, interval_end, run_id)
    except postgres_load.LoadError as error:
        _fail(f"loading the interval's lake into Postgres failed (rolled back): {error}")
    log.info("loaded into postgres: %s", loaded["rows"])
    connection = postgres_load.connection_params()
    env = {**dbt_env(settings, interval_start, interval_end), **postgres_load.profile_env(connection)}
    target = settings.state_dir / "dbt" / "target"
    command = dbt_command(settings)
    build_args = dbt_build_args(full_refresh=full_refresh)[1:]  # without "build": build_postgres runs it in two phases
    try:
        timings = postgres_load.build_postgres(command, env, target, *build_args, connection=connection)
    except postgres_load.LoadError as error:
        text = str(error)
        if "could not connect" in text or "Connection refused" in text:
            raise  # the server is away: worth the task's retries
        _fail(text)  # a failing model or data test: a retry cannot fix it
    for phase in ("phase1", "phase2"):
        log.info("dbt build on postgres, %s:\n%s", phase, timings[phase].stdout[-10000:])
    seconds = round(time.monotonic() - started, 1)
    # Still in the warehouse pool's slot: the run's later tasks read this copy, not the live marts.
    snapshot = postgres_load.snapshot_postgres(run_id, connection)
    return {
        "engine": "postgres",
        "loaded": loaded["rows"],
        "seconds": seconds,
        "snapshot": snapshot["prefix"],
        "snapshot_seconds": snapshot["seconds"],
        **{key: round(timings[key], 1) for key in ("phase1_seconds", "attribution_seconds", "phase2_seconds")},
        "attribution_rows": timings["attribution_rows"],
    }


def no_landing_data(manifests: Sequence[dict | None]) -> bool:
    """True when no source read a single row for the interval (no landing drop at all); False
    when a source's manifest is unknown (its extract was marked done without running)."""
    known = [manifest for manifest in manifests if isinstance(manifest, dict)]
    if not known or len(known) != len(manifests):
        return False
    return all(
        sum(counts.get("read", 0) for counts in (manifest.get("tables") or {}).values()) == 0
        and not manifest.get("file_errors")
        for manifest in known
    )


def skip_without_landing_data(manifests: Sequence[dict | None], interval_start: datetime) -> None:
    """Skip the rest of the run when no source delivered anything for the interval.

    A day without any drop (a scheduled run created when the DAG is unpaused, an interval whose
    exports have not arrived) must not rebuild the warehouse as of that day and push re-decayed
    scores to the CRM: the run is skipped, the warehouse and the serving copy stay as they were."""
    from airflow.sdk.exceptions import AirflowSkipException

    if no_landing_data(manifests):
        raise AirflowSkipException(
            f"no landing data for the interval starting {interval_start.date().isoformat()} in any source: "
            "nothing to build; drop the exports and clear this run"
        )


def publish_task(interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """Publish the run's validated marts to the serving copy BI tools read (``serving.py``)."""
    from intent_pipeline.serving import publish, run_settings, serving_dir

    settings = Settings.from_env()
    if settings.engine == "postgres":
        # BI reads schema serving on the server: the run's validated snapshot copied there, masked, with
        # the run's gate verdicts, granted to INTENT_PG_READER_ROLES and swapped in; its marts also go to
        # the serving folder's Parquet (the dashboards' input). The DuckDB serving file stays as it was.
        from intent_pipeline.postgres_load import publish_postgres, snapshot_schemas

        snapshot = snapshot_schemas(run_settings(settings, run_id).pg_snapshot).get("marts", "marts")
        done = publish_postgres(run_id=run_id, interval_start=interval_start.date().isoformat(),
                                source_schema=snapshot, readers=settings.pg_readers, lake_dir=settings.lake_dir,
                                parquet_dir=serving_dir(settings))  # fmt: skip
        log.info("published %s marts, %s rows, to schema %s on Postgres (readers: %s) and %s",
                 len(done["tables"]), done["rows"], done["schema"], ", ".join(done["readers"]) or "none granted",
                 done["parquet"])  # fmt: skip
        return {"engine": "postgres", "published": True, "run_id": run_id, "schema": done["schema"],
                "rows": done["rows"], "tables": done["tables"], "masked_columns": done["masked_columns"],
                "readers": done["readers"], "gate_verdicts_added": done["gate_verdicts_added"],
                "parquet": done["parquet"], "publish_seconds": done["seconds"]}  # fmt: skip
    source = run_settings(settings, run_id).warehouse
    manifest = publish(
        source,
        serving_dir(settings),
        run_id=run_id,
        interval_start=interval_start.date().isoformat(),
        lake_dir=settings.lake_dir,
    )
    return {key: manifest[key] for key in ("version", "database", "parquet", "marts", "publish_seconds")}


TRAINING_LABELS_SQL = """
    select example_id, person_id, scored_at as as_of_at, cast(converted as integer) as label, false as snapshot
    from marts.lead_conversion_examples
    where label_complete
"""
# the same leads at the ages of var lead_snapshot_days: extra training examples (scoring_model.train)
SNAPSHOT_LABELS_SQL = """
    select example_id, person_id, scored_at as as_of_at, cast(converted as integer) as label, true as snapshot
    from intermediate.int_lead_snapshot_examples
    where label_complete
"""
TRAINING_FEATURES_SQL = """
    select features.score_point as example_id, features.feature, features.value
    from intermediate.int_scoring_features as features
    inner join ({examples}) as examples
        on examples.example_id = features.score_point and examples.person_id = features.person_id
"""

# the rules that award points in the seed of the build the features come from (scoring_model.model_signals):
# read from the mart of one row per seed rule, which the Postgres run snapshot copies too (it does not copy
# intermediate.int_lead_score_rules)
TRAINING_ENABLED_RULES_SQL = "select rule_id from marts.scoring_rule_suggestions where is_enabled"


def load_training_data(warehouse: Path, engine: str = "duckdb", pg_snapshot: str = ""):
    """(labels, features, enabled rules) of the conversion model from the warehouse, read-only (after
    dbt finished): each CRM lead at its scored_at (lead_conversion_examples) and, where the warehouse has
    them, the same leads at the snapshot ages (``snapshot`` true: int_lead_snapshot_examples); the set of
    rule ids enabled in the seed of that build (``train(enabled_rules=...)``). ``engine``
    ``postgres``: from the marts in Postgres (``postgres_load.PgReader``; ``pg_snapshot``: the run's)."""
    import duckdb
    import pandas as pd

    if engine == "postgres":
        from intent_pipeline.postgres_load import PgReader

        opened: Any = PgReader(snapshot=pg_snapshot)
    else:
        opened = duckdb.connect(str(warehouse), read_only=True)
    with opened as con:
        has_snapshots = con.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = 'intermediate' and table_name = 'int_lead_snapshot_examples'"
        ).fetchall() != [(0,)]
        queries = [TRAINING_LABELS_SQL] + ([SNAPSHOT_LABELS_SQL] if has_snapshots else [])
        labels = pd.concat([_frame_of(con, q) for q in queries], ignore_index=True)
        features = _frame_of(con, TRAINING_FEATURES_SQL.format(examples=" union all ".join(queries)))
        enabled = set(_frame_of(con, TRAINING_ENABLED_RULES_SQL)["rule_id"])
    return labels, features, enabled


def _frame_of(con, sql: str):
    """A query's rows as a DataFrame, from DuckDB (``.df()`` of its result) or a ``PgReader``."""
    from intent_pipeline.postgres_load import PgReader

    return con.df(sql) if isinstance(con, PgReader) else con.execute(sql).df()


def train_model(settings: Settings, trained_at: datetime, *, retrain_days: int | None = None) -> dict:
    """Train, save and (when it passes) approve a conversion model version; with ``retrain_days``,
    only when the newest saved version was trained more than that many days before ``trained_at``."""
    from intent_pipeline import scoring_model

    trained_at = naive_utc(trained_at)
    previous = scoring_model.history(settings.models_dir)
    if retrain_days is not None and previous:
        last = datetime.fromisoformat(previous[0]["trained_at"]).replace(tzinfo=None)
        if (trained_at - last).days < retrain_days:
            return {"status": "not_due", "latest_version": previous[0]["version"], "latest_trained_at": str(last)}
    labels, features, enabled = load_training_data(settings.warehouse, settings.engine, settings.pg_snapshot)
    model = scoring_model.train(
        labels, features, trained_at=trained_at, rule_features=settings.model_rule_features, enabled_rules=enabled
    )
    path = scoring_model.save(model, settings.models_dir)
    log.info("conversion model %s: %s %s", model["version"], model["status"], model.get("reason") or "")
    return {
        "status": model["status"],
        "version": model["version"],
        "reason": model.get("reason"),
        "metrics": model.get("metrics"),
        "path": str(path),
    }


def train_model_task(interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """The weekly conversion model: retrain when the newest version is INTENT_MODEL_RETRAIN_DAYS (7)
    days older than this interval's end; the next dbt build scores with the latest approved one."""
    from intent_pipeline.serving import run_settings

    settings = run_settings(Settings.from_env(), run_id)  # the run's snapshot (file, or schemas on Postgres)
    return train_model(settings, interval_end, retrain_days=settings.model_retrain_days)


def _connection(conn_id: str):
    """An Airflow connection, or None when it is not configured (activation then writes the outbox)."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def _more_destinations() -> tuple:
    """(destination class, config) of every optional destination whose Airflow connection exists."""
    import importlib

    found = []
    for conn_id, (module, destination, config) in MORE_DESTINATIONS.items():
        conn = _connection(conn_id)
        if conn is None:
            continue
        loaded = importlib.import_module(module)
        found.append((getattr(loaded, destination), getattr(loaded, config).from_airflow_connection(conn)))
    return tuple(found)


def activate_task(interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """Push the segment to the CRM and newly hot leads to chat; write the activation report.

    ``INTENT_ACTIVATION_DRY_RUN=1`` plans without sending (report ``dt=<day>.dry-run.json``);
    the safety guard and dead-lettering read their settings from ``INTENT_ACTIVATION_*``."""
    from intent_pipeline.activation import (
        ActivationGuardError,
        DestinationRefused,
        DingTalkConfig,
        HubSpotConfig,
        Safety,
        activate,
    )
    from intent_pipeline.serving import run_settings

    settings = run_settings(Settings.from_env(), run_id)  # the run's snapshot (file, or schemas on Postgres)
    safety = Safety.from_env()
    more = _more_destinations()
    hubspot_conn = _connection(HUBSPOT_CONN_ID)
    dingtalk_conn = _connection(DINGTALK_CONN_ID)
    try:
        report = activate(
            settings,
            interval_start.date(),
            naive_utc(interval_end),
            run_id,
            hubspot=HubSpotConfig.from_airflow_connection(hubspot_conn) if hubspot_conn else None,
            dingtalk=DingTalkConfig.from_airflow_connection(dingtalk_conn) if dingtalk_conn else None,
            safety=safety,
            more=more,
        )
    except DestinationRefused as error:
        # A refused token or robot URL does not heal by retrying: fail now, name the connection.
        _fail(f"activation refused: {error} — fix the Airflow connection and clear the task")
    except ActivationGuardError as error:
        _fail(f"activation stopped by the safety guard: {error}")
    for destination, counts in report.items():
        if isinstance(counts, dict) and counts.get("mode") == "outbox":
            log.warning("%s: no connection configured, wrote the outbox instead of sending", destination)
    suffix = ".dry-run" if safety.dry_run else ""
    path = settings.reports_dir / "activation" / f"dt={interval_start.date().isoformat()}{suffix}.json"
    _write_json(path, {"run_id": run_id, "interval_start": interval_start.date().isoformat(), "destinations": report})
    return report


def summary_task(interval_start: datetime, interval_end: datetime, run_id: str) -> dict:
    """Collect the run's figures into one JSON file and log them as a table."""
    from intent_pipeline.report import build_summary, format_summary
    from intent_pipeline.serving import published, run_settings, serving_database, serving_dir

    settings = Settings.from_env()
    # the figures of this run's own marts (its snapshot: a file, or schemas on Postgres), whatever ran since
    marts = run_settings(settings, run_id)
    summary = build_summary(marts, interval_start.date())
    summary["run_id"] = run_id
    summary["paths"]["warehouse"] = str(settings.warehouse)
    summary["paths"]["serving"] = str(serving_database(settings))
    serving = published(serving_dir(settings)) or {}
    if serving.get("run_id") == run_id:
        summary["serving"] = {key: serving.get(key) for key in ("version", "parquet", "publish_seconds")}
    _write_json(settings.reports_dir / "runs" / f"dt={interval_start.date().isoformat()}.json", summary)
    log.info("\n%s", format_summary(summary))
    return {"summary_file": str(settings.reports_dir / "runs" / f"dt={interval_start.date().isoformat()}.json")}


def interval_dates(interval_start: date) -> tuple[datetime, datetime]:
    """The daily interval that starts on ``interval_start`` (UTC, aware)."""
    from datetime import timedelta

    start = datetime(interval_start.year, interval_start.month, interval_start.day, tzinfo=UTC)
    return start, start + timedelta(days=1)
