"""Generate the robustness corpus: hostile and broken landing files of the four sources, kept in bench/corpus/.

    python bench/robustness_corpus.py            # rewrite bench/corpus/ (deterministic but for XLSX zip times)

Each case is one file under ``bench/corpus/<source>/`` and one entry of ``bench/corpus/cases.json``:
``{"id", "source", "file", "kind", "rows"}``, where ``rows`` is the number of data rows the file holds
when the generator knows it (targeted cases), else null. Two kinds of case:

* targeted: the inputs issue 14 lists (empty files, a Latin-1 byte in UTF-8, a stray GBK byte, UTF-16,
  a second sheet, lone surrogates, 100k-deep JSON, 2**70, an ``{"events": [...]}`` wrapper, ...);
* mutated: every seed export of tests/sources/hostile.py under every mutation, with fixed random seeds.

bench/robustness.py runs them through the extractors.
"""

from __future__ import annotations

import io
import json
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT))

from tests.sources import hostile as h  # noqa: E402

CORPUS = ROOT / "bench" / "corpus"
EXTENSIONS = {"forms": ".csv", "email": ".json", "web": ".jsonl", "crm": ".csv"}
# Random seeds per (seed file, mutation): more for the single-seed sources so each has 40+ cases.
ROUNDS = {"forms": 1, "email": 3, "web": 3, "crm": 2}


