"""The whole DAG through real Airflow 3 (SQLite metadata), real dbt on DuckDB, real GX.

One generated workload, several runs of the same interval:
1. the first run succeeds, accounts for every row, quarantines the planted bad rows and
   writes the outbox (no connection configured);
2. a re-run of the same interval changes nothing and sends nothing;
3. with a HubSpot connection pointing at a local server that speaks HubSpot's contract,
   the segment is upserted in several batches with a 429 and a 207 among them: everyone
   arrives once, the ledger agrees, and a second run sends the refused person only
   (activation only: the tasks before it are marked done, the marts are the first run's);
4. a planted mart violation stops the run at validate_marts: activation does not run;
5. a planted raw violation stops the run at validate_raw: dbt does not run.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from intent_pipeline.activation.escape import markdown_text

from tests.airflow_home import airflow_metadata, install_metadata, seed_dbt_parse
from tests.shared import shared_folder

ROOT = Path(__file__).resolve().parents[1]
INTERVAL = "2026-11-21"
LOGICAL_DATE = "2026-11-22"  # a manual run with logical date D covers [D - 1 day, D)
PEOPLE = 400
# Runs that test activation on the marts the first run built: everything before it is marked done.
ACTIVATION_ONLY = ("--mark-success-pattern", "^(extract_.*|validate_raw|dbt_build|validate_marts)$")
# What a test may set for one run only (the driver resets them before each run).
DRIVER_ENV = ("AIRFLOW_CONN_HUBSPOT_DEFAULT", "AIRFLOW_CONN_DINGTALK_DEFAULT")

pytestmark = pytest.mark.slow


class Pipeline:
    """A project installation in a temporary folder, driven through the airflow CLI (the DAG runs
    through one long-lived CLI process, tests/airflow_driver.py: the same code path, imports paid once)."""

    def __init__(self, base: Path):
        self.home = base / "home"
        self.data = self.home / "data"
        bin_dir = str(Path(sys.executable).parent)
        self.env = {
            **os.environ,
            "AIRFLOW_HOME": str(base / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "PYTHONPATH": str(ROOT / "plugins"),
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
            "INTENT_HOME": str(self.home),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        for name in ("INTENT_LANDING_URL", "INTENT_LAKE_DIR", "INTENT_WAREHOUSE", "INTENT_STATE_DIR",
                     "INTENT_OUTBOX_DIR", "INTENT_REPORTS_DIR", "AIRFLOW_CONN_HUBSPOT_DEFAULT",
                     "AIRFLOW_CONN_DINGTALK_DEFAULT"):  # fmt: skip
            self.env.pop(name, None)
        self.runs = 0
        self.driver: subprocess.Popen | None = None

    def cli(self, *args: str, extra_env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        env = {**self.env, **(extra_env or {})}
        done = subprocess.run(list(args), env=env, capture_output=True, text=True, cwd=ROOT)
        if check and done.returncode != 0:
            output = f"{done.stdout[-6000:]}\n{done.stderr[-6000:]}"
            raise AssertionError(f"{' '.join(args)} failed ({done.returncode}):\n{output}")
        return done

    def airflow(self, *args: str, log: Path, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        """``airflow <args>`` in the driver process; its output (and the task logs) in ``log``."""
        if self.driver is None:
            self.driver = subprocess.Popen([sys.executable, "-m", "tests.airflow_driver"], env=self.env, cwd=ROOT,
                                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert self.driver.stdin is not None and self.driver.stdout is not None
        request = {"args": list(args), "env": {name: None for name in DRIVER_ENV} | (extra_env or {}), "log": str(log)}
        self.driver.stdin.write(json.dumps(request) + "\n")
        self.driver.stdin.flush()
        answer = self.driver.stdout.readline()
        assert answer, f"the airflow driver died; its output is in {log}"
        output = log.read_text()
        return subprocess.CompletedProcess(["airflow", *args], json.loads(answer)["returncode"], output, "")

    def close(self) -> None:
        if self.driver is not None:
            assert self.driver.stdin is not None
            self.driver.stdin.close()
            self.driver.wait(timeout=60)

    def run_dag(self, *extra: str, extra_env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        self.runs += 1
        log = self.data / f"dag-run-{self.runs}.log"
        done = self.airflow("dags", "test", "customer_intent", LOGICAL_DATE, *extra, log=log, extra_env=extra_env)
        if check and done.returncode != 0:
            raise AssertionError(f"DAG run {self.runs} failed; log: {self.data}/dag-run-{self.runs}.log\n"
                                 f"{(done.stdout + done.stderr)[-8000:]}")  # fmt: skip
        return done

    def query(self, sql: str):
        import duckdb

        con = duckdb.connect(str(self.data / "warehouse.duckdb"), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def raw_counts(self) -> dict[str, int]:
        import duckdb

        counts = {}
        for table_dir in sorted((self.data / "lake" / "raw").iterdir()):
            files = str(table_dir / "dt=*" / "*.parquet")
            counts[table_dir.name] = duckdb.sql(f"select count(*) from read_parquet('{files}')").fetchall()[0][0]
        return counts

    def activation_report(self) -> dict:
        return json.loads((self.data / "reports" / "activation" / f"dt={INTERVAL}.json").read_text())["destinations"]

    def outbox_files(self) -> dict[str, float]:
        outbox = self.data / "outbox"
        if not outbox.exists():
            return {}
        return {str(p.relative_to(outbox)): p.stat().st_mtime for p in outbox.rglob("*.json")}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory) -> Iterator[Pipeline]:
    p = Pipeline(tmp_path_factory.mktemp("e2e"))
    p.cli(sys.executable, "-m", "intent_pipeline", "synth", "--people", str(PEOPLE), "--date", INTERVAL,
          "--landing", str(p.data / "landing"), "--truth", str(p.data / "ground_truth"))  # fmt: skip
    # One extra corrupted GA4 line, to follow it into quarantine.
    web_file = sorted((p.data / "landing" / "web" / f"dt={INTERVAL}").glob("*.jsonl"))[0]
    lines_before = sum(1 for _ in web_file.open(encoding="utf-8"))
    with web_file.open("a", encoding="utf-8") as f:
        f.write('{"event_name": "page_view", "event_timestamp": \n')
    p.corrupt_line = (web_file.name, lines_before + 1)
    # the test run's migrated metadata DB and dbt's parse of the project (tests/airflow_home.py):
    # the first run's build re-parses only what reads this installation's lake and interval
    install_metadata(airflow_metadata(tmp_path_factory), Path(p.env["AIRFLOW_HOME"]))
    seed_dbt_parse(shared_folder(tmp_path_factory), p.home)
    yield p
    p.close()


@pytest.fixture(scope="module")
def first_run(pipeline):
    pipeline.run_dag()
    return {
        "raw": pipeline.raw_counts(),
        "report": pipeline.activation_report(),
        "outbox": pipeline.outbox_files(),
    }


def test_first_run_accounts_for_every_row(pipeline, first_run):
    for source in ("forms", "email", "web", "crm"):
        manifest = json.loads((pipeline.data / "lake" / "manifests" / source / f"dt={INTERVAL}.json").read_text())
        for table, c in manifest["tables"].items():
            assert c["read"] == c["loaded"] + c["quarantined"], (source, table, c)
            assert c["loaded"] == first_run["raw"][table], (table, c, first_run["raw"])
        assert sum(c["read"] for c in manifest["tables"].values()) > 0, source
    web = json.loads((pipeline.data / "lake" / "manifests" / "web" / f"dt={INTERVAL}.json").read_text())
    assert web["tables"]["web_events"]["quarantined"] >= 1


def test_corrupted_row_is_in_quarantine_and_the_run_went_on(pipeline, first_run):
    import duckdb

    path = pipeline.data / "lake" / "quarantine" / "web_events" / f"dt={INTERVAL}" / "*.parquet"
    rows = duckdb.sql(f"select _source_file, _row_number, reason, raw_content from read_parquet('{path}')").fetchall()
    file_name, line = pipeline.corrupt_line
    hits = [r for r in rows if r[0].endswith(file_name) and r[1] == line]
    assert len(hits) == 1, rows[:5]
    assert hits[0][2], "quarantined row without a reason"
    assert '"event_timestamp"' in hits[0][3]
    assert pipeline.query("select count(*) from marts.people")[0][0] > 0


def test_marts_hold_people_scores_and_segment(pipeline, first_run):
    people = pipeline.query("select count(*), count(distinct person_id) from marts.people")[0]
    assert people[0] == people[1] > PEOPLE * 0.5
    grades = dict(pipeline.query("select grade, count(*) from marts.lead_scores group by 1"))
    assert set(grades) <= {"high_intent", "potential", "nurture"}
    assert grades.get("high_intent", 0) > 0 and grades.get("nurture", 0) > 0
    segment = pipeline.query("select count(*), min(lead_score) from marts.segment_high_intent")[0]
    assert segment[0] > 0 and segment[1] >= 60
    funnel = pipeline.query(
        "select stage, people from marts.funnel_conversion where breakdown = 'overall' order by stage_order"
    )
    assert funnel[0][1] >= funnel[-1][1]
    summary = json.loads((pipeline.data / "reports" / "runs" / f"dt={INTERVAL}.json").read_text())
    assert summary["warehouse"]["people"] == people[0]
    # the scheduled build runs the data tests, not dbt's unit tests (tests/dbt runs those)
    results = json.loads((pipeline.data / "state" / "dbt" / "target" / "run_results.json").read_text())["results"]
    kinds = {r["unique_id"].split(".")[0] for r in results}
    assert "test" in kinds and "model" in kinds and "unit_test" not in kinds
    assert summary["quality"] == {"raw": True, "marts": True}


def test_first_run_writes_the_outbox(pipeline, first_run):
    report = first_run["report"]
    hubspot = report["hubspot"]
    assert hubspot["mode"] == "outbox"
    segment_size = pipeline.query("select count(*) from marts.segment_high_intent")[0][0]
    assert hubspot["planned"] == segment_size
    assert hubspot["sent_ok"] + hubspot["invalid"] == segment_size
    files = [f for f in first_run["outbox"] if f.startswith("hubspot/")]
    batches = [json.loads((pipeline.data / "outbox" / f).read_text()) for f in files]
    assert sum(len(b["inputs"]) for b in batches) == hubspot["sent_ok"]
    assert all(len(b["inputs"]) <= 100 for b in batches)
    assert len(batches) == math.ceil(hubspot["sent_ok"] / 100)
    # chat: each newly hot lead and each new stall (not a behaviour stall of an unsubscribed person)
    newly_hot, new_stalls = pipeline.query(
        "select (select count(*) from marts.segment_high_intent where became_hot_in_interval),"
        " (select count(*) from marts.segment_funnel_stalls where became_stalled_in_interval"
        "  and (opportunity_id is not null or not coalesce(is_unsubscribed, false)))"
    )[0]
    assert report["dingtalk"]["planned"] == report["dingtalk"]["sent_ok"] == newly_hot + new_stalls > 0
    summary = json.loads((pipeline.data / "reports" / "runs" / f"dt={INTERVAL}.json").read_text())
    assert summary["warehouse"]["newly_stalled"] >= new_stalls
    # one owner truth (issue 21): chat and HubSpot name lead_assignments' owner for every alerted lead
    alerted = pipeline.query(
        "select s.person_id, s.email, a.owner from marts.segment_high_intent s"
        " join marts.lead_assignments a using (person_id) where s.became_hot_in_interval"
    )
    assert len(alerted) == newly_hot, "every newly hot lead has an assignment"
    assert chat_owners(pipeline) == Counter(markdown_text(owner) for _, _, owner in alerted)
    pushed = {i["properties"]["intent_person_id"]: i["properties"] for b in batches for i in b["inputs"]}
    checked = [(person_id, owner, pushed[person_id]) for person_id, _, owner in alerted if person_id in pushed]
    assert len(checked) >= len(alerted) - hubspot["invalid"] > 0  # an invalid row is not pushed
    for person_id, owner, properties in checked:
        assert owner in (properties.get("intent_owner"), properties.get("hubspot_owner_id")), (person_id, properties)


def chat_owners(pipeline) -> Counter:
    """The owner DingTalk's outbox names for each newly hot lead: a message's owner line, or each
    line of a digest (the owner's @mention left out)."""
    found: Counter = Counter()
    for path in sorted((pipeline.data / "outbox" / "dingtalk").rglob("*.json")):
        text = json.loads(path.read_text(encoding="utf-8"))["markdown"]["text"]
        if "新的高意向线索" not in text:
            continue  # a stall's alert or digest
        for owner in re.findall(r"负责人：([^\n｜]*)", text):
            found[re.sub(r" @\d+$", "", owner.strip())] += 1
    return found


def test_rerun_of_the_same_interval_changes_nothing_and_sends_nothing(pipeline, first_run):
    pipeline.run_dag()
    assert pipeline.raw_counts() == first_run["raw"]
    assert pipeline.outbox_files() == first_run["outbox"]
    for destination, counts in pipeline.activation_report().items():
        assert counts["sent_ok"] == 0, (destination, counts)
        assert counts["unchanged"] + counts["invalid"] == counts["planned"], (destination, counts)


def test_hubspot_over_http_in_several_batches_then_only_the_refused_person_on_rerun(pipeline, first_run):
    """The DAG's activate task with a HubSpot connection whose ``batch_size`` makes the segment span
    three batches or more, the second request throttled (429, Retry-After) and one person refused per
    record (207): everyone the outbox run pushed arrives exactly once, the ledger agrees person by
    person, and the next run sends the refused one only. (HubSpot's own limit of 100 with a 250-row
    segment: tests/activation/test_hubspot.py.)"""
    from intent_pipeline.activation import HubSpotConfig, ledger_name
    from intent_pipeline.activation.ledger import Ledger

    from tests.fakes.hubspot import FakeHubSpot

    files = [f for f in first_run["outbox"] if f.startswith("hubspot/")]
    outbox = [json.loads((pipeline.data / "outbox" / f).read_text()) for f in files]
    expected = [i["id"] for batch in outbox for i in batch["inputs"]]  # what the first run would have sent
    assert len(expected) >= 3, "the sample's segment is too small to span several batches"
    batch_size = math.ceil(len(expected) / 3)
    refused = expected[len(expected) // 2]  # a person of the middle batch
    with FakeHubSpot(token="pat-e2e") as server:
        server.answer_request(2, 429, headers={"Retry-After": "1"})
        server.reject(refused, "Property values were not valid: phone is invalid", mode="207")
        extra = {"batch_size": batch_size}
        conn = json.dumps({"conn_type": "http", "host": server.url, "password": "pat-e2e", "extra": extra})
        env = {"AIRFLOW_CONN_HUBSPOT_DEFAULT": conn}
        # The marts are the first run's (the re-run above proved extract and dbt change nothing).
        pipeline.run_dag(*ACTIVATION_ONLY, extra_env=env)
        report = pipeline.activation_report()["hubspot"]
        assert report["mode"] == "http"
        requests = server.requests
        assert max(len(r["body"]["inputs"]) for r in requests) <= batch_size
        assert Counter(r["status"] for r in requests) == Counter({200: len(requests) - 2, 207: 1, 429: 1})
        assert len(requests) == math.ceil(len(expected) / batch_size) + 1 >= 4  # the throttled batch once more
        answered = Counter(server.upserted_ids)  # every input of every request answered 200 or 207
        assert sorted(answered) == sorted(expected) and set(answered.values()) == {1}
        assert set(server.contacts) == set(expected) - {refused}
        assert report["sent_ok"] == len(expected) - 1 and report["rejected"] == 1
        destination = ledger_name("hubspot", HubSpotConfig(base_url=server.url, token="pat-e2e"))
        with Ledger(pipeline.data / "state" / "activation_ledger.sqlite") as ledger:
            entries = ledger.entries(destination)
        assert {key for key, entry in entries.items() if entry.acknowledged} == set(server.contacts)
        assert entries[refused].status == "rejected"

        server.accept(refused)
        server.clear_requests()
        pipeline.run_dag(*ACTIVATION_ONLY, extra_env=env)
        assert server.upserted_ids == [refused], "the second run sent more than the refused person"
        rerun = pipeline.activation_report()["hubspot"]
        assert rerun["sent_ok"] == 1 and rerun["unchanged"] == len(expected) - 1


def test_planted_mart_violation_blocks_activation(pipeline, first_run):
    import duckdb

    con = duckdb.connect(str(pipeline.data / "warehouse.duckdb"))
    con.execute("insert into marts.segment_high_intent select * from marts.segment_high_intent limit 1")
    con.close()
    report_file = pipeline.data / "reports" / "activation" / f"dt={INTERVAL}.json"
    report_before = report_file.stat().st_mtime
    outbox_before = pipeline.outbox_files()
    # Skip re-extracting and rebuilding (dbt would repair the marts): validate the planted marts.
    done = pipeline.run_dag("--mark-success-pattern", "^(extract_.*|validate_raw|dbt_build)$", check=False)
    assert done.returncode != 0
    log = done.stdout + done.stderr
    assert "quality gate 'marts' failed" in log
    assert "segment_high_intent" in log
    assert report_file.stat().st_mtime == report_before, "activation ran despite the failed gate"
    assert pipeline.outbox_files() == outbox_before


def test_planted_raw_violation_stops_the_run_before_dbt(pipeline, first_run):
    import pyarrow as pa
    import pyarrow.parquet as pq

    partition = pipeline.data / "lake" / "raw" / "email_events" / f"dt={INTERVAL}"
    part = sorted(partition.glob("*.parquet"))[0]
    table = pq.read_table(part)
    ids = table.column("sg_event_id").to_pylist()
    ids[0] = None
    column = table.schema.get_field_index("sg_event_id")
    pq.write_table(table.set_column(column, "sg_event_id", pa.array(ids, type=table.schema.field(column).type)), part)
    warehouse = pipeline.data / "warehouse.duckdb"
    warehouse_before = warehouse.stat().st_mtime_ns
    # Skip re-extracting (it would replace the planted partition): validate the planted raw lake.
    done = pipeline.run_dag("--mark-success-pattern", "^extract_.*$", check=False)
    assert done.returncode != 0
    log = done.stdout + done.stderr
    assert "quality gate 'raw' failed" in log
    assert "expect_column_values_to_not_be_null on sg_event_id" in log
    assert warehouse.stat().st_mtime_ns == warehouse_before, "dbt ran despite the failed raw gate"


def test_refused_hubspot_token_fails_activation_without_retrying(pipeline, first_run):
    from tests.fakes.hubspot import FakeHubSpot

    canary = "pat-canary-7f3a9c"  # the wrong token, searched for afterwards in every file of the installation
    with FakeHubSpot(token="pat-right") as server:
        conn = json.dumps({"conn_type": "http", "host": server.url, "password": canary})
        # Skip extract/validate/build (unchanged since the first run): activation is under test.
        done = pipeline.run_dag(*ACTIVATION_ONLY, extra_env={"AIRFLOW_CONN_HUBSPOT_DEFAULT": conn}, check=False)
        refused_requests = len(server.requests)
    assert done.returncode != 0
    log = done.stdout + done.stderr
    assert "activation refused" in log and "401" in log
    # One attempt: a retried task would have called the server again after its retry delay.
    assert refused_requests == 1
    assert log.count("activation refused") <= 2  # logged once by the task (and echoed once by the CLI at most)
    # The secret reached no task log, run log, ledger, report or outbox file (Airflow's own logs included).
    leaks = [str(path) for root in (pipeline.home, pipeline.env["AIRFLOW_HOME"]) for path in Path(root).rglob("*")
             if path.is_file() and canary.encode() in path.read_bytes()]  # fmt: skip
    assert leaks == []
    assert canary not in log
