"""A small hand-written raw lake and one real ``dbt build`` over it.

The lake follows docs/contracts.md ("Raw lake") column for column, written with pyarrow here on
purpose (not through ``intent_pipeline.lake``), so these tests pin the contract itself. The people
in it are few and their scores can be worked out by hand from the default scoring rules:

* ``alice``: CRM lead (市场总监, Manufacturing) created before the interval, then a 免费试用 form in
  the interval with the same phone typed differently and another email -> one person,
  30 + 20 + 10 = 60, previous score 30 (fit only) -> became hot in the interval, in the segment.
* ``bob``: only visits the careers page -> -10, nurture.
* ``carol``: trial + VP + Retail + a product page = 65 before the interval (her trial is 21 days
  old, inside the 30 days before decay starts), but a won opportunity and an order ->
  customer, not in the segment; her CRM lead is exported twice (title changed in between).
* ``dave``: trial + director + Financial Services = 60, unsubscribed -> not in the segment.
* ``erin``: trial 30 + pricing page 61 s 15 + whitepaper 10 + three opens 3 = 58 -> potential.
* ``henry``: a contact form 140 days ago and nothing since -> silent -20, nurture.
* two strangers share ``info@acme-retail.com``, two others the placeholder phone 138 0000 0000:
  the blocklist keeps each of them a person of their own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from intent_pipeline import dbt_fork
from intent_pipeline.pipeline import (
    dbt_process_env,
    keep_parse,
    parse_cache_file,
    start_from_kept_parse,
    with_plugins_on_path,
)

from tests.shared import made_once, shared_folder

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")

INTERVAL_START = datetime(2026, 11, 21)
INTERVAL_END = datetime(2026, 11, 22)
DAYS = (date(2026, 11, 20), date(2026, 11, 21))

META = [("_source_file", "string"), ("_row_number", "int64"), ("_loaded_at", "timestamp"),
        ("_batch_id", "string"), ("_interval_start", "date")]  # fmt: skip


def _strings(names: str) -> list[tuple[str, str]]:
    return [(name, "string") for name in names.split()]


# docs/contracts.md, "Raw lake": business columns per table (then `extra` and the META columns).
COLUMNS: dict[str, list[tuple[str, str]]] = {
    "forms_submissions": [
        *_strings(
            "submission_id form_tool form_name full_name email phone phone_raw company job_title industry"
            " company_size lead_source client_id"
        ),  # fmt: skip
        ("submitted_at", "timestamp"),
        ("consent", "string"),
    ],
    "email_events": [
        *_strings(
            "sg_event_id sg_message_id event email url useragent ip reason status bounce_type categories"
            " marketing_campaign_id"
        ),  # fmt: skip
        ("event_at", "timestamp"),
    ],
    "web_events": [
        *_strings(
            "event_id event_name user_pseudo_id user_id page_location page_title page_referrer"
            " first_user_source first_user_medium first_user_campaign source medium campaign gclid"
            " device_category country city event_params"
        ),  # fmt: skip
        ("ga_session_id", "int64"),
        ("engagement_time_msec", "int64"),
        ("event_date", "date"),
        ("event_at", "timestamp"),
        ("analytics_storage", "string"),
    ],
    "crm_leads": [
        *_strings(
            "lead_id email phone phone_raw full_name company job_title industry company_size region owner"
            " status lead_source"
        ),  # fmt: skip
        ("created_at", "timestamp"),
        ("updated_at", "timestamp"),
        ("email_opt_out", "string"),
    ],
    "crm_opportunities": [
        *_strings("opportunity_id lead_id opportunity_name stage currency"),
        ("amount", "double"),
        ("is_closed", "bool"),
        ("is_won", "bool"),
        ("created_at", "timestamp"),
        ("closed_at", "timestamp"),
        ("stage_changed_at", "timestamp"),
    ],
    "crm_orders": [
        *_strings("order_id lead_id email currency"),
        ("amount", "double"),
        ("ordered_at", "timestamp"),
    ],
    "crm_activities": [
        *_strings("activity_id lead_id activity_type subject owner"),
        ("activity_at", "timestamp"),
    ],
}
SOURCE_OF = {"forms_submissions": "forms", "email_events": "email", "web_events": "web",
             "crm_leads": "crm", "crm_opportunities": "crm", "crm_orders": "crm",
             "crm_activities": "crm"}  # fmt: skip
SITE = "https://www.example-saas.com"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def write_partition(lake: Path, table: str, day: date, rows: list[dict]) -> Path:
    """Write one raw partition per the contract: business columns, ``extra``, the five metadata columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {"string": pa.string(), "int64": pa.int64(), "timestamp": pa.timestamp("us"), "date": pa.date32(),
             "double": pa.float64(), "bool": pa.bool_()}  # fmt: skip
    spec = [*COLUMNS[table], ("extra", "string"), *META]
    unknown = {k for row in rows for k in row} - {name for name, _ in spec}
    assert not unknown, f"{table}: columns not in the contract: {unknown}"
    source_file = f"{SOURCE_OF[table]}/dt={day}/export.csv"
    full_rows = []
    for number, row in enumerate(rows, start=1):
        full_rows.append({
            "extra": None, "_source_file": source_file, "_row_number": number,
            "_loaded_at": datetime.combine(day, datetime.min.time()) + timedelta(days=1, hours=1),
            "_batch_id": f"test/{SOURCE_OF[table]}/{day}", "_interval_start": day, **row,
        })  # fmt: skip
    schema = pa.schema([(name, types[kind]) for name, kind in spec])
    folder = lake / "raw" / table / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-0.parquet"
    pq.write_table(pa.Table.from_pylist(full_rows, schema=schema), path)
    return path


def page_view(event_id: str, pseudo: str, at: str, path: str, session: int, msec: int | None = None,
              name: str = "page_view", **extra) -> dict:  # fmt: skip
    """One GA4 event row as the extract writes it."""
    moment = ts(at)
    return {"event_id": event_id, "event_name": name, "user_pseudo_id": pseudo, "page_location": SITE + path,
            "page_title": path, "ga_session_id": session, "engagement_time_msec": msec,
            "event_date": moment.date(), "event_at": moment, "device_category": "desktop", **extra}  # fmt: skip


def form(key: str, at: str, form_name: str, email: str | None, phone: str | None, **extra) -> dict:
    return {"submission_id": key, "form_tool": extra.pop("form_tool", "typeform"), "form_name": form_name,
            "email": email, "phone": phone, "phone_raw": phone, "submitted_at": ts(at), **extra}  # fmt: skip


