"""GA4 session attribution cases: hand-solved sessions run through the real extract and dbt models.

A case file (YAML; the project's is ``tests/web/ga4_session_cases.yml``) is a list of cases, one
browser each (``user_pseudo_id`` = the case's name). A case has ``events`` in a compact form and the
``expect``\\ ed traffic of some of its sessions::

    - name: direct_return_credited_to_paid_search
      about: why the answer is what it is
      events:
        - {session: 1, at: "2026-11-01 10:00", url: "https://www.example-saas.com/?gclid=abc"}
        - {session: 2, at: "2026-11-04 09:00", url: "https://www.example-saas.com/pricing"}
      expect:
        - {session: 2, source: google, medium: cpc, channel: Paid Search, origin: previous_session}

Event keys: ``session`` (its ga_session_id), ``at`` (UTC), ``name`` (default page_view), ``url``
(page_location), ``referrer`` (page_referrer), ``collected`` (collected_traffic_source: source,
medium, campaign, gclid), ``params`` (more event_params: source, medium, campaign),
``last_click`` (session_traffic_source_last_click as the export writes it), ``first_user``
(traffic_source: source, medium, name). Expected keys: source, medium, campaign, channel (the
session default channel group), origin (source_origin), referrer_host, first_user_source,
first_user_medium, first_user_channel; only the keys given are compared.

Each case's events become GA4 BigQuery-export lines, parsed by the web extract
(``intent_pipeline.sources.web.extract.parse_event``) into a scratch raw lake; ``dbt build`` of
``int_web_session_traffic`` and its parents (staging, sessions, the seeds) runs on it, and every
expected session is compared with the model's row. About 30 s on two cores.

    python -m intent_pipeline.ga4_session_cases [CASES_YAML]
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

MODEL = "int_web_session_traffic"
DAY = date(2026, 11, 1)
EXPECTED_COLUMNS = {
    "source": "source",
    "medium": "medium",
    "campaign": "campaign",
    "channel": "default_channel_group",
    "origin": "source_origin",
    "referrer_host": "referrer_host",
    "first_user_source": "first_user_source",
    "first_user_medium": "first_user_medium",
    "first_user_channel": "first_user_default_channel_group",
}


class CaseError(ValueError):
    """A case that cannot be run as written (an unknown key, a session without events)."""


def load_cases(path: Path | str) -> list[dict]:
    """The cases of a YAML case file, checked for the keys this runner knows."""
    import yaml

    cases = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    names = set()
    for case in cases:
        name = case.get("name")
        if not name or name in names:
            raise CaseError(f"a case without a name or a duplicate name: {name!r}")
        names.add(name)
        sessions = {event.get("session") for event in case.get("events") or []}
        for event in case.get("events") or []:
            unknown = set(event) - {"session", "at", "name", "url", "referrer", "collected", "params", "last_click",
                                    "first_user"}  # fmt: skip
            if unknown or "session" not in event or "at" not in event:
                raise CaseError(f"{name}: event {event} (unknown keys {sorted(unknown)}; session and at are required)")
        for expected in case.get("expect") or []:
            unknown = set(expected) - {"session", *EXPECTED_COLUMNS}
            if unknown or expected.get("session") not in sessions:
                raise CaseError(f"{name}: expectation {expected} (unknown keys {sorted(unknown)} or no such session)")
        if not case.get("expect"):
            raise CaseError(f"{name}: nothing expected")
    return cases


def _param(key: str, value: Any) -> dict:
    if isinstance(value, int):
        return {"key": key, "value": {"int_value": str(value)}}
    return {"key": key, "value": {"string_value": value}}


def export_line(case: str, event: dict) -> dict:
    """One compact event as a GA4 BigQuery-export line (the shape the web extract reads)."""
    moment = datetime.fromisoformat(str(event["at"])).replace(tzinfo=UTC)
    params = [_param("ga_session_id", int(event["session"]))]
    if event.get("url"):
        params.append(_param("page_location", event["url"]))
    if event.get("referrer"):
        params.append(_param("page_referrer", event["referrer"]))
    for key, value in (event.get("params") or {}).items():
        params.append(_param(key, value))
    line: dict[str, Any] = {
        "event_date": moment.strftime("%Y%m%d"),
        "event_timestamp": str(int(moment.timestamp() * 1_000_000)),
        "event_name": event.get("name", "page_view"),
        "user_pseudo_id": case,
        "event_params": params,
    }
    collected = event.get("collected")
    if collected:
        line["collected_traffic_source"] = {
            "manual_source": collected.get("source"),
            "manual_medium": collected.get("medium"),
            "manual_campaign_name": collected.get("campaign"),
            "gclid": collected.get("gclid"),
        }
    if event.get("first_user"):
        line["traffic_source"] = dict(event["first_user"])
    if event.get("last_click"):
        line["session_traffic_source_last_click"] = event["last_click"]
    return line


def write_lake(lake_dir: Path, cases: list[dict]) -> int:
    """Every case's events through the web extract's parser into ``lake_dir``; other raw tables empty."""
    from intent_pipeline import lake
    from intent_pipeline.sources.web.extract import _EventDates, parse_event

    for table in lake.TABLE_COLUMNS:
        lake.write_partition(lake_dir, "raw", table, DAY, [])
    dates = _EventDates()
    rows: list[dict] = []
    for case in cases:
        for event in case["events"]:
            row = parse_event(export_line(case["name"], event), dates)
            row.update({
                "_source_file": f"web/dt={DAY.isoformat()}/ga4_session_cases.jsonl",
                "_row_number": len(rows) + 1,
                "_loaded_at": datetime(2026, 12, 1),
                "_batch_id": "ga4_session_cases",
                "_interval_start": DAY,
            })  # fmt: skip
            rows.append(row)
    lake.write_partition(lake_dir, "raw", "web_events", DAY, rows)
    return len(rows)


def compare(cases: list[dict], rows: dict[str, dict]) -> dict[str, list[str]]:
    """Per case, the differences between its expectations and the model's ``rows`` (by session_key)."""
    problems: dict[str, list[str]] = {}
    for case in cases:
        found = []
        for expected in case["expect"]:
            key = f"{case['name']}:{int(expected['session'])}"
            row = rows.get(key)
            if row is None:
                found.append(f"session {expected['session']}: no row {key}")
                continue
            for name, column in EXPECTED_COLUMNS.items():
                if name in expected and row[column] != expected[name]:
                    found.append(f"session {expected['session']}: {name} {row[column]!r}, expected {expected[name]!r}")
        problems[case["name"]] = found
    return problems


