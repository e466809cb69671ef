"""CRM history export (leads, opportunities, orders, activities CSVs) into the four crm_* tables."""

from __future__ import annotations

import json
from datetime import datetime

from tests.sources.helpers import (
    DAY,
    DS,
    assert_accounting,
    by_row,
    csv_bytes,
    drop_dir,
    extract,
    quarantine_rows,
    raw_rows,
)

LEADS = ["Lead ID", "Email", "Phone", "Name", "Company", "Title", "Industry", "Employees", "Region", "Owner", "Status",
         "Lead Source", "Created Date", "Last Modified Date"]  # fmt: skip
OPPORTUNITIES = ["Opportunity ID", "Lead ID", "Opportunity Name", "Stage", "Amount", "Currency", "Created Date",
                 "Close Date"]  # fmt: skip
ORDERS = ["Order ID", "Lead ID", "Email", "Amount", "Currency", "Order Date"]
ACTIVITIES = ["Activity ID", "Lead ID", "Type", "Subject", "Owner", "Activity Date"]


def write_crm_drop(settings, with_activities: bool = True) -> None:
    folder = drop_dir(settings, "crm")
    leads = [
        ["00Q001", " Zhang.Wei@Example.COM", "138-0013-8000", "张伟", "上海示例科技", "技术总监", "零售", "100-499",
         "华东", "Amy Wu", "Working", "Web", "2026-11-21 08:00:00", "2026-11-21 09:15:00"],
        ["00Q002", "li.na@example.cn", "", "李娜", "杭州示例", "市场经理", "制造业", "50-99", "华东", "Amy Wu", "New",
         "Trade Show", "2026-11-20", ""],
        ["00Q003", "no.date@example.com", "", "No Date", "", "", "", "", "", "", "New", "", "", ""],
    ]  # fmt: skip
    opportunities = [
        ["006A", "00Q001", "示例科技 - 年度订阅", "Closed Won", "12,500.00", "CNY", "2026-11-01 10:00:00",
         "2026-11-21 10:00:00"],
        ["006B", "00Q002", "杭州示例 - 试点", "Closed Lost", "3000", "CNY", "2026-10-01", "2026-11-20"],
        ["006C", "00Q002", "杭州示例 - 扩展", "Proposal", "", "CNY", "2026-11-10", ""],
        ["006D", "00Q001", "Bad amount", "Negotiation", "abc", "CNY", "2026-11-10", ""],
    ]  # fmt: skip
    orders = [
        ["801", "00Q001", "zhang.wei@example.com", "12500", "CNY", "2026-11-21 10:30:00", "PO-7788"],
        ["802", "", "walk.in@example.com", "99.9", "CNY", "2026-11-21", ""],
        ["", "00Q002", "li.na@example.cn", "10", "CNY", "2026-11-21", ""],
    ]
    (folder / f"leads_{DS}.csv").write_bytes(csv_bytes(LEADS, leads))
    (folder / f"opportunities_{DS}.csv").write_bytes(csv_bytes(OPPORTUNITIES, opportunities))
    (folder / f"orders_{DS}.csv").write_bytes(csv_bytes([*ORDERS, "PO Number"], orders))
    activities = [
        ["00T001", "00Q001", "Call", "首次电话沟通", "Amy Wu", "2026-11-21 10:00:00"],
        ["00T002", " 00Q002 ", "email", "Follow-up email", "Amy Wu", "2026-11-20"],
        ["00T003", "", "Meeting", "Walk-in demo", "", "2026-11-21 15:30:00"],
        ["", "00Q001", "Task", "No id", "Amy Wu", "2026-11-21 11:00:00"],
        ["00T005", "00Q002", "Call", "No date", "Amy Wu", ""],
        ["00T006", "00Q002", "Call", "Bad date", "Amy Wu", "2026-13-45 25:61:00"],
    ]  # fmt: skip
    if with_activities:
        (folder / f"activities_{DS}.csv").write_bytes(csv_bytes(ACTIVITIES, activities))