def mail(event_id: str, at: str, event: str, email: str, **extra) -> dict:
    return {"sg_event_id": event_id, "sg_message_id": f"msg-{event_id}", "event": event, "email": email,
            "event_at": ts(at), "categories": '["newsletter"]', **extra}  # fmt: skip


def build_lake(lake: Path) -> None:
    """The people of the module docstring, spread over two daily partitions."""
    day1, day2 = DAYS
    forms_day1 = [
        form(
            "f-carol-trial",
            "2026-11-01 02:00:00",
            "Free Trial",
            "carol@shopmart.com",
            "+8615011112222",
            full_name="Carol Lin",
            company="Shopmart",
            job_title="VP Sales",
            industry="Retail",
            lead_source="google",
            client_id="carol.device",
            consent="1",
        ),
        form(
            "f-dave-trial",
            "2026-11-05 03:00:00",
            "Free Trial",
            "dave@bank.com",
            None,
            form_tool="hubspot_forms",
            full_name="Dave Wu",
            company="Harbor Bank",
            job_title="Director of IT",
            industry="Financial Services",
            lead_source="Paid Search",
            consent="1",
        ),
        form(
            "f-erin-trial",
            "2026-11-10 03:00:00",
            "Free Trial",
            "erin@school.edu",
            None,
            full_name="Erin Xu",
            company="Bright School",
            job_title="Engineer",
            industry="Education",
            client_id="erin.device",
            consent="1",
        ),
        form(
            "f-erin-paper",
            "2026-11-12 03:00:00",
            "Whitepaper: Retail AI",
            "erin@school.edu",
            None,
            full_name="Erin Xu",
            job_title="Engineer",
            industry="Education",
        ),
        form(
            "f-henry",
            "2026-07-04 03:00:00",
            "联系我们",
            "henry@old.cn",
            None,
            form_tool="jinshuju",
            full_name="何亨利",
            job_title="工程师",
            industry="教育",
        ),
        form(
            "f-frank", "2026-11-15 03:00:00", "Contact Us", "info@acme-retail.com", "+8613755512345", full_name="Frank"
        ),
        form(
            "f-grace", "2026-11-16 03:00:00", "Contact Us", "info@acme-retail.com", "+8618655523456", full_name="Grace"
        ),
        form("f-ivan", "2026-11-17 03:00:00", "Product Brochure", "ivan@one.com", "+8613800000000", consent="1"),
        form("f-judy", "2026-11-18 03:00:00", "Product Brochure", "judy@two.com", "+8613800000000", consent="0"),
    ]
    forms_day2 = [
        # Alice types her phone with dashes on the form, the CRM has it with spaces: both are the same E.164.
        {
            **form(
                "",
                "2026-11-21 03:00:00",
                "免费试用申请",
                "alice.wang@huarui.cn",
                "+8613912345678",
                form_tool="jinshuju",
                full_name="王爱丽",
                company="华瑞精密制造有限公司",
                job_title="市场总监",
                industry="制造业",
                lead_source="百度",
                consent="同意",
            ),
            "submission_id": None,
            "phone_raw": "139-1234-5678",
        },
    ]
    write_partition(lake, "forms_submissions", day1, forms_day1)
    write_partition(lake, "forms_submissions", day2, forms_day2)

    leads_v1 = [
        {
            "lead_id": "00Qcarol",
            "email": "carol@shopmart.com",
            "full_name": "Carol Lin",
            "job_title": "Engineer",
            "industry": "Retail",
            "owner": "Emily Chen",
            "status": "Working",
            "lead_source": "Web",
            "created_at": ts("2026-11-01 06:00:00"),
            "updated_at": ts("2026-11-02 06:00:00"),
        },
        {
            "lead_id": "00Qalice",
            "email": "alice@gmail.com",
            "phone": "+8613912345678",
            "phone_raw": "+86 139 1234 5678",
            "full_name": "王爱丽",
            "company": "华瑞精密制造有限公司",
            "job_title": "市场总监",
            "industry": "Manufacturing",
            "region": "East China",
            "owner": "李娜",
            "status": "New",
            "lead_source": "Trade Show",
            "created_at": ts("2026-11-10 02:00:00"),
            "updated_at": ts("2026-11-10 02:00:00"),
        },
    ]
    leads_v2 = [
        # the CRM re-exports Carol's lead with a newer title: the latest version wins
        {**leads_v1[0], "job_title": "VP Sales", "status": "Converted", "updated_at": ts("2026-11-20 06:00:00"),
         "email_opt_out": "1"},  # and she opted out of email in the CRM
    ]
    write_partition(lake, "crm_leads", day1, leads_v1)
    write_partition(lake, "crm_leads", day2, leads_v2)
    opportunity = {"opportunity_id": "006carol", "lead_id": "00Qcarol", "opportunity_name": "Shopmart - CDP",
                   "currency": "CNY", "amount": 150000.0, "created_at": ts("2026-11-05 06:00:00")}  # fmt: skip
    write_partition(lake, "crm_opportunities", day1, [
        {**opportunity, "stage": "Proposal", "is_closed": False, "is_won": False}])  # fmt: skip
    write_partition(lake, "crm_opportunities", day2, [
        {**opportunity, "stage": "Closed Won", "is_closed": True, "is_won": True,
         "closed_at": ts("2026-11-20 00:00:00")}])  # fmt: skip
    write_partition(lake, "crm_orders", day1, [])  # an empty interval still has its file
    write_partition(lake, "crm_orders", day2, [
        {"order_id": "801carol", "lead_id": "00Qcarol", "email": "carol@shopmart.com", "currency": "CNY",
         "amount": 150000.0, "ordered_at": ts("2026-11-21 02:00:00")}])  # fmt: skip
    # Emily Chen follows Carol's lead up; the second export repeats the call (its subject edited since).
    call = {"activity_id": "00Tcarol1", "lead_id": "00Qcarol", "activity_type": "Call", "subject": "Intro call",
            "owner": "Emily Chen", "activity_at": ts("2026-11-01 10:00:00")}  # fmt: skip
    write_partition(lake, "crm_activities", day1, [call])
    write_partition(lake, "crm_activities", day2, [
        {**call, "subject": "Intro call: wants a CDP demo"},
        {"activity_id": "00Tcarol2", "lead_id": " 00Qcarol ", "activity_type": "Meeting", "subject": "产品演示会议",
         "owner": "Emily Chen", "activity_at": ts("2026-11-06 06:00:00")}])  # fmt: skip

    write_partition(lake, "email_events", day1, [
        mail("e-erin-1", "2026-11-11 02:00:00", "open", "erin@school.edu"),
        mail("e-erin-2", "2026-11-12 02:00:00", "open", "erin@school.edu"),
        mail("e-erin-3", "2026-11-13 02:00:00", "open", "erin@school.edu"),
        mail("e-dave-unsub", "2026-11-06 02:00:00", "unsubscribe", "dave@bank.com"),
        mail("e-carol-click", "2026-11-18 02:00:00", "click", "carol@shopmart.com", url=SITE + "/pricing?utm=x"),
        mail("e-info", "2026-11-18 02:00:00", "open", "info@acme-retail.com"),
    ])  # fmt: skip
    write_partition(lake, "email_events", day2, [
        # SendGrid posted Erin's third open again: raw keeps both, staging counts it once
        mail("e-erin-3", "2026-11-13 02:00:00", "open", "erin@school.edu"),
        mail("e-alice-delivered", "2026-11-21 01:00:00", "delivered", "alice.wang@huarui.cn"),
    ])  # fmt: skip

    write_partition(lake, "web_events", day1, [
        page_view("w-bob-1", "bob.device", "2026-11-20 10:00:00", "/careers/data-engineer", 1, 40_000),
        page_view("w-erin-pricing", "erin.device", "2026-11-12 02:00:00", "/pricing", 7, 300),
        page_view("w-erin-pricing-eng", "erin.device", "2026-11-12 02:01:01", "/pricing", 7, 61_000,
                  name="user_engagement"),
        page_view("w-carol-ad", "carol.device", "2026-11-12 02:00:00", "/product?gclid=abc", 3, 5_000,
                  source="google", medium="cpc", gclid="abc", user_id="acct_carol"),
        page_view("w-carol-login", "carol.laptop", "2026-11-13 02:00:00", "/login", 4, 5_000, user_id="acct_carol",
                  page_referrer="https://www.baidu.com/"),
    ])  # fmt: skip
    write_partition(
        lake,
        "web_events",
        day2,
        [
            page_view("w-bob-1", "bob.device", "2026-11-20 10:00:00", "/careers/data-engineer", 1, 40_000),
            # GA4 consent mode: two cookieless pings (analytics_storage denied, no user_pseudo_id) on the
            # pricing page, one of them carrying a pseudo id all the same: counted, never a person
            {**page_view("w-ping-1", None, "2026-11-21 09:00:00", "/pricing", None), "analytics_storage": "No"},
            {**page_view("w-ping-2", "ping.device", "2026-11-21 09:05:00", "/pricing", None),
             "analytics_storage": "No"},
        ],
    )


