"""Suppression after erasure against the spellings a re-export really carries (the outside check).

An erased address comes back in a later export typed otherwise: in full-width characters from a
Chinese input method, with spaces (ASCII, ideographic, no-break) around it, behind a ``mailto:``
(a hyperlink's target pasted into the cell), as a Gmail dot/``+tag``/googlemail.com variant, in
capitals, inside ``Name <address>``. Whatever the pipeline's own key of an address
(``identity.mailbox``: ``sources.normalize.email`` then the twin of macro ``canonical_email``)
merges into the erased mailbox must be suppressed, loaded or quarantined, through the real
extract; nothing else may be. The erasure request itself may be typed the same ways.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from intent_pipeline import lake
from intent_pipeline.identity import canonical_email, mailbox
from intent_pipeline.privacy import suppression
from intent_pipeline.privacy.erase import ErasureRequest, resolve
from intent_pipeline.settings import Settings
from intent_pipeline.sources import extract_source

DAY = date(2026, 11, 21)
ERASED = "wang.wei@gmail.com"
# how a re-export spells the erased mailbox
SPELLINGS = [
    "ｗａｎｇ．ｗｅｉ＠ｇｍａｉｌ．ｃｏｍ",
    "  wang.wei@gmail.com  ",
    "\u3000wang.wei@gmail.com\u00a0",
    "mailto:wang.wei@gmail.com",
    "MAILTO: Wang.Wei@Gmail.com",
    "ｍａｉｌｔｏ：ｗａｎｇｗｅｉ＠ｇｍａｉｌ．ｃｏｍ",
    "w.a.n.g.wei+newsletter@googlemail.com",
    "WangWei＋promo@GMAIL.COM",
    "wang.wei@gmail。com",
]
# spellings the extract cannot load (quarantined), which still name her
ONLY_IN_TEXT = ["Wang Wei <ｗａｎｇ．ｗｅｉ＠ｇｍａｉｌ．ｃｏｍ>", "<mailto:wang.wei@gmail.com>"]
# other people's mailboxes: a dot matters at QQ, another local part is another person
BYSTANDERS = ["wang.wei@qq.com", "wangwei@qq.com", "wang.wei2@gmail.com", "wei.wang@gmail.com"]
TYPEFORM = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Job Title",
            "Industry", "Company Size", "Submitted At", "UTM Source", "client_id"]  # fmt: skip


@pytest.fixture()
def settings(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("INTENT_HOME", str(tmp_path))
    monkeypatch.setenv("INTENT_PII_SALT", "outside-salt")
    monkeypatch.delenv("INTENT_SUPPRESSION_LIST", raising=False)
    settings = Settings.from_env()
    forms, lines = Path(settings.landing_url) / "forms" / f"dt={DAY}", [",".join(TYPEFORM)]
    for n, address in enumerate(SPELLINGS + ONLY_IN_TEXT + BYSTANDERS):
        for at in ("2026-11-21T01:00:00Z", "not a time"):  # loaded, and quarantined for its time
            row = [f"s{n}{at[0]}", "Demo", "王伟", address, "", "Acme", "CTO", "Retail", "50", at, "", ""]
            lines.append(",".join(f'"{v}"' for v in row))
    forms.mkdir(parents=True)
    (forms / "typeform.csv").write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    email = Path(settings.landing_url) / "email" / f"dt={DAY}"
    email.mkdir(parents=True)
    events = [{"email": a, "timestamp": 1795226400, "event": "open", "sg_event_id": f"e{n}", "sg_message_id": f"m{n}"}
              for n, a in enumerate(SPELLINGS + ONLY_IN_TEXT + BYSTANDERS)]  # fmt: skip
    (email / "batch.json").write_text(json.dumps(events, ensure_ascii=False), encoding="utf-8")
    return settings


def erase_and_extract(settings: Settings, request: str) -> dict:
    suppression.add(suppression.list_path(settings), suppression.hashes_of([("email", request)]))
    return {source: extract_source(source, settings, DAY, batch_id=f"b/{source}") for source in ("forms", "email")}


def kept(settings: Settings, table: str) -> list[str]:
    """Every email cell (raw) and every quarantined row's content, as text."""
    raw = [r["email"] or "" for r in lake.read_partition(settings.lake_dir, "raw", table, DAY).to_pylist()]
    quarantined = lake.read_partition(settings.lake_dir, "quarantine", table, DAY).to_pylist()
    return raw + [json.dumps(r, ensure_ascii=False, default=str) for r in quarantined]