def test_last_stage_change_date_is_read_and_a_bad_one_quarantined(settings):
    folder = drop_dir(settings, "crm")
    rows = [
        ["006E", "00Q001", "示例 - 报价", "Proposal", "5000", "CNY", "2026-11-01", "", "2026-11-18 14:00:00"],
        ["006F", "00Q001", "Bad change date", "Proposal", "5000", "CNY", "2026-11-01", "", "next week"],
        ["006G", "00Q001", "No change date", "Qualification", "5000", "CNY", "2026-11-01", "", ""],
    ]  # fmt: skip
    (folder / f"opportunities_{DS}.csv").write_bytes(csv_bytes([*OPPORTUNITIES, "Last Stage Change Date"], rows))

    manifest = extract("crm", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["crm_opportunities"] == {"read": 3, "loaded": 2, "quarantined": 1}
    loaded = by_row(raw_rows(settings, "crm_opportunities"), f"opportunities_{DS}.csv")
    assert loaded[1]["stage_changed_at"] == datetime(2026, 11, 18, 6, 0)  # Asia/Shanghai wall clock to UTC
    assert loaded[1]["extra"] is None  # a mapped column, not an extra one
    assert loaded[3]["stage_changed_at"] is None
    rejected = by_row(quarantine_rows(settings, "crm_opportunities"), f"opportunities_{DS}.csv")
    assert list(rejected) == [2] and "Last Stage Change Date" in rejected[2]["reason"]


def test_leads_opportunities_orders(settings):
    write_crm_drop(settings)

    manifest = extract("crm", settings)

    assert_accounting(manifest)
    assert manifest["tables"] == {
        "crm_leads": {"read": 3, "loaded": 2, "quarantined": 1},
        "crm_opportunities": {"read": 4, "loaded": 3, "quarantined": 1},
        "crm_orders": {"read": 3, "loaded": 2, "quarantined": 1},
        "crm_activities": {"read": 6, "loaded": 3, "quarantined": 3},
    }
    assert manifest["file_errors"] == []
    activity_file = next(f for f in manifest["files"] if f["path"].endswith(f"activities_{DS}.csv"))
    assert (activity_file["table"], activity_file["read"]) == ("crm_activities", 6)

    leads = by_row(raw_rows(settings, "crm_leads"), f"leads_{DS}.csv")
    assert leads[1]["lead_id"] == "00Q001" and leads[1]["email"] == "zhang.wei@example.com"
    assert leads[1]["phone"] == "+8613800138000" and leads[1]["phone_raw"] == "138-0013-8000"
    assert (leads[1]["full_name"], leads[1]["job_title"], leads[1]["company_size"]) == ("张伟", "技术总监", "100-499")
    assert (leads[1]["region"], leads[1]["owner"], leads[1]["status"]) == ("华东", "Amy Wu", "Working")
    assert leads[1]["created_at"] == datetime(2026, 11, 21, 0, 0) and leads[1]["updated_at"] == datetime(
        2026, 11, 21, 1, 15
    )
    assert leads[2]["created_at"] == datetime(2026, 11, 19, 16, 0)  # a bare date is midnight in Asia/Shanghai
    assert leads[2]["updated_at"] is None and leads[2]["phone"] is None
    lead_q = by_row(quarantine_rows(settings, "crm_leads"), f"leads_{DS}.csv")
    assert list(lead_q) == [3] and "Created Date" in lead_q[3]["reason"]

    opportunities = by_row(raw_rows(settings, "crm_opportunities"), f"opportunities_{DS}.csv")
    flags = {
        o["opportunity_id"]: (o["stage"], o["is_closed"], o["is_won"], o["amount"]) for o in opportunities.values()
    }
    assert flags == {
        "006A": ("Closed Won", True, True, 12500.0),
        "006B": ("Closed Lost", True, False, 3000.0),
        "006C": ("Proposal", False, False, None),
    }
    assert opportunities[1]["closed_at"] == datetime(2026, 11, 21, 2, 0)
    assert opportunities[1]["stage_changed_at"] is None  # Last Stage Change Date is optional
    assert opportunities[1]["opportunity_name"] == "示例科技 - 年度订阅"
    opp_q = by_row(quarantine_rows(settings, "crm_opportunities"), f"opportunities_{DS}.csv")
    assert list(opp_q) == [4]
    assert "Amount" in opp_q[4]["reason"] and "abc" in opp_q[4]["reason"]
    assert json.loads(opp_q[4]["raw_content"])["Opportunity ID"] == "006D"

    orders = by_row(raw_rows(settings, "crm_orders"), f"orders_{DS}.csv")
    assert orders[1]["amount"] == 12500.0 and orders[1]["ordered_at"] == datetime(2026, 11, 21, 2, 30)
    assert json.loads(orders[1]["extra"]) == {"PO Number": "PO-7788"}
    assert orders[2]["lead_id"] is None and orders[2]["amount"] == 99.9
    order_q = by_row(quarantine_rows(settings, "crm_orders"), f"orders_{DS}.csv")
    assert list(order_q) == [3] and "Order ID" in order_q[3]["reason"]

    activities = by_row(raw_rows(settings, "crm_activities"), f"activities_{DS}.csv")
    assert list(activities) == [1, 2, 3]
    first = activities[1]
    assert (first["activity_id"], first["lead_id"], first["activity_type"]) == ("00T001", "00Q001", "Call")
    assert (first["subject"], first["owner"]) == ("首次电话沟通", "Amy Wu")
    assert first["activity_at"] == datetime(2026, 11, 21, 2, 0)  # Asia/Shanghai wall clock to UTC
    assert first["extra"] is None and first["_source_file"] == f"crm/dt={DS}/activities_{DS}.csv"
    assert activities[2]["lead_id"] == "00Q002" and activities[2]["activity_type"] == "email"  # staging lower-cases
    assert activities[2]["activity_at"] == datetime(2026, 11, 19, 16, 0)
    assert activities[3]["lead_id"] is None and activities[3]["owner"] is None  # optional fields stay null
    activity_q = by_row(quarantine_rows(settings, "crm_activities"), f"activities_{DS}.csv")
    assert list(activity_q) == [4, 5, 6]
    assert "empty required field 'activity_id' (Activity ID)" in activity_q[4]["reason"]
    assert "empty required field 'activity_at' (Activity Date)" in activity_q[5]["reason"]
    assert "Activity Date" in activity_q[6]["reason"] and "2026-13-45" in activity_q[6]["reason"]
    assert json.loads(activity_q[6]["raw_content"])["Activity ID"] == "00T006"


def test_export_without_activities_report_gives_an_empty_activities_partition(settings):
    # A CRM whose export lacks the activity report: the other reports load, crm_activities is empty (not missing).
    import pyarrow.parquet as pq
    from intent_pipeline import lake

    write_crm_drop(settings, with_activities=False)

    manifest = extract("crm", settings)

    assert_accounting(manifest)
    assert manifest["file_errors"] == []
    assert manifest["tables"]["crm_activities"] == {"read": 0, "loaded": 0, "quarantined": 0}
    assert manifest["tables"]["crm_leads"] == {"read": 3, "loaded": 2, "quarantined": 1}
    raw_file = lake.partition_path(settings.lake_dir, "raw", "crm_activities", DAY)
    assert pq.read_metadata(raw_file).num_rows == 0 and pq.read_schema(raw_file) == lake.SCHEMAS["crm_activities"]
    assert quarantine_rows(settings, "crm_activities") == []


def test_report_recognised_by_header_and_missing_column(settings):
    folder = drop_dir(settings, "crm")
    deals = [["006X", "00Q001", "Deal", "Closed Won", "10", "CNY", "2026-11-21", "2026-11-21"]]
    (folder / "deals_export.csv").write_bytes(csv_bytes(OPPORTUNITIES, deals))
    no_date = [h for h in ORDERS if h != "Order Date"]
    (folder / "orders_partial.csv").write_bytes(csv_bytes(no_date, [["801", "00Q001", "a@example.com", "1", "CNY"]]))
    # the activity report under a name of its own, columns reordered and one extra column
    sales_log = [["Call", "00T009", "00Q001", "Amy Wu", "2026-11-21 09:00:00", "Intro call", "inbound"]]
    header = ["Type", "Activity ID", "Lead ID", "Owner", "Activity Date", "Subject", "Direction"]
    (folder / "sales_log.csv").write_bytes(csv_bytes(header, sales_log))

    manifest = extract("crm", settings)

    assert_accounting(manifest)
    assert [o["opportunity_id"] for o in raw_rows(settings, "crm_opportunities")] == ["006X"]
    assert manifest["tables"]["crm_activities"] == {"read": 1, "loaded": 1, "quarantined": 0}
    [activity] = raw_rows(settings, "crm_activities")
    assert (activity["activity_id"], activity["activity_type"], activity["subject"]) == ("00T009", "Call", "Intro call")
    assert activity["activity_at"] == datetime(2026, 11, 21, 1, 0)
    assert json.loads(activity["extra"]) == {"Direction": "inbound"}
    expected = f"missing required column 'ordered_at' (Order Date) in crm/dt={DS}/orders_partial.csv"
    assert manifest["file_errors"] == [expected]
    assert [q["reason"] for q in quarantine_rows(settings, "crm_orders")] == [expected]


def test_a_crm_row_whose_id_is_empty_or_invisible_is_quarantined(settings):
    """The one rule for an id-less CRM row (docs/incremental.md, "CRM staging"): quarantined at extract
    with its reason, read = loaded + quarantined; an id spelt with invisible characters is the id."""
    rows = [
        [lead_id, "a@example.com", "", "A", "", "", "", "", "", "", "New", "", "2026-11-21 08:00:00", ""]
        for lead_id in ("", "   ", "\u3000", "\u200b", "\ufeff\u200b", "\u200b00Q001", "00Q001")
    ]
    (drop_dir(settings, "crm") / f"leads_{DS}.csv").write_bytes(csv_bytes(LEADS, rows))

    manifest = extract("crm", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["crm_leads"] == {"read": 7, "loaded": 2, "quarantined": 5}
    assert [row["lead_id"] for row in raw_rows(settings, "crm_leads")] == ["00Q001", "00Q001"]
    reasons = {row["reason"] for row in quarantine_rows(settings, "crm_leads")}
    assert reasons == {"empty required field 'lead_id' (Lead ID)"}


def test_a_truncated_crm_report_loads_its_complete_rows_and_quarantines_the_cut_tail(settings):
    orders = [["801", "00Q001", "a@example.com", "12500", "CNY", "2026-11-21 10:30:00"]]
    cut = b'802,00Q002,b@example.com,99.9,CNY,"2026-11-2'  # the download stopped inside a quoted date
    (drop_dir(settings, "crm") / f"orders_{DS}.csv").write_bytes(csv_bytes(ORDERS, orders) + cut)

    manifest = extract("crm", settings)

    assert_accounting(manifest)
    assert manifest["tables"]["crm_orders"] == {"read": 2, "loaded": 1, "quarantined": 1}
    assert sorted(by_row(raw_rows(settings, "crm_orders"), f"orders_{DS}.csv")) == [1]
    (tail,) = quarantine_rows(settings, "crm_orders")
    assert tail["_row_number"] == 2 and "ends inside a quoted field" in tail["reason"], tail
    assert any("cut short" in w for w in manifest["warnings"]), manifest["warnings"]