def seeds_loaded(results: list[dict]) -> bool:
    """Every seed of the project was loaded by the build (``dbt build`` loads them first)."""
    seeds = [r["status"] for r in results if r["unique_id"].startswith("seed.")]
    return len(seeds) == len(list((DBT_PROJECT / "seeds").glob("*.csv"))) and set(seeds) == {"success"}


TABLES = ("select table_schema || '.' || table_name from information_schema.tables"
          " where table_type = 'BASE TABLE' and table_schema in ('staging', 'intermediate', 'marts') order by 1")


@dataclass
class Build:
    """Result of one ``dbt build`` over a lake: paths, the exit code and a read-only query helper."""

    base: Path
    warehouse: Path
    lake: Path
    build: subprocess.CompletedProcess

    @property
    def output(self) -> str:
        return self.build.stdout[-12000:] + self.build.stderr[-4000:]

    def results(self) -> list[dict]:
        return json.loads((self.base / "target" / "run_results.json").read_text())["results"]

    def query(self, sql: str, *params):
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()

    def one(self, sql: str, *params):
        rows = self.query(sql, *params)
        assert len(rows) == 1, rows
        return rows[0]

    def tables(self) -> list[str]:
        """Every table (not view) of staging, intermediate and marts, as ``schema.name``."""
        return [row[0] for row in self.query(TABLES)]

    def rows_of(self, table: str) -> list[tuple]:
        """A table's rows in a stable order, floats to 9 places: two builds' tables compare equal when
        they hold the same rows, whatever order or last-digit rounding their SQL produced them in."""
        return self.rows(table)[table]

    def rows(self, *tables: str) -> dict[str, list[tuple]]:
        """:meth:`rows_of` of each of ``tables`` (default: every one of :meth:`tables`), read through
        one connection: opening the warehouse file costs about 30 ms of CPU, more than reading one
        of these small tables (a snapshot of 124 tables: 3.6 CPU-s with a connection each, 0.15
        with one). The connection is closed before this returns: a dbt run may write the file next."""
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            names = tables or tuple(row[0] for row in con.execute(TABLES).fetchall())
            out = {}
            for table in names:
                schema, name = table.split(".")
                rows = con.execute(f'select * from {schema}."{name}"').fetchall()
                out[table] = sorted((tuple(round(v, 9) if isinstance(v, float) else v for v in row) for row in rows),
                                    key=repr)  # fmt: skip
            return out
        finally:
            con.close()


# dbt re-parses the whole project (about 5 s of CPU) whenever the profile (the warehouse path), the
# command-line --vars or the project change. Every build here therefore runs in its own folder with
# the same relative warehouse path and the interval in the environment (as the DAG passes it), and
# starts from one parse of the project made once per test run. The project reads the lake, the
# interval and the scoring model only when a node runs (docs/dbt-parse.md): each folder's own lake
# and day re-parse nothing.
WAREHOUSE_FILE = "warehouse.duckdb"
# the models built incrementally (docs/incremental.md) and the schema each lands in: test_incremental
# checks in the manifest that --full-refresh rebuilds exactly these
INCREMENTAL_MODELS = {"stg_web__events": "staging", "stg_web__consent_denied_events": "staging",
                      "stg_email__events": "staging", "stg_forms__submissions": "staging",
                      "int_web_session_events": "intermediate", "int_web_session_traffic": "intermediate",
                      "int_web_page_views": "intermediate", "int_events_unified": "intermediate",
                      "int_web_sessions": "intermediate", "int_identity_match_evidence": "intermediate",
                       "int_identity_components": "intermediate", "int_identity_record_identifiers": "intermediate",
                      "int_identity_record_standardisation": "intermediate",
                      "int_attribution_journeys": "intermediate",
                      "stg_crm__lead_versions": "staging", "stg_crm__leads": "staging",
                      "stg_crm__opportunity_versions": "staging", "stg_crm__opportunities": "staging",
                      "stg_crm__order_versions": "staging", "stg_crm__orders": "staging",
                      "stg_crm__activity_versions": "staging", "stg_crm__activities": "staging",
                      "web_consent_daily": "marts"}  # fmt: skip
