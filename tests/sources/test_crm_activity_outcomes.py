"""The CRM activities export's optional Outcome column (issue 13): read into raw ``outcome`` as
exported; a file without it loads with ``outcome`` null (unknown) and says the column is missing."""

from __future__ import annotations

from tests.sources.helpers import DS, assert_accounting, by_row, csv_bytes, drop_dir, extract, raw_rows

ACTIVITIES = ["Activity ID", "Lead ID", "Type", "Subject", "Owner", "Activity Date"]


def test_the_outcome_is_read_as_exported_and_absent_is_unknown(settings):
    folder = drop_dir(settings, "crm")
    rows = [
        ["00T1", "00Q001", "Call", "Intro call", "Amy Wu", "2026-11-21 09:00:00", "Connected"],
        ["00T2", "00Q001", "Call", "Follow-up call", "Amy Wu", "2026-11-21 10:00:00", " No answer "],
        ["00T3", "00Q001", "Email", "Deck sent", "Amy Wu", "2026-11-21 11:00:00", ""],
        ["00T4", "00Q001", "Meeting", "Product demo", "Amy Wu", "not a date", "No show"],
    ]
    (folder / f"activities_{DS}.csv").write_bytes(csv_bytes([*ACTIVITIES, "Outcome"], rows))
    old = [["00T5", "00Q002", "Meeting", "Product demo", "Bo Li", "2026-11-21 12:00:00"]]
    (folder / f"activities_old_{DS}.csv").write_bytes(csv_bytes(ACTIVITIES, old))

    manifest = extract("crm", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["crm_activities"] == {"read": 5, "loaded": 4, "quarantined": 1}
    loaded = by_row(raw_rows(settings, "crm_activities"), f"activities_{DS}.csv")
    # as exported, trimmed; staging makes keys of them (no_answer) and the result (success / failure)
    assert {n: r["outcome"] for n, r in loaded.items()} == {1: "Connected", 2: "No answer", 3: None}
    assert all(r["extra"] is None for r in loaded.values())  # a mapped column, not an extra one
    [without] = by_row(raw_rows(settings, "crm_activities"), f"activities_old_{DS}.csv").values()
    assert without["activity_id"] == "00T5" and without["outcome"] is None
    assert any("activities_old" in w and "outcome ('Outcome')" in w for w in manifest["warnings"]), manifest["warnings"]
