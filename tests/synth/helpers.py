"""Independent readers of the landing formats, written from docs/contracts.md (not from the generator's code)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

JINSHUJU = [
    "序号",
    "表单名称",
    "姓名",
    "手机号",
    "邮箱",
    "公司",
    "职位",
    "行业",
    "公司规模",
    "提交时间",
    "来源",
    "client_id",
    "个人信息授权",  # the consent box (issue 17)
]
TYPEFORM = [
    "Submission ID",
    "Form",
    "Full Name",
    "Email Address",
    "Phone Number",
    "Company",
    "Job Title",
    "Industry",
    "Company Size",
    "Submitted At",
    "UTM Source",
    "client_id",
    "Privacy Consent",  # the consent Legal question (issue 17)
]
HUBSPOT = [
    "Conversion ID",
    "Form name",
    "First Name",
    "Last Name",
    "Email",
    "Phone number",
    "Company name",
    "Job title",
    "Industry",
    "Number of employees",
    "Conversion date",
    "Original source",
    "client_id",
]
LEADS = [
    "Lead ID",
    "Email",
    "Phone",
    "Name",
    "Company",
    "Title",
    "Industry",
    "Employees",
    "Region",
    "Owner",
    "Status",
    "Lead Source",
    "Created Date",
    "Last Modified Date",
    "Email Opt Out",  # Salesforce HasOptedOutOfEmail (issue 17)
]
OPPORTUNITIES = [
    "Opportunity ID",
    "Lead ID",
    "Opportunity Name",
    "Stage",
    "Amount",
    "Currency",
    "Created Date",
    "Close Date",
    "Last Stage Change Date",
]
ORDERS = ["Order ID", "Lead ID", "Email", "Amount", "Currency", "Order Date"]
ACTIVITIES = ["Activity ID", "Lead ID", "Type", "Subject", "Owner", "Activity Date", "Outcome"]
ACTIVITY_TYPES = {"Call", "Email", "Meeting", "Task"}
SENDGRID_EVENTS = {
    "processed",
    "deferred",
    "delivered",
    "open",
    "click",
    "bounce",
    "dropped",
    "spamreport",
    "unsubscribe",
    "group_unsubscribe",
    "group_resubscribe",
}
STAGES = {"Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SHANGHAI = timedelta(hours=8)


def drop_dirs(landing: Path, source: str) -> list[Path]:
    return sorted(p for p in (landing / source).iterdir() if p.is_dir())


def read_csv(path: Path, encoding: str) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding=encoding, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def form_rows(landing: Path) -> list[dict]:
    """Every form submission as {tool, file, row, key, form, email, phone, client_id, submitted (UTC or None)}."""
    import openpyxl

    out = []
    for folder in drop_dirs(landing, "forms"):
        for path in sorted(folder.iterdir()):
            rel = str(path.relative_to(landing))
            if path.suffix == ".xlsx":
                sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
                rows = list(sheet.iter_rows(values_only=True))
                header, body = list(rows[0]), rows[1:]
                tool = "hubspot_forms"
            else:
                raw = path.read_bytes()
                encoding = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
                try:
                    text = raw.decode(encoding)
                except UnicodeDecodeError:
                    text = raw.decode("gbk")
                rows = list(csv.reader(io.StringIO(text, newline="")))
                header, body = rows[0], rows[1:]
                tool = "jinshuju" if header == JINSHUJU else "typeform" if header == TYPEFORM else "unknown"
            for i, values in enumerate(body, 1):
                r = dict(zip(header, values, strict=True))
                if tool == "jinshuju":
                    row = {
                        "key": r["序号"],
                        "form": r["表单名称"],
                        "full_name": r["姓名"],
                        "email": r["邮箱"],
                        "phone": r["手机号"],
                        "client_id": r["client_id"],
                        "submitted": _parse(r["提交时间"], "%Y-%m-%d %H:%M:%S"),
                    }
                elif tool == "typeform":
                    row = {
                        "key": r["Submission ID"],
                        "form": r["Form"],
                        "full_name": r["Full Name"],
                        "email": r["Email Address"],
                        "phone": r["Phone Number"],
                        "client_id": r["client_id"],
                        "submitted": _parse_iso(r["Submitted At"]),
                    }
                else:
                    when = r["Conversion date"]
                    submitted = when - SHANGHAI if isinstance(when, datetime) else _parse(when, "%Y-%m-%d %H:%M")
                    row = {
                        "key": r["Conversion ID"],
                        "form": r["Form name"],
                        "full_name": _hubspot_name(r["First Name"] or "", r["Last Name"] or ""),
                        "email": r["Email"] or "",
                        "phone": r["Phone number"] or "",
                        "client_id": r["client_id"] or "",
                        "submitted": submitted,
                    }
                out.append({"tool": tool, "file": rel, "row": i, **row})
    return out


def _hubspot_name(first: str, last: str) -> str:
    """HubSpot's two name fields as one full name: 王 + 伟 -> 王伟, Kevin + Wang -> Kevin Wang."""
    return f"{first} {last}".strip() if (first + last).isascii() else last + first


def _parse(text: str, fmt: str) -> datetime | None:
    """Asia/Shanghai wall clock to naive UTC, None when unparseable."""
    try:
        return datetime.strptime(text, fmt) - SHANGHAI
    except ValueError:
        return None


def crm_time(text: str) -> datetime | None:
    """A CRM export date (``YYYY-MM-DD HH:MM:SS``, Asia/Shanghai) as naive UTC, None when unparseable."""
    return _parse(text, "%Y-%m-%d %H:%M:%S")


def _parse_iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).replace(tzinfo=None)
    except ValueError:
        return None


def email_events(landing: Path) -> list[tuple[str, int, dict]]:
    """(file, 1-based array index, event) for every event of every webhook body."""
    out = []
    for folder in drop_dirs(landing, "email"):
        for path in sorted(folder.glob("*.json")):
            body = json.loads(path.read_text(encoding="utf-8"))
            assert isinstance(body, list), path
            out.extend((str(path.relative_to(landing)), i, e) for i, e in enumerate(body, 1))
    return out


def web_lines(landing: Path) -> list[tuple[str, int, dict | None, str]]:
    """(file, line number, parsed event or None, raw line) for every GA4 export line."""
    out = []
    for folder in drop_dirs(landing, "web"):
        for path in sorted(folder.glob("*.jsonl")):
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    event = None
                out.append((str(path.relative_to(landing)), i, event, line))
    return out


def crm_rows(landing: Path, stem: str) -> list[tuple[str, int, dict]]:
    out = []
    for folder in drop_dirs(landing, "crm"):
        for path in sorted(folder.glob(f"{stem}*.csv")):
            header, body = read_csv(path, "utf-8")
            out.extend(
                (str(path.relative_to(landing)), i, dict(zip(header, r, strict=True))) for i, r in enumerate(body, 1)
            )
    return out


def params(event: dict) -> dict:
    """GA4 event_params as {key: value}."""
    out = {}
    for p in event["event_params"]:
        value = p["value"]
        out[p["key"]] = next((value[k] for k in ("string_value", "int_value", "double_value") if k in value), None)
    return out


def read_truth(truth: Path, name: str) -> list[dict]:
    with (truth / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