INCREMENTAL_RELATIONS = [f"{schema}.{model}" for model, schema in INCREMENTAL_MODELS.items()]
FUNNEL_CASES_TAG = "funnel_edge_case"
_parse_cache: dict[str, Path] = {}


def _dbt_env(lake: Path, interval: tuple[datetime, datetime] | None) -> dict[str, str]:
    start, end = interval or (INTERVAL_START, INTERVAL_END)
    env = {
        **os.environ,
        "INTENT_LAKE_DIR": str(lake),
        "INTENT_WAREHOUSE": WAREHOUSE_FILE,
        "INTENT_INTERVAL_START": start.isoformat(sep=" "),
        "INTENT_INTERVAL_END": end.isoformat(sep=" "),
        "INTENT_SCORING_MODEL": "",  # no approved model, as pipeline.dbt_env says it
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "PYTHONPATH": with_plugins_on_path(os.environ.get("PYTHONPATH")),
    }
    env.pop("DBT_TARGET", None)
    return dbt_process_env(env)  # what the DAG's dbt gets of the environment (pipeline.dbt_env)


def _dbt_command(base: Path, *args: str, project: Path = DBT_PROJECT) -> list[str]:
    return [
        str(DBT) if DBT.exists() else "dbt", *args,
        "--project-dir", str(project), "--profiles-dir", str(project),
        "--target-path", str(base / "target"), "--log-path", str(base / "logs"),
    ]  # fmt: skip


def run_project(
    project: Path,
    base: Path,
    lake: Path,
    *args: str,
    interval: tuple[datetime, datetime] | None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """The real dbt CLI on a project copy, the warehouse base/warehouse.duckdb (as :func:`run_dbt`),
    through the test process's dbt fork server when it has one. The tests read the warehouse and dbt's
    output, not its JSON artifacts: dbt writes none (about a CPU-second a run for the manifest; its
    saved parse is written all the same). ``env``: the whole environment instead of the lake's and
    the interval's (another target's, e.g. Postgres)."""
    command = _dbt_command(base, *args, "--no-write-json", project=project)
    return dbt_fork.run(command, env if env is not None else _dbt_env(lake, interval), base)


def use_parse_cache(folder: Path) -> None:
    """Where the project's parse is kept for this test run (set once by the session fixture)."""
    _parse_cache["folder"] = folder


def _seed_partial_parse(base: Path) -> None:
    """Copy the test run's parse of the project into ``base/target`` (made on first use, once for all
    xdist workers: the first one parses under a file lock, the others wait and copy)."""
    folder = _parse_cache.get("folder")
    target = base / "target" / "partial_parse.msgpack"
    if folder is None or target.exists():
        return

    def parse() -> None:
        env = _dbt_env(folder / "lake", None)
        saved = folder / "target" / "partial_parse.msgpack"
        # pipeline.run_dbt's runs without --vars (the rules check, the matcher, the benches) keep
        # their parse in the parse cache (env INTENT_DBT_PARSE_CACHE, this target folder) under
        # their kind's name: the same profile and no vars, so one parse serves both
        kept = parse_cache_file(saved.parent, (), env)
        if kept.exists():  # a scratch run came first (the matcher's seeds)
            shutil.copyfile(kept, saved.with_name(".partial_parse.msgpack"))
            os.replace(saved.with_name(".partial_parse.msgpack"), saved)
            return
        done = dbt_fork.run(_dbt_command(folder, "parse"), env, folder)
        assert done.returncode == 0, done.stdout[-4000:]
        shutil.copyfile(saved, parse_cache_file(saved.parent, (), env))

    cached = made_once(folder, folder / "target" / "partial_parse.msgpack", parse)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)


def run_dbt(
    base: Path,
    lake: Path,
    *args: str,
    interval: tuple[datetime, datetime] | None = None,
    extra_env: dict[str, str] | None = None,
    artifacts: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real dbt CLI on the project with this lake and the warehouse ``base/warehouse.duckdb``,
    for ``interval`` (default: INTERVAL_START, INTERVAL_END), ``extra_env`` on top.

    dbt's JSON artifacts (``manifest.json``, written twice a run, and ``run_results.json``: about
    1.5 CPU-s of every run, more than a small ``dbt run`` of two models) are written only with
    ``artifacts`` (``Build.results()`` reads them). A run with ``--vars`` parses the whole project
    for those vars: it keeps its parse in ``base/target-vars``, so that the next run without vars
    still finds the project's parse in ``base/target`` (one full parse instead of two), and in the
    test run's parse cache under its vars (``pipeline.parse_cache_file``), so that a run with the
    same vars in another folder starts from it (as ``pipeline.run_dbt``'s scratch runs do)."""
    base.mkdir(parents=True, exist_ok=True)
    _seed_partial_parse(base)
    env = {**_dbt_env(lake, interval), **(extra_env or {})}
    command = _dbt_command(base, *args, *(() if artifacts else ("--no-write-json",)))
    if "--vars" not in args:
        return dbt_fork.run(command, env, base)  # the test process's fork server, or a subprocess
    target = base / "target-vars"
    command[command.index("--target-path") + 1] = str(target)
    folder = _parse_cache.get("folder")
    kept = parse_cache_file(folder / "target", args, env) if folder is not None else None
    if kept is not None:
        start_from_kept_parse(kept, target)
    done = dbt_fork.run(command, env, base)
    if kept is not None and done.returncode == 0:
        keep_parse(target, kept)
    return done


# dbt's unit tests check the SQL, which is the same in every build: the session's ``warehouse``
# build runs them, the other builds of a lake skip them (about 50 s each on this machine).
WITHOUT_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
# the from-scratch side of an incremental-vs-full-refresh comparison (test_incremental,
# test_incremental_identity) builds without data tests: every table of its warehouse must equal the
# incremental side's, whose build runs them on the same lake (a data test reads those tables, the
# lake's views and the seeds), so they would pass or fail there alike; about half a build's work
# (542 data tests beside 110 models)
WITHOUT_TESTS = ("--exclude-resource-type", "unit_test", "test")
FULL_REFRESH_WITHOUT_TESTS = ("--full-refresh", *WITHOUT_TESTS)
# the changed settings of the "changed settings" tests of test_events_incremental_equal and
# test_crm_incremental_equal: one --vars string for both, since dbt parses the whole project for each new
# --vars (run_dbt keeps that parse in the test run's parse cache, and the second file starts from it)
CHANGED_SETTINGS = ("--vars", "{attribution_lookback_days: 7, default_currency: USD}")


def unchanged_seeds(manifest: dict, project: Path = DBT_PROJECT) -> tuple[str, ...]:
    """What the DAG's daily build (``pipeline.duckdb_build``) leaves out of a build of ``project`` on a
    warehouse that already holds the shipped seeds (every warehouse here descends from a build of the
    repository's project): ``--exclude``, the seeds whose fingerprint (``seed_state.fingerprints``: the
    CSV and the project's YAML) is the shipped one, and the data tests that read only them
    (``seed_state.tests_of_only`` in ``manifest``, a build's manifest.json of the project). A seed that
    a project copy edits is loaded and tested; empty when every seed differs."""
    from intent_pipeline import seed_state

    shipped = seed_state.fingerprints(DBT_PROJECT)
    seeds = sorted(seed for seed, fingerprint in seed_state.fingerprints(project).items()
                   if shipped.get(seed) == fingerprint)  # fmt: skip
    return ("--exclude", *seeds, *seed_state.tests_of_only(manifest, seeds)) if seeds else ()


def build_warehouse(
    base: Path, lake: Path, *build_args: str, interval: tuple[datetime, datetime] | None = None
) -> Build:
    """One ``dbt build`` (seeds, models, tests) of ``lake`` into ``base/warehouse.duckdb``."""
    build = run_dbt(base, lake, "build", *build_args, interval=interval, artifacts=True)
    return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=lake, build=build)