def _xlsx_two_sheets_without_header() -> bytes:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(h.hubspot_xlsx(n=2)))
    sheet = workbook.create_sheet("Sheet2")  # the data goes on, without repeating the header
    for i in range(2):
        sheet.append([f"hs-c{i}", "Contact us", "Na", "Li", f"cont{i}@example.com", "13800138001", "Acme", "CMO",
                      "SaaS", "50", h.MOMENT, "Paid search", ""])  # fmt: skip
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def targeted() -> list[tuple[str, str, bytes, int | None]]:
    """(source, file name, bytes, data rows or None) of the inputs the issue names."""
    jinshuju = h.csv_bytes(h.JINSHUJU, h.jinshuju_rows())
    gbk = h.csv_bytes(h.JINSHUJU, h.jinshuju_rows(), "gbk")
    events = [h.sendgrid_event(i) for i in range(3)]
    ga4 = h.ga4_event(0)
    big = dict(ga4, event_params=[{"key": "ga_session_id", "value": {"int_value": 2**70}}])
    return [
        ("forms", "empty.csv", b"", 0),
        ("forms", "blank_lines.csv", b"\r\n\r\n\n", 0),
        ("forms", "header_only.csv", h.csv_bytes(h.JINSHUJU, []), 0),
        ("forms", "latin1_byte_in_utf8.csv", jinshuju.replace(b"Acme", b"Acm\xe9") + b"", 3),
        ("forms", "latin1_byte_in_utf8_b.csv", jinshuju.replace("上海".encode(), "上海".encode() + b"\xe9", 1), 3),
        ("forms", "gbk_stray_lead_byte.csv", gbk.replace(b"user1@", b"\x81user1@"), 3),
        ("forms", "gbk.csv", gbk, 3),
        ("forms", "utf8_sig.csv", h.csv_bytes(h.JINSHUJU, h.jinshuju_rows(), "utf-8-sig"), 3),
        ("forms", "utf16.csv", h.csv_bytes(h.JINSHUJU, h.jinshuju_rows(), "utf-16"), 3),
        ("forms", "utf16_tabs.csv", ("\r\n".join("\t".join(r) for r in [h.TYPEFORM, *h.typeform_rows(2)]) + "\r\n")
         .encode("utf-16"), 2),  # fmt: skip
        ("forms", "utf16le_no_bom.csv", h.csv_bytes(h.TYPEFORM, h.typeform_rows(2), "utf-16-le"), 2),
        ("forms", "latin1_file.csv", h.csv_bytes(h.TYPEFORM, [["1", "F", "José Müller", "j@example.com", "", "", "",
                                                               "", "", "2026-11-21T08:00:00Z", "", ""]], "latin-1"),
         1),  # fmt: skip
        ("forms", "second_sheet_no_header.xlsx", _xlsx_two_sheets_without_header(), 4),
        ("forms", "two_sheets.xlsx", h.hubspot_xlsx(n=2, sheets=2), 4),
        ("forms", "huge_field.csv", jinshuju.replace("上海示例科技".encode(), b"x" * 200_000, 1), 3),
        ("forms", "nul_bytes.csv", jinshuju.replace(b"user0", b"us\x00er0"), 3),
        ("forms", "semicolons.csv", jinshuju.replace(b",", b";"), 3),
        ("email", "lone_surrogate.json", b'[{"email": "a@example.com", "timestamp": 1763712000, "event": "open", '
                                         b'"sg_event_id": "x\\ud83d"}]', 1),  # fmt: skip
        ("email", "deep_100k.json", b"[" * 100_000 + b"]" * 100_000, None),
        ("email", "events_wrapper.json", json.dumps({"events": events}).encode(), 3),
        ("email", "events_not_array.json", json.dumps({"events": "x"}).encode(), None),
        ("email", "latin1_byte.json", json.dumps(events, ensure_ascii=False).replace("Mozilla", "Moz\xe9lla")
         .encode("utf-8").replace("é".encode(), b"\xe9"), None),  # fmt: skip
        ("email", "utf16.json", json.dumps(events).encode("utf-16"), 3),
        ("email", "empty.json", b"", None),
        ("email", "consent_same_id.json", json.dumps([dict(events[0], event="open"),
                                                      dict(events[0], event="unsubscribe")]).encode(), 2),  # fmt: skip
        ("web", "lone_surrogate.jsonl", json.dumps(dict(ga4, user_pseudo_id="u\ud83d")).encode() + b"\n", 1),
        ("web", "int_2_70.jsonl", json.dumps(big).encode() + b"\n", 1),
        ("web", "deep_100k.jsonl", b"[" * 100_000 + b"]" * 100_000 + b"\n", 1),
        ("web", "utf16.jsonl", (json.dumps(ga4) + "\n").encode("utf-16"), None),
        ("web", "empty.jsonl", b"", 0),
        ("crm", "leads_empty.csv", b"", 0),
        ("crm", "leads_us_dates.csv", h.csv_bytes(h.LEADS, [r[:12] + ["11/21/2026 8:00 AM", "11/21/2026"]
                                                            for r in h.leads_rows()]), 3),  # fmt: skip
        ("crm", "opportunities_decimal_comma.csv", h.csv_bytes(h.OPPORTUNITIES, [r[:4] + ["1.234,50"] + r[5:]
                                                                               for r in h.opportunity_rows()]), 3),
        ("crm", "opportunities_refund.csv", h.csv_bytes(h.OPPORTUNITIES, [r[:4] + ["-250.00"] + r[5:]
                                                                        for r in h.opportunity_rows()]), 3),
        ("crm", "leads_gbk.csv", h.csv_bytes(h.LEADS, h.leads_rows(), "gbk"), 3),
        ("crm", "leads_latin1_byte.csv", h.csv_bytes(h.LEADS, h.leads_rows()).replace(b"Amy", b"Am\xe9"), 3),
    ]  # fmt: skip


def mutated() -> list[tuple[str, str, bytes, None]]:
    cases = []
    for source in h.SOURCES:
        for seed_name in sorted(h.seeds(source)):
            for mutation in h.mutations_for(source):
                for round_ in range(ROUNDS[source]):
                    rnd = random.Random(f"{source}/{seed_name}/{mutation}/{round_}")
                    _, data = h.hostile_case(source, rnd, seed_name, [mutation])
                    stem, ext = seed_name.rsplit(".", 1)
                    cases.append((source, f"{stem}__{mutation}_{round_}.{ext}", data, None))
    return cases


def generate(corpus: Path = CORPUS) -> list[dict]:
    """Write every case under ``corpus`` and ``cases.json``; returns the case list."""
    if corpus.exists():
        shutil.rmtree(corpus)
    entries = []
    for number, (source, name, data, rows) in enumerate([*targeted(), *mutated()], 1):
        folder = corpus / source
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
        kind = "targeted" if "__" not in name else "mutated"
        entries.append({"id": number, "source": source, "file": f"{source}/{name}", "kind": kind, "rows": rows})
    (corpus / "cases.json").write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return entries


if __name__ == "__main__":
    cases = generate()
    size = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(json.dumps({"cases": len(cases), "bytes": size, "corpus": str(CORPUS.relative_to(ROOT))}))
