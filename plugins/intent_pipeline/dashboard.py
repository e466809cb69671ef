"""Rebuild the dashboards after a run published the serving copy (the DAG's ``build_dashboard``).

Off unless ``INTENT_DASHBOARD_BUILD`` is set (``1``, ``true``, ``yes``, ``on``): the build needs Node
and npm on the worker and costs tens of seconds per run (docs/dashboards.md). When it is off, or on
but npm or ``dashboard/build.sh`` is missing, the task says why in its log and is skipped (a
skipped task, not a failed run). When it runs, it runs ``dashboard/build.sh`` (what
``make dashboard`` runs) with the run's settings, so the pages read the serving copy the run just
published; a failed build fails the task with the end of the build's output.

Settings (environment, read through intent_pipeline.settings.Settings):
  INTENT_DASHBOARD_BUILD    on: rebuild after each run's publish (default off)
  INTENT_DASHBOARD_OUT      where the static site goes (default dashboard/dist; build.sh's DASHBOARD_OUT)
  INTENT_DASHBOARD_TIMEOUT  seconds before the build is stopped (default 600)
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from intent_pipeline.settings import Settings

log = logging.getLogger(__name__)

ENABLE_ENV = "INTENT_DASHBOARD_BUILD"
TIMEOUT_ENV = "INTENT_DASHBOARD_TIMEOUT"
BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "dashboard" / "build.sh"


class DashboardSkipped(Exception):
    """The dashboard build does not run here; the message says why."""


class DashboardBuildFailed(RuntimeError):
    """``dashboard/build.sh`` exited with an error."""


def enabled(env: dict[str, str] | None = None) -> bool:
    """``INTENT_DASHBOARD_BUILD`` as a switch; a value that is no switch is an error, not "off"."""
    return Settings.from_env(env).dashboard_build


def why_not(env: dict[str, str] | None = None, script: Path = BUILD_SCRIPT) -> str | None:
    """Why the build would not run (None: it runs)."""
    env = dict(os.environ if env is None else env)
    if not enabled(env):
        return (
            f"dashboard build skipped: {ENABLE_ENV} is not set (off by default; set {ENABLE_ENV}=1 to "
            "rebuild the dashboards after each publish, docs/dashboards.md)"
        )
    if shutil.which("npm", path=env.get("PATH")) is None:
        return (
            f"dashboard build skipped: {ENABLE_ENV} is on but npm is not on this worker's PATH "
            "(install Node 18+ and npm, or run `make dashboard` where they are)"
        )
    if not script.exists():
        return f"dashboard build skipped: {script} does not exist (the dashboard/ folder is not deployed here)"
    return None


def build(env: dict[str, str] | None = None, script: Path = BUILD_SCRIPT) -> dict:
    """Run ``dashboard/build.sh``; raise :class:`DashboardSkipped` when it does not run here and
    :class:`DashboardBuildFailed` when it fails. Returns where the site went and how long it took."""
    env = dict(os.environ if env is None else env)
    reason = why_not(env, script)
    if reason:
        raise DashboardSkipped(reason)
    settings = Settings.from_env(env)
    out = settings.dashboard_out or Path(env.get("DASHBOARD_OUT", "").strip() or "dist")
    site = out if out.is_absolute() else script.parent / out
    # Built into a new folder beside the site, then swapped in: Framework refuses to write over an
    # earlier build outside dashboard/ ("file conflict"), and a reader never sees a half-built site.
    fresh = site.with_name(f".{site.name}.{uuid.uuid4().hex[:8]}.tmp")
    env["DASHBOARD_OUT"] = str(fresh)
    env.setdefault("OBSERVABLE_TELEMETRY_DISABLE", "true")
    timeout = settings.dashboard_timeout
    started = time.monotonic()
    try:
        done = subprocess.run(
            [str(script)], env=env, capture_output=True, text=True, timeout=timeout, cwd=script.parent
        )
    except subprocess.TimeoutExpired as error:
        shutil.rmtree(fresh, ignore_errors=True)
        raise DashboardBuildFailed(f"dashboard/build.sh did not finish in {timeout:.0f} s ({TIMEOUT_ENV})") from error
    seconds = round(time.monotonic() - started, 1)
    log.info("dashboard/build.sh output:\n%s", (done.stdout + done.stderr)[-6000:])
    if done.returncode != 0:
        shutil.rmtree(fresh, ignore_errors=True)
        output = done.stderr[-3000:] or done.stdout[-3000:]
        raise DashboardBuildFailed(f"dashboard/build.sh exited with {done.returncode} after {seconds} s:\n{output}")
    _swap_in(fresh, site)
    reading = next((line for line in done.stdout.splitlines() if line.startswith("dashboard: reading ")), "")
    return {"site": str(site), "seconds": seconds, "parquet": reading.removeprefix("dashboard: reading ") or None}


def _swap_in(fresh: Path, site: Path) -> None:
    """Replace ``site`` by ``fresh`` with two renames (the old site is removed afterwards)."""
    old = site.with_name(f".{site.name}.{uuid.uuid4().hex[:8]}.old")
    if site.exists():
        os.replace(site, old)
    os.replace(fresh, site)
    shutil.rmtree(old, ignore_errors=True)


def build_task(run_id: str) -> dict:
    """The DAG's ``build_dashboard``: rebuild, or skip (AirflowSkipException) saying why in the log."""
    from airflow.sdk.exceptions import AirflowSkipException

    try:
        result = build()
    except DashboardSkipped as skipped:
        log.info("%s", skipped)
        raise AirflowSkipException(str(skipped)) from None
    log.info("run %s: dashboards rebuilt in %s s into %s (from %s)", run_id, result["seconds"], result["site"],
             result["parquet"])  # fmt: skip
    return result