@pytest.fixture(scope="session", autouse=True)
def dbt_parse_cache(tmp_path_factory) -> Iterator[Path]:
    folder = shared_folder(tmp_path_factory) / "dbt-parse"
    use_parse_cache(folder)
    # the scratch runs of intent_pipeline.pipeline.run_dbt (the matcher's benches and estimate, the
    # rules check) start from this run's parse too, never from a developer's data/state
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INTENT_DBT_PARSE_CACHE", str(folder / "target"))
        yield folder


def shares_the_parse(tmp_path_factory, monkeypatch) -> Path:
    """Point ``intent_pipeline.pipeline.run_dbt`` (the rules check, the benchmarks, the matcher's
    estimate) at the test run's parse (env ``INTENT_DBT_PARSE_CACHE``): their scratch folders are
    new each time, and each would parse the whole project again. For this test only (monkeypatch)."""
    folder = shared_folder(tmp_path_factory) / "dbt-parse"
    use_parse_cache(folder)
    monkeypatch.setenv("INTENT_DBT_PARSE_CACHE", str(folder / "target"))
    return folder


@pytest.fixture
def shared_parse(tmp_path_factory, monkeypatch) -> Path:
    return shares_the_parse(tmp_path_factory, monkeypatch)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory, dbt_parse_cache) -> Build:
    """The hand-written lake built once per test run with ``dbt build`` (dbt is slow): the first
    xdist worker that needs it builds it under a file lock, the others wait and read the same file
    (read-only connections of several processes do not block each other)."""
    base = shared_folder(tmp_path_factory) / "dbt-warehouse"
    lake = base / "lake"
    record = base / "build.json"

    def build() -> None:
        build_lake(lake)
        # every unit test but the funnel's edge cases, which run once, in ``funnel_case_run``
        done = build_warehouse(base, lake, "--exclude", f"tag:{FUNNEL_CASES_TAG}").build
        record.write_text(json.dumps({"args": done.args, "returncode": done.returncode, "stdout": done.stdout,
                                      "stderr": done.stderr}))  # fmt: skip

    made_once(base, record, build)
    saved = json.loads(record.read_text())
    done = subprocess.CompletedProcess(saved["args"], saved["returncode"], saved["stdout"], saved["stderr"])
    return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=lake, build=done)


@pytest.fixture(scope="session")
def funnel_case_run(tmp_path_factory, dbt_parse_cache) -> Path:
    """The run_results.json of the funnel's edge cases, run once per test run on a scratch warehouse
    the way ``bench/attribution.py`` runs them (``intent_pipeline.funnel_cases.run_edge_cases``)."""
    from intent_pipeline.funnel_cases import run_edge_cases

    base = shared_folder(tmp_path_factory) / "funnel-cases"

    def run() -> None:
        _seed_partial_parse(base)
        run_edge_cases(base)

    return made_once(base, base / "target" / "run_results.json", run)


def rebuilt_by_full_refresh(manifest: dict) -> set[str]:
    """The models ``--full-refresh`` builds otherwise than a plain build: incremental ones that do not
    say full_refresh false (a table or a view is rebuilt by both; a history never)."""
    return {
        node["name"] for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
        and node["config"].get("full_refresh") is not False
    }  # fmt: skip


def rebuilt_within(selection: tuple[str, ...], manifest: dict) -> tuple[str, ...]:
    """``--select`` arguments for the models of ``selection`` (dbt selectors, their union) that
    ``--full-refresh`` rebuilds (:func:`rebuilt_by_full_refresh`): each rebuilt model intersected with
    each selector, so that dbt's own selection decides which of them ``selection`` holds. What the
    from-scratch side of a comparison refreshes on a copy of the daily side (as ``DayOne.day_two``):
    every other model of ``selection`` is a table or view that each daily run rebuilds whole from the
    compared models' rows and the lake, or a history ``--full-refresh`` never rebuilds."""
    return within(selection, sorted(rebuilt_by_full_refresh(manifest)))


