"""Every extractor survives any bytes (issue 14, item 1): property tests with Hypothesis.

Each example drops one hostile file (a valid seed export truncated, flipped, re-encoded, padded with a
huge field, nested 100,000 deep, filled with odd JSON types, or plain noise) beside a good file and runs
the real extract into a real lake. Whatever the bytes, the extract must not raise, every row read is
loaded or quarantined (in the manifest and in the Parquet files), every quarantined row has a reason,
every file-level problem names the file, and the good file loads in full.

Deterministic (``derandomize=True``, no example database) and small (CPU is shared): a few seconds each.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intent_pipeline import lake
from intent_pipeline.settings import Settings

from tests.sources.helpers import DS, assert_accounting, drop_dir, extract
from tests.sources.hostile import SOURCES, good_file, hostile_case, mutations_for, seeds

PROPERTY = settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@st.composite
def hostile_files(draw, source: str) -> tuple[str, bytes]:
    seed_name = draw(st.sampled_from(sorted(seeds(source))))
    mutations = draw(st.lists(st.sampled_from(mutations_for(source)), min_size=1, max_size=3))
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))
    return hostile_case(source, rnd, seed_name, mutations)


def check_extract(source: str, name: str, data: bytes) -> dict:
    """Run the extract on the hostile file plus a good one and assert the invariants; returns the manifest."""
    with tempfile.TemporaryDirectory() as home:
        settings = Settings.from_env({"INTENT_HOME": home})
        folder = drop_dir(settings, source)
        (folder / name).write_bytes(data)
        good_name, good_data, good_rows = good_file(source)
        (folder / good_name).write_bytes(good_data)

        manifest = extract(source, settings)  # must not raise, whatever the bytes

        assert_accounting(manifest)
        entries = {e["path"].rsplit("/", 1)[-1]: e for e in manifest["files"]}
        assert entries[good_name]["loaded"] == good_rows, entries[good_name]
        hostile = entries[name]
        if hostile["error"]:
            assert f"{source}/dt={DS}/{name}" in hostile["error"], hostile["error"]
        for error in manifest["file_errors"]:
            assert f"{source}/dt={DS}/" in error, error
            # the extract's net for a parser that raised: every kind of bad input has a reason of its own
            assert not error.startswith("cannot parse"), error
        for table, counts in manifest["tables"].items():
            raw = lake.read_partition(settings.lake_dir, "raw", table, manifest["interval_start"]).to_pylist()
            quarantined = lake.read_partition(settings.lake_dir, "quarantine", table, manifest["interval_start"])
            quarantined = quarantined.to_pylist()
            assert (len(raw), len(quarantined)) == (counts["loaded"], counts["quarantined"]), (table, counts)
            for row in quarantined:
                assert row["reason"] and row["reason"].strip(), row
                if row["_row_number"] == 0:  # a file-level rejection names the file
                    assert row["_source_file"].rsplit("/", 1)[-1] in row["reason"], row
            per_file = Counter(r["_source_file"] for r in raw) + Counter(r["_source_file"] for r in quarantined)
            for entry in (e for e in manifest["files"] if e["table"] == table):
                assert per_file[entry["path"]] == entry["read"], (entry, per_file)
        return manifest


@pytest.mark.parametrize("source", SOURCES)
def test_every_seed_loads_in_full(source):
    # The seeds are valid exports: the property tests below start from files that load without a rejection.
    for name, data in seeds(source).items():
        manifest = check_extract(source, name, data)
        entry = next(e for e in manifest["files"] if e["path"].endswith("/" + name))
        assert (entry["read"], entry["loaded"], entry["error"]) == (3, 3, None), entry


@PROPERTY
@given(case=hostile_files("forms"))
def test_forms_extract_survives_any_bytes(case):
    check_extract("forms", *case)


@PROPERTY
@given(case=hostile_files("email"))
def test_email_extract_survives_any_bytes(case):
    check_extract("email", *case)


@PROPERTY
@given(case=hostile_files("web"))
def test_web_extract_survives_any_bytes(case):
    check_extract("web", *case)


@PROPERTY
@given(case=hostile_files("crm"))
def test_crm_extract_survives_any_bytes(case):
    check_extract("crm", *case)


@pytest.mark.parametrize("source", SOURCES)
@settings(max_examples=15, derandomize=True, database=None, deadline=None)
@given(data=st.binary(max_size=3000))
def test_random_bytes_under_every_file_name(source, data):
    for name in seeds(source):
        check_extract(source, name, data)


# The crashes issue 14 lists, each as a fixed case (Hypothesis may or may not draw them).
ISSUE_CASES = {
    "forms": [
        ("empty.csv", b""),
        ("blank_lines.csv", b"\r\n\r\n\n"),
        ("header_only.csv", "序号,表单名称,姓名,手机号,邮箱,提交时间\r\n".encode()),
    ],
    "email": [
        (
            "surrogate.json",
            b'[{"email": "a@example.com", "timestamp": 1763712000, "event": "open", "sg_event_id": "x\\ud83d"}]',
        ),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000),
        ("deep_event.json", b'[{"event": ' + b'{"a":' * 990 + b"1" + b"}" * 990 + b"}]"),
    ],
    "web": [
        (
            "surrogate.jsonl",
            b'{"event_timestamp": 1763712000000000, "event_name": "page_view", "user_pseudo_id": "u\\ud83d"}\n',
        ),
        (
            "big_int.jsonl",
            b'{"event_timestamp": 1763712000000000, "event_name": "page_view", "user_pseudo_id": "u", '
            b'"event_params": [{"key": "ga_session_id", "value": {"int_value": %d}}]}' % 2**70,
        ),
        ("deep.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n"),
        (
            "unhashable_key.jsonl",
            b'{"event_timestamp": 1763712000000000, "event_name": "page_view", '
            b'"user_pseudo_id": "u", "event_params": [{"key": [1], "value": {"int_value": 1}}]}',
        ),
    ],
    "crm": [("leads_empty.csv", b""), ("leads_nul.csv", b"Lead ID,Created Date\r\n\x00\x00,2026-11-21\r\n")],
}


@pytest.mark.parametrize(("source", "name", "data"), [(s, n, d) for s, cases in ISSUE_CASES.items() for n, d in cases])
def test_the_crashes_the_issue_lists(source, name, data):
    manifest = check_extract(source, name, data)
    entry = next(e for e in manifest["files"] if e["path"].endswith("/" + name))
    if entry["read"]:  # every row of these files is bad: none may load
        assert entry["loaded"] == 0, entry


def test_empty_xlsx_sheet_and_data_continued_on_a_second_sheet():
    import io

    import openpyxl

    from tests.sources.hostile import hubspot_xlsx

    workbook = openpyxl.load_workbook(io.BytesIO(hubspot_xlsx(n=2, sheets=2)))
    workbook.create_sheet("empty")  # an empty sheet is skipped
    buffer = io.BytesIO()
    workbook.save(buffer)

    manifest = check_extract("forms", "two_sheets.xlsx", buffer.getvalue())

    entry = next(e for e in manifest["files"] if e["path"].endswith("/two_sheets.xlsx"))
    assert (entry["read"], entry["loaded"], entry["error"]) == (4, 4, None)


def test_a_parser_that_raises_costs_its_own_file_only(settings, monkeypatch):
    # The net under the extractors: an unforeseen exception (simulated here in the GA4 parser, after
    # one event went through) is reported with the file and the cause; the other file loads in full.
    from intent_pipeline.sources.web import extract as web

    real = web.parse_event
    calls = {"n": 0}

    def parse_event(event, event_dates):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ZeroDivisionError("simulated parser bug")
        return real(event, event_dates)

    monkeypatch.setattr(web, "parse_event", parse_event)
    folder = drop_dir(settings, "web")
    (folder / "a_first.jsonl").write_bytes(seeds("web")["ga4.jsonl"])  # 3 events; the 2nd raises
    good_name, good_data, good_rows = good_file("web")
    (folder / good_name).write_bytes(good_data)

    manifest = extract("web", settings)

    assert_accounting(manifest)
    entries = {e["path"].rsplit("/", 1)[-1]: e for e in manifest["files"]}
    assert (entries["a_first.jsonl"]["loaded"], entries["a_first.jsonl"]["quarantined"]) == (1, 1)
    assert manifest["file_errors"] == [
        f"cannot parse web/dt={DS}/a_first.jsonl: ZeroDivisionError: simulated parser bug "
        "(after 1 rows; the rest of the file is not loaded)"
    ]
    assert entries[good_name]["loaded"] == good_rows


def test_a_formula_saved_without_its_value_quarantines_its_row_instead_of_loading_null(settings):
    # openpyxl, like some report generators, writes formulas without computing them
    import io

    import openpyxl

    from tests.sources.hostile import hubspot_xlsx

    workbook = openpyxl.load_workbook(io.BytesIO(hubspot_xlsx(n=3)))
    workbook.active["G3"] = '=UPPER("acme")'  # Company name of the second data row
    buffer = io.BytesIO()
    workbook.save(buffer)
    (drop_dir(settings, "forms") / "hubspot.xlsx").write_bytes(buffer.getvalue())

    manifest = extract("forms", settings)

    assert manifest["tables"]["forms_submissions"] == {"read": 3, "loaded": 2, "quarantined": 1}
    [row] = lake.read_partition(settings.lake_dir, "quarantine", "forms_submissions", DS).to_pylist()
    assert row["_row_number"] == 2
    assert row["reason"].startswith("""formula without a saved value in 'Company name' (=UPPER("acme"))""")


def test_a_merged_header_cell_names_the_column_that_holds_its_values(settings):
    # "Email" merged over two columns, the addresses under the second: they used to land in extra as column_n
    import io

    import openpyxl

    from tests.sources.hostile import HUBSPOT

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    header = [*HUBSPOT[:5], None, *HUBSPOT[5:]]
    sheet.append(header)
    sheet.merge_cells("E1:F1")
    for i in range(2):
        sheet.append([f"hs-{i}", "Contact us", "Wei", "Zhang", None, f"m{i}@example.com", "13800138000", "Acme",
                      "CTO", "SaaS", "50", "2026-11-21 08:00", "Organic search", ""])  # fmt: skip
    buffer = io.BytesIO()
    workbook.save(buffer)
    (drop_dir(settings, "forms") / "merged.xlsx").write_bytes(buffer.getvalue())

    manifest = extract("forms", settings)

    assert manifest["tables"]["forms_submissions"] == {"read": 2, "loaded": 2, "quarantined": 0}
    rows = lake.read_partition(settings.lake_dir, "raw", "forms_submissions", DS).to_pylist()
    assert sorted(row["email"] for row in rows) == ["m0@example.com", "m1@example.com"]
    assert all(row["extra"] is None for row in rows)
    assert any("'Email' is merged over columns 5-6; read from column 6" in w for w in manifest["warnings"])
