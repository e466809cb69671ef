"""The masking rules and the append-only audit trail (plugins/intent_pipeline/privacy)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from intent_pipeline.privacy import audit
from intent_pipeline.privacy.mask import hashed_key, mask_email, mask_name, mask_phone


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("wang.wei@example.com", "w***@example.com"),
        ("x@163.com", "x***@163.com"),
        ("not-an-address", "***"),
        ("@example.com", "***"),
        (None, None),
        ("", ""),
    ],
)
def test_mask_email(value: str | None, expected: str | None) -> None:
    assert mask_email(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("+86 138 0013 8000", "***8000"), ("13800138000", "***8000"), ("12345", "***"), (None, None)],
)
def test_mask_phone(value: str | None, expected: str | None) -> None:
    assert mask_phone(value) == expected


def test_mask_name_hides_all_but_the_first_character() -> None:
    assert mask_name("王伟") == "王*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("Wang Wei") == "W***"
    assert mask_name(None) is None


def test_hashed_key_is_stable_salted_and_case_blind() -> None:
    a = hashed_key("Wang.Wei@Example.com", key_salt="s1")
    assert a == hashed_key("wang.wei@example.com ", key_salt="s1")
    assert a != hashed_key("wang.wei@example.com", key_salt="s2")
    assert a is not None and len(a) == 32 and "wang" not in a
    assert hashed_key(None) is None


def test_audit_records_are_appended_never_rewritten(tmp_path) -> None:
    first = audit.record(
        "push",
        lake_dir=tmp_path,
        destination="hubspot",
        purpose="crm_sync",
        record_count=3,
        run_id="r1",
        at=datetime(2026, 12, 1, 8, tzinfo=UTC),
    )
    before = first.read_bytes()
    audit.record("publish", lake_dir=tmp_path, run_id="r2", tables=12, at=datetime(2026, 12, 1, 9, tzinfo=UTC))
    assert first.read_bytes() == before
    rows = audit.read(tmp_path)
    assert [r["event"] for r in rows] == ["push", "publish"]
    assert rows[0]["record_count"] == 3 and rows[0]["purpose"] == "crm_sync"
    assert '"tables": 12' in rows[1]["details"]
    assert not list(tmp_path.rglob(".tmp-*"))


def test_audit_needs_an_event(tmp_path) -> None:
    with pytest.raises(ValueError):
        audit.record("", lake_dir=tmp_path)