def within(selection: tuple[str, ...], selectors: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``--select`` arguments for each of ``selectors`` (e.g. ``+model``: a model and its parents)
    intersected with each selector of ``selection`` (their union): dbt's own selection decides which
    nodes of ``selection`` they name."""
    return ("--select", *(f"{one},{other}" for one in selection for other in selectors))


def kept_state_selection(*also: str) -> tuple[str, ...]:
    """``--select`` of the models ``--full-refresh`` rebuilds (INCREMENTAL_MODELS: the kept state the next
    day builds on) and ``also``, each with its parents: the daily runs of a file whose comparison side is
    a copy of the daily side with those models refreshed (``DayOne.day_two``, the CRM, events and sources
    equality files, tests/outside's ``Lakehouse.refreshed_copy``): a table below them is the same copy on
    both sides whether a day rebuilt it or not, so a day that rebuilt it would compare nothing more."""
    return ("--select", *(f"+{model}" for model in sorted(INCREMENTAL_MODELS)), *also)


@dataclass
class DayOne:
    """The hand-written lake's day 1 (``DAYS[0]``) built alone on an empty warehouse (a first build
    reads every partition there is), with day 2's partitions set aside in ``pending``, and the
    build's manifest (``rebuilt_by_full_refresh``). Never written to: copy it (:meth:`copy_to`)."""

    base: Path
    manifest: dict

    @property
    def lake(self) -> Path:
        return self.base / "lake"

    @property
    def pending(self) -> Path:
        """Day 2's partitions of every raw table (``<table>/dt=<day 2>``), to copy into a lake's ``raw``."""
        return self.base / "pending"

    def copy_to(self, base: Path) -> Build:
        """A private copy of the day-1 warehouse and its lake under ``base`` (day 2 not in it yet)."""
        shutil.copytree(self.lake, base / "lake")
        shutil.copyfile(self.base / WAREHOUSE_FILE, base / WAREHOUSE_FILE)
        return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=None)  # type: ignore[arg-type]

    def day_two(self, root: Path, prepare: Callable[[Path], None] | None = None) -> dict[str, Build]:
        """``incremental`` and ``from_scratch``: two copies of day 1 under ``root`` with day 2's
        partitions in their lakes (``prepare(lake)`` first, on the incremental one's only), day 2
        built once, incrementally, as the daily build runs it (:func:`unchanged_seeds` left out); the
        from-scratch side is that warehouse with the models ``--full-refresh`` rebuilds
        (:func:`rebuilt_by_full_refresh` of day 1's manifest; tables and views are rebuilt by every
        build, the histories never) refreshed on its own lake: what a full-refresh build of day 2
        makes, for one full build fewer than building day 2 twice. The callers compare the two sides' rows; each side's
        ``build`` is its dbt call (the incremental build, the refresh)."""
        builds = {name: self.copy_to(root / name) for name in ("incremental", "from_scratch")}
        if prepare is not None:
            prepare(builds["incremental"].lake)
        for build in builds.values():
            shutil.copytree(self.pending, build.lake / "raw", dirs_exist_ok=True)
        day = datetime.combine(DAYS[1], datetime.min.time())
        interval = (day, day + timedelta(days=1))
        incremental = builds["incremental"]
        done = run_dbt(incremental.base, incremental.lake, "build", *WITHOUT_UNIT_TESTS,
                       *unchanged_seeds(self.manifest), interval=interval)  # fmt: skip
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        scratch = builds["from_scratch"]
        shutil.copyfile(incremental.warehouse, scratch.warehouse)
        refreshed = run_dbt(scratch.base, scratch.lake, "run", "--full-refresh", "--select",
                            *sorted(rebuilt_by_full_refresh(self.manifest)), interval=interval)  # fmt: skip
        assert refreshed.returncode == 0, refreshed.stdout[-6000:] + refreshed.stderr[-2000:]
        incremental.build, scratch.build = done, refreshed  # their output (DayTwo.logs)
        return builds


@pytest.fixture(scope="session")
def day_one(tmp_path_factory, dbt_parse_cache) -> DayOne:
    """Day 1 of the incremental tests (test_incremental and test_incremental_identity), built once per
    test run (one full ``dbt build`` instead of one per file): the first xdist worker that needs it
    builds it under a file lock, the others wait and copy it."""
    base = shared_folder(tmp_path_factory) / "dbt-day-one"
    record = base / "day-one.json"

    def build() -> None:
        lake = base / "lake"
        shutil.rmtree(base / "lake", ignore_errors=True)  # a failed attempt's leftovers
        shutil.rmtree(base / "pending", ignore_errors=True)
        build_lake(lake)
        first, second = DAYS
        for table in SOURCE_OF:
            folder = lake / "raw" / table / f"dt={second}"
            shutil.move(folder, base / "pending" / table / folder.name)
        day = datetime.combine(first, datetime.min.time())
        done = run_dbt(base, lake, "build", *WITHOUT_UNIT_TESTS, interval=(day, day + timedelta(days=1)),
                       artifacts=True)  # fmt: skip
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        record.write_text(json.dumps({"returncode": done.returncode}))

    made_once(base, record, build)
    return DayOne(base=base, manifest=json.loads((base / "target" / "manifest.json").read_text()))


def garbage_partition(lake: Path) -> None:
    """A web_events partition of 2026-11-01, before the lookback window of any incremental day here,
    that no run may read: a run that opened it would fail (test_incremental checks both)."""
    garbage = lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}" / "part-0.parquet"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"not a parquet file: a run that reads this partition fails")


GARBAGE_DAY = date(2026, 11, 1)
DAY_TWO_SIDES = ("incremental", "from_scratch")


@dataclass
class DayTwo:
    """Day 2 of the hand-written lake built once per test run on :class:`DayOne` (``DayOne.day_two``):
    ``incremental`` built as the daily build runs it, with its data tests, a garbage partition before
    any window in its lake (:func:`garbage_partition`); ``from_scratch`` that warehouse with the models
    ``--full-refresh`` rebuilds refreshed on a lake without it. Never written to: copy it
    (:meth:`copy_to`); its warehouses may be read in place. ``logs``: each side's dbt output of day 2
    (the incremental build's, the refresh's), for the tests that read what a run printed."""

    base: Path
    manifest: dict  # day 1's build's (rebuilt_by_full_refresh)
    logs: dict[str, str] = field(default_factory=dict)

    def side(self, name: str) -> Build:
        base = self.base / name
        return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=None)  # type: ignore[arg-type]

    def copy_to(self, root: Path, sides: tuple[str, ...] = DAY_TWO_SIDES) -> dict[str, Build]:
        """Private copies of ``sides``' (default both) warehouses and lakes under ``root/<side>``, to build day 3 on."""
        builds = {}
        for name in sides:
            side, base = self.side(name), root / name
            shutil.copytree(side.lake, base / "lake")
            shutil.copyfile(side.warehouse, base / WAREHOUSE_FILE)
            builds[name] = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=None)  # type: ignore[arg-type]
        return builds


