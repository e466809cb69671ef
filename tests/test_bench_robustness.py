"""bench/robustness.py: its detectors catch what they claim to (a garbling decoder, a lost row), and the
kept corpus is the one the generator writes and passes through the extractors cleanly (a sample of it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from intent_pipeline.sources import tabular
from intent_pipeline.sources.encoding import Decoded

from tests.benches import load_bench

bench = load_bench("robustness")
ROOT = Path(__file__).resolve().parents[1]
TARGETED = {"forms/latin1_byte_in_utf8.csv", "forms/second_sheet_no_header.xlsx", "email/lone_surrogate.json",
            "web/int_2_70.jsonl", "crm/leads_latin1_byte.csv", "forms/huge_field.csv"}  # fmt: skip


def _cases(files: set[str]) -> list[dict]:
    return [case for case in bench.corpus_cases() if case["file"] in files]


def test_corpus_lists_every_file_it_holds_and_has_enough_cases():
    cases = json.loads((ROOT / "bench" / "corpus" / "cases.json").read_text(encoding="utf-8"))
    on_disk = {str(p.relative_to(ROOT / "bench" / "corpus")) for p in (ROOT / "bench" / "corpus").rglob("*.*")}
    assert {c["file"] for c in cases} == on_disk - {"cases.json"}
    assert len(cases) >= 150 and {c["source"] for c in cases} == {"forms", "email", "web", "crm"}


@pytest.mark.parametrize("case", _cases(TARGETED), ids=lambda c: c["file"])
def test_targeted_cases_pass_cleanly(case):
    found = bench.run_case(case["source"], case["file"].split("/", 1)[1], case["data"], case["rows"])
    assert found == {"crash": None, "silent_loss": 0, "garbled": [], "unexplained": []}


def test_a_garbling_decoder_is_counted(monkeypatch):
    def utf8_else_gb18030(data, legacy=()):  # the decoder issue 14 measured
        try:
            return Decoded(data.decode("utf-8-sig"), "utf-8")
        except UnicodeDecodeError:
            return Decoded(data.decode("gb18030", errors="replace"), "gb18030")

    monkeypatch.setattr(tabular, "decode_text", utf8_else_gb18030)
    [case] = _cases({"crm/leads_export__latin1_byte_0.csv"})
    found = bench.run_case(case["source"], "leads_export__latin1_byte_0.csv", case["data"], case["rows"])
    assert found["garbled"] and "寮犱紵" in found["garbled"][0]


def test_rows_the_corpus_knows_of_but_the_extract_does_not_read_are_a_silent_loss(monkeypatch):
    # an XLSX reader that reads the first sheet only (the behaviour issue 14 measured)
    read_xlsx = tabular.read_xlsx
    monkeypatch.setattr(tabular, "read_xlsx", lambda file, data=None: read_xlsx(file, data)[:1])
    [case] = _cases({"forms/second_sheet_no_header.xlsx"})
    found = bench.run_case("forms", "second_sheet_no_header.xlsx", case["data"], case["rows"])
    assert found["silent_loss"] == 2