def run_cases(cases: list[dict], workdir: Path | str) -> dict[str, list[str]]:
    """Run ``cases`` on a scratch warehouse in ``workdir``: per case, its differences (empty: passed).

    Raises RuntimeError when dbt cannot build the models."""
    import duckdb

    from intent_pipeline.funnel_cases import _dbt

    base = Path(workdir).resolve()
    write_lake(base / "lake", cases)
    args = ("build", "--select", f"+{MODEL}", "--exclude", "test_type:unit")
    done = _dbt(base, *args)
    if done.returncode != 0:
        raise RuntimeError(f"dbt {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    with duckdb.connect(str(base / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute(f"select * from intermediate.{MODEL}")
        names = [d[0] for d in cursor.description]
        rows = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    return compare(cases, rows)


def ga4_session_cases(path: Path | str, *, workdir: Path | str | None = None) -> tuple[int, int, dict]:
    """``(cases, passed, problems)`` for the case file at ``path`` (a temporary workdir by default)."""
    cases = load_cases(path)
    if workdir is not None:
        problems = run_cases(cases, workdir)
    else:
        with tempfile.TemporaryDirectory(prefix="ga4-cases-") as scratch:
            problems = run_cases(cases, scratch)
    passed = sum(1 for found in problems.values() if not found)
    return len(cases), passed, {name: found for name, found in problems.items() if found}


def main(argv: list[str] | None = None) -> int:
    """Prints ``{"ga4_session_cases": n, "ga4_session_cases_passed": m, "failures": {...}}``."""
    args = sys.argv[1:] if argv is None else argv
    default = Path(__file__).resolve().parents[2] / "tests" / "web" / "ga4_session_cases.yml"
    cases, passed, problems = ga4_session_cases(args[0] if args else default)
    print(json.dumps({"ga4_session_cases": cases, "ga4_session_cases_passed": passed, "failures": problems}))
    return 0 if cases and passed == cases else 1


if __name__ == "__main__":
    raise SystemExit(main())