@pytest.fixture(scope="session")
def day_two(tmp_path_factory, day_one) -> DayTwo:
    """Day 2 of test_incremental, test_incremental_identity, test_incremental_sources and
    test_identity_incremental_equal, which all start their next day from it: built once per test run
    (one incremental ``dbt build`` with its data tests and one refresh of the incremental models,
    instead of one of each per file), by the first xdist worker that needs it under a file lock; the
    others wait and copy it. The garbage partition is test_incremental's (days 2 and 3 are built
    without opening it: ``day_three`` keeps it in its incremental lake); the files that erase from
    every partition or refresh the incremental lake (test_identity_incremental_equal,
    test_events_incremental_equal, test_crm_incremental_equal) remove it from their copy."""
    base = shared_folder(tmp_path_factory) / "dbt-day-two"
    record = base / "day-two.json"

    def build() -> None:
        for name in DAY_TWO_SIDES:
            shutil.rmtree(base / name, ignore_errors=True)  # a failed attempt's leftovers
        builds = day_one.day_two(base, prepare=garbage_partition)
        logs = {name: builds[name].build.stdout for name in DAY_TWO_SIDES}
        record.write_text(json.dumps({"sides": list(DAY_TWO_SIDES), "logs": logs}))

    made_once(base, record, build)
    return DayTwo(base=base, manifest=day_one.manifest, logs=json.loads(record.read_text())["logs"])


# the shared day 3 (DayThree): one day after day_two whose window still holds day 2
DAY_THREE = (datetime(2026, 11, 22), datetime(2026, 11, 23))


@dataclass
class DayThree:
    """Day 3 (DAY_THREE) of the hand-written lake built once per test run on copies of both sides of
    :class:`DayTwo` (``day_three``), for the four files that need the same kind of next day:
    test_incremental (two late page views, one inside the lookback and one outside it; the garbage
    partition of ``day_two``'s incremental lake, kept there, never opened), test_incremental_identity
    (a merge across days: Carol's form from ``bob.device``; a late page view),
    test_scoring_incremental_equal (a late open for silent Henry; the seed scoring_rules edited) and
    test_identity_incremental_equal (Dave's typo'd mailbox, a probabilistic match). Each file's
    ``day3_rows()`` says which rows it brings (the partitions hold all of them). Before the build
    **Erin is erased** on both sides as ``intent_pipeline.privacy.erase`` does it (every lake partition
    and every warehouse table). ``incremental``: the daily ``dbt build`` (data tests, no unit tests;
    the seeds but the edited scoring_rules left out with their tests, :func:`unchanged_seeds`);
    ``from_scratch``: ``dbt build --full-refresh`` without tests (FULL_REFRESH_WITHOUT_TESTS says
    why). Both run on a copy of the dbt project whose scoring_rules.csv is the scoring file's edit
    (:meth:`project_copy`). Never written to: read in place or copy (:meth:`copy_to`). ``facts``: per
    side, what the erasure found (``erased``, ``lake_rows``, ``deleted``) and the build's output
    (``log``)."""

    base: Path
    facts: dict[str, dict]

    def side(self, name: str) -> Build:
        base = self.base / name
        return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=None)  # type: ignore[arg-type]

    @staticmethod
    def project_copy(base: Path) -> Path:
        """A copy of the dbt project as day 3 built it: the shipped decisions, the edited scoring rules."""
        from tests.dbt.test_identity_decisions import HEADER, project_copy
        from tests.dbt.test_scoring_incremental_equal import edited_rules

        project = project_copy(base, HEADER)
        (project / "seeds" / "scoring_rules.csv").write_text(edited_rules(), encoding="utf-8")
        return project

    def copy_to(self, root: Path, sides: tuple[str, ...] = DAY_TWO_SIDES) -> dict[str, Build]:
        """Private copies of ``sides`` (default both: warehouse, lake and the side's saved parse of the
        project copy, so that a copy's first run re-parses nothing) under ``root/<side>``, to build
        further days on."""
        builds = {}
        for name in sides:
            side, base = self.side(name), root / name
            shutil.copytree(side.lake, base / "lake")
            shutil.copyfile(side.warehouse, base / WAREHOUSE_FILE)
            (base / "target").mkdir(parents=True)
            shutil.copyfile(side.base / "target" / "partial_parse.msgpack", base / "target" / "partial_parse.msgpack")
            builds[name] = Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=None)  # type: ignore[arg-type]
        return builds


def day_three_rows() -> dict[str, list[dict]]:
    """Day 3's raw rows per table: each participating file's ``day3_rows()``, in one partition per table."""
    from tests.dbt import (
        test_identity_incremental_equal,
        test_incremental,
        test_incremental_identity,
        test_scoring_incremental_equal,
    )

    rows: dict[str, list[dict]] = {}
    for module in (test_incremental, test_incremental_identity, test_scoring_incremental_equal,
                   test_identity_incremental_equal):  # fmt: skip
        for table, table_rows in module.day3_rows().items():
            rows.setdefault(table, []).extend(table_rows)
    return rows


@pytest.fixture(scope="session")
def day_three(tmp_path_factory, day_two) -> DayThree:
    """The shared day 3 (:class:`DayThree`), built once per test run by the first xdist worker that
    needs it under a file lock; the others wait and read it."""
    from intent_pipeline.privacy.erase import warehouse_rows

    from tests.dbt.test_incremental_identity import erase_from_lake, erin_values

    base = shared_folder(tmp_path_factory) / "dbt-day-three"
    record = base / "day-three.json"

    def build() -> None:
        for name in DAY_TWO_SIDES:
            shutil.rmtree(base / name, ignore_errors=True)  # a failed attempt's leftovers
        facts: dict[str, dict] = {}
        for name, side in day_two.copy_to(base).items():
            project = DayThree.project_copy(side.base)
            for table, rows in day_three_rows().items():
                write_partition(side.lake, table, DAY_THREE[0].date(), rows)
            erased = erin_values(side)
            # test_incremental's garbage partition (the incremental lake's) stays in the lake, so that
            # day 3 too is built without opening it; it is no export and holds no one, so the erasure
            # (which rewrites every partition, as erase.rewrite_partition does) leaves it aside
            garbage = side.lake / "raw" / "web_events" / f"dt={GARBAGE_DAY}"
            if garbage.is_dir():
                shutil.move(garbage, side.base / "garbage-aside")
            lake_rows = erase_from_lake(side.lake, erased)
            if (side.base / "garbage-aside").is_dir():
                shutil.move(side.base / "garbage-aside", garbage)
            deleted = warehouse_rows(side.warehouse, erased, apply=True)
            daily = (*WITHOUT_UNIT_TESTS, *unchanged_seeds(day_two.manifest, project))  # the edited rules load
            args = ("build", *(FULL_REFRESH_WITHOUT_TESTS if name == "from_scratch" else daily))
            done = run_project(project, side.base, side.lake, *args, interval=DAY_THREE)
            assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
            facts[name] = {"erased": sorted(erased), "lake_rows": lake_rows, "deleted": deleted, "log": done.stdout}
        record.write_text(json.dumps(facts))

    made_once(base, record, build)
    return DayThree(base=base, facts=json.loads(record.read_text()))