def names_her(text: str) -> bool:
    folded = text.lower()
    return any(s in folded for s in ("wang.wei@gmail", "wangwei@gmail", "ｗａｎｇ", "googlemail", "wangwei＋"))


@pytest.mark.parametrize("request_as", [ERASED, *SPELLINGS], ids=range(len(SPELLINGS) + 1))
def test_every_spelling_of_an_erased_mailbox_is_suppressed_and_only_hers(settings, request_as):
    manifests = erase_and_extract(settings, request_as)
    forms = manifests["forms"]["tables"]["forms_submissions"]
    email = manifests["email"]["tables"]["email_events"]
    hers = len(SPELLINGS) + len(ONLY_IN_TEXT)
    assert forms["suppressed"] == 2 * hers, forms
    assert email["suppressed"] == hers, email
    for table in ("forms_submissions", "email_events"):
        leaked = [text for text in kept(settings, table) if names_her(text)]
        assert not leaked, leaked
    loaded = {r["email"] for r in lake.read_partition(settings.lake_dir, "raw", "email_events", DAY).to_pylist()}
    assert loaded == set(BYSTANDERS)


def test_the_one_rule_the_extract_loads_what_the_suppression_hashes(settings):
    """Every spelling the extract loads is keyed by the graph (macro canonical_email's twin on the
    loaded address) exactly as ``mailbox`` keys it, and that key is among the suppression's forms."""
    manifests = {source: extract_source(source, settings, DAY, batch_id="b") for source in ("forms", "email")}
    assert manifests["email"]["tables"]["email_events"]["quarantined"] == len(ONLY_IN_TEXT)
    events = lake.read_partition(settings.lake_dir, "raw", "email_events", DAY).to_pylist()
    by_id = {e["sg_event_id"]: e["email"] for e in events}
    for n, spelling in enumerate(SPELLINGS):
        graph_key = canonical_email(by_id[f"e{n}"])
        assert graph_key == mailbox(spelling) == "wangwei@gmail.com", spelling
        assert graph_key in suppression.forms_of("email", spelling)
        assert graph_key in suppression.forms_of(None, spelling)  # a value of unknown kind in a quarantined row


@pytest.mark.parametrize("request_as", SPELLINGS, ids=range(len(SPELLINGS)))
def test_an_erasure_request_in_any_spelling_reaches_the_graphs_node(request_as, tmp_path):
    linked = resolve(tmp_path / "no-warehouse.duckdb", [ErasureRequest("email", request_as, "test")])
    assert linked.identifiers == {("email", "wangwei@gmail.com")}


def test_erasure_in_full_width_capitals_clears_the_lake_and_the_landing_drops(settings):
    """The erasure itself (no warehouse: the request's own mailbox) with the request typed in
    full-width capitals: every spelling leaves the raw and quarantine partitions and the landing
    files, loaded or rejected; the bystanders stay."""
    from intent_pipeline.privacy.erase import erase

    for source in ("forms", "email"):
        extract_source(source, settings, DAY, batch_id=f"b/{source}")
    erase(settings, [ErasureRequest("email", "ＷＡＮＧ．ＷＥＩ＠ＧＭＡＩＬ．ＣＯＭ", "GDPR art. 17")])
    for table in ("forms_submissions", "email_events"):
        leaked = [text for text in kept(settings, table) if names_her(text)]
        assert not leaked, leaked
    landing = Path(settings.landing_url)
    for path in [*landing.rglob("*.csv"), *landing.rglob("*.json")]:
        text = path.read_text(encoding="utf-8-sig")
        assert not names_her(text), (path.name, text)
        assert all(bystander in text for bystander in BYSTANDERS), path.name