# the day 2 of test_identity_stability and test_operations_marts (the session warehouse is day 1)
MERGE_DAY = (datetime(2026, 11, 22), datetime(2026, 11, 23))


def extract_manifest(source: str, day: date, tables: dict[str, tuple[int, int, int, int]]) -> dict:
    """A manifest as the extract writes it (sources/__init__.py): per file and per table, from
    ``tables``: table -> (read, loaded, quarantined, suppressed)."""
    files = [
        {"path": f"{source}/dt={day}/{table}.csv", "table": table, "read": read, "loaded": loaded,
         "quarantined": quarantined, "error": None}
        for table, (read, loaded, quarantined, _) in tables.items()
    ]  # fmt: skip
    counts = {}
    for table, (read, loaded, quarantined, suppressed) in tables.items():
        counts[table] = {"read": read, "loaded": loaded, "quarantined": quarantined}
        if suppressed:
            counts[table]["suppressed"] = suppressed
    return {"source": source, "interval_start": day.isoformat(), "batch_id": f"test/{source}/{day}",
            "loaded_at": f"{day} 01:00:00", "files": files, "tables": counts, "file_errors": [],
            "warnings": []}  # fmt: skip


def merge_day_partitions(lake: Path) -> None:
    """MERGE_DAY's raw data: a form that links alice's CRM email with frank's phone (a merge of two
    known people), two strangers on erin's browser (a kiosk, cut by the hub limit), and extract
    manifests written by the lake's own writer (one with a quarantined row, one with a suppressed row;
    only ``quarantine_daily`` reads them)."""
    from intent_pipeline import lake as raw_lake

    day = MERGE_DAY[0].date()
    write_partition(lake, "forms_submissions", day, [
        form("f-merge", "2026-11-22 03:00:00", "Contact Us", "alice@gmail.com", "+8613755512345"),
        form("f-kiosk-1", "2026-11-22 04:00:00", "Brochure", "xia@visitor.cn", None, client_id="erin.device"),
        form("f-kiosk-2", "2026-11-22 04:10:00", "Brochure", "yang@visitor.cn", None, client_id="erin.device"),
    ])  # fmt: skip
    raw_lake.write_manifest(lake, "forms", day, extract_manifest("forms", day, {"forms_submissions": (4, 3, 1, 0)}))
    raw_lake.write_manifest(lake, "crm", day, extract_manifest("crm", day, {
        "crm_leads": (5, 4, 0, 1), "crm_orders": (0, 0, 0, 0)}))  # fmt: skip


@pytest.fixture(scope="session")
def merge_day(tmp_path_factory, warehouse) -> Build:
    """MERGE_DAY (:func:`merge_day_partitions`) built once per test run on a copy of the session
    warehouse, as the daily build runs it: one whole ``dbt build`` (every model and data test, no unit
    tests: the session build ran them; the unchanged seeds and the tests that read only them left
    out, as ``pipeline.duckdb_build`` leaves them: :func:`unchanged_seeds`). test_identity_stability
    and test_operations_marts read it and re-run the interval on copies of their own
    (:func:`copy_of`); never written to."""
    assert warehouse.build.returncode == 0, warehouse.output
    base = shared_folder(tmp_path_factory) / "dbt-merge-day"
    record = base / "build.json"

    def build() -> None:
        shutil.rmtree(base / "lake", ignore_errors=True)  # a failed attempt's leftovers
        day1 = copy_of(warehouse, base)
        merge_day_partitions(day1.lake)
        manifest = json.loads((warehouse.base / "target" / "manifest.json").read_text())
        # no JSON artifacts
        done = run_dbt(base, day1.lake, "build", *WITHOUT_UNIT_TESTS, *unchanged_seeds(manifest), interval=MERGE_DAY)
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        record.write_text(json.dumps({"args": done.args, "returncode": done.returncode, "stdout": done.stdout,
                                      "stderr": done.stderr}))  # fmt: skip

    made_once(base, record, build)
    saved = json.loads(record.read_text())
    done = subprocess.CompletedProcess(saved["args"], saved["returncode"], saved["stdout"], saved["stderr"])
    return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=done)


def write_manifests(lake) -> int:
    """Extract manifests (the extract's own format, sources/__init__.py) for every raw partition of
    the lake: its rows loaded, and for the forms one more row read and quarantined, one file failed."""
    import pyarrow.parquet as pq
    from intent_pipeline.lake import TABLE_COLUMNS, write_manifest

    written = 0
    for day in sorted({p.name.removeprefix("dt=") for p in (lake / "raw").glob("*/dt=*")}):
        for source in ("forms", "email", "web", "crm"):
            tables, files = {}, []
            for table in (t for t in TABLE_COLUMNS if t.startswith(source + "_")):
                partition = lake / "raw" / table / f"dt={day}"
                loaded = sum(pq.read_metadata(f).num_rows for f in partition.glob("*.parquet"))
                quarantined = 1 if source == "forms" else 0
                tables[table] = {"read": loaded + quarantined, "loaded": loaded, "quarantined": quarantined}
                files.append({"path": f"{source}/dt={day}/{table}.csv", "table": table, **tables[table], "error": None})
            if source == "forms":
                files.append({"path": f"{source}/dt={day}/broken.xlsx", "table": None, "read": 0, "loaded": 0,
                              "quarantined": 0, "error": "not an xlsx file"})  # fmt: skip
            write_manifest(lake, source, day, {
                "source": source, "interval_start": day, "batch_id": f"{source}-{day}",
                "loaded_at": f"{day} 06:00:00.123456", "files": files, "tables": tables, "file_errors": [],
                "warnings": [],
            })  # fmt: skip
            written += 1
    return written


def copy_of(build: Build, base: Path) -> Build:
    """A private copy of a built warehouse and its lake (to build further days on)."""
    shutil.copytree(build.lake, base / "lake")
    shutil.copyfile(build.warehouse, base / WAREHOUSE_FILE)
    return Build(base=base, warehouse=base / WAREHOUSE_FILE, lake=base / "lake", build=build.build)
