"""The product's promise across incremental days: one alert per first crossing, the CRM push idempotent,
hostile values as text, secrets kept, an erased person never pushed again (the outside check).

One warehouse built day after day as the DAG builds it (the real extract of Typeform exports for
every day, then real dbt for the day's interval: ``dbt build`` of seeds and models the first day,
``dbt run`` after it, of what activation and the erasure read and every model upstream of it:
``ACTIVATED``; ``lookback_days`` 3), and after every build the real ``activate()`` against
local servers that follow each vendor's documented contract (``tests/fakes``: HubSpot CRM v3 batch
upsert, search and merge; DingTalk, WeCom, Feishu and Slack robots), all configured with canary
credentials. The days, in the order a data engineer meets them:

1. **day 1** (2026-11-10): Carl (a director in manufacturing who asks for a trial: 60 points) and
   Erin cross the line; Ann (director, manufacturing, a whitepaper: 40) and Hal do not.
2. **day 2**: Ann asks for a trial (70) and crosses; so does Hal, whose company, title and name are
   hostile: every vendor's mention and markup, HTML, zero-width and bidi characters, a value that
   looks like a token, a 10,000-character company. HubSpot answers 429 with ``Retry-After``, then
   503; Slack 429 with ``Retry-After``; DingTalk and WeCom their rate-limit errcodes; Feishu a 500.
3. **day 2 again** (a cleared run: same run id), with the drop extracted again.
4. **day 1 late**: a second export for day 1 arrives after day 2 ran (Bo crosses on day 1 in it);
   day 1 is extracted again and run as a backfill runs it.
5. **Erin erased** (``privacy.erase`` by email, the HubSpot connection given, the marts rebuilt by the
   next day's run).
6. **day 3**: Carl with Ann's email on one submission merges the two (each announced before); Fay
   crosses; Kim with Gus's email joins two people below the line into one above it.

Asserted, per the docs (docs/activation.md "Chat alerts", "Time moves forward at a destination",
"Merges", "Lead routing and recycling", "First crossings it did not see"): every robot announced Carl
and Erin on day 1, Ann and Hal on day 2, Fay on day 3, and reassigned (24 h without a CRM activity) Carl
and Erin on day 2 and Hal on day 3, each once; the re-run and the late day send nothing; Bo, hot on day 1
only in the late export (held back there as stale), and the person Gus and Kim became on day 3 (hot only
together) are announced on day 3, late rather than never, and neither is reassigned; HubSpot holds one
contact per person (Ann's and Carl's
merged), the day-2 faults retried within the run, Erin deleted and in no request after the erasure;
no canary secret anywhere the runs wrote (ledger, outbox, reports, the lake's Parquet rows with
quarantine, audit and activation history) nor in the DEBUG log; Hal's values arrive as text in
every robot's markup, the company cut and the score and call to follow up kept.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest

from tests.activation.conftest import logging_at_debug
from tests.activation.test_outside_secrets import CANARIES as CHAT_CANARIES
from tests.dbt.conftest import WAREHOUSE_FILE
from tests.outside.lakehouse import SEEDS_AND_MODELS, Lakehouse, export_csv

pytestmark = pytest.mark.slow

D1, D2, D3 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)
FORM = ["Submission ID", "Form", "Full Name", "Email Address", "Phone Number", "Company", "Job Title", "Industry",
        "Privacy Consent", "Submitted At"]  # fmt: skip
CANARIES = {"hubspot_token": "pat-na1-okCanaryHubspotT0ken", **CHAT_CANARIES}
# what a stranger types: each vendor's mentions and markup, HTML, zero-width and bidi characters,
# something that looks like a credential, and a value far longer than any message allows
HOSTILE_COMPANY = ("xoxb-1234567890-okLooksLikeAT0ken <!channel> <!here> <@U123ABC> <https://evil.example|点我> "
                   "*粗* _斜_ ~删~ `码` 甲\u200b乙\u202e丙\u2066丁 <font color=red>红</font> <b>粗</b> &amp; "
                   + "长" * 10_000)
HOSTILE_TITLE = ("Director <@U999> <!everyone> **VP** @all @所有人 <at id=all></at> <at user_id=\"all\">所有人</at> "
                 "[点我](http://evil.example/x) ![图](http://evil.example/i.png) # 标题 > 引用")
HOSTILE_NAME = "<!channel> Hal\u202e [x](http://evil.example)"
MARKUP = ("<!channel>", "<!here>", "<@U123ABC>", "<@U999>", "<!everyone>", "<at id=all>", "<at user_id=",
          "://evil", "<https://evil", "<font", "<b>", "\u202e", "\u2066", "@all", "@所有人", "**VP**")  # fmt: skip
# a markdown link opens only in the markdown robots (Slack's links are <url|text>, escaped above)
MARKDOWN_ONLY = ("](http", "![")
FAULTS = "hubspot 429 Retry-After + 503, slack 429 Retry-After, dingtalk 130101, wecom 45009, feishu 500"
# the marts activation reads (activation/segments.py: the segment, the CRM updates, the funnel stalls) and
# the identity tables the erasure resolves a request through (privacy/erase.py), with every node upstream
# of them: the attribution, funnel and reporting marts send nothing and hold no one the erasure looks up
ACTIVATED = ("--select", "+segment_high_intent", "+segment_crm_updates", "+segment_funnel_stalls", "+people",
             "+int_identity_merged_ids")  # fmt: skip


def person(key: str, form: str, name: str, email: str, phone: str, company: str, day: date, hour: int,
           title: str = "Director of IT") -> list[str]:  # fmt: skip
    return [key, form, name, email, phone, company, title, "manufacturing", "1", f"{day}T{hour:02d}:00:00Z"]


CARL = ("Carl Chen", "carl@carl-mfg.cn", "+86 139 0000 0001", "Carl Machinery")
ANN = ("Ann Ma", "ann@ann-mfg.cn", "+86 139 0000 0002", "Ann Tools")
ERIN = ("Erin Wu", "erin@erin-mfg.cn", "+86 139 0000 0005", "Erin Robotics")
HAL = (HOSTILE_NAME, "hal@hal-mfg.cn", "+86 139 0000 0008", HOSTILE_COMPANY)
BO = ("Bo Li", "bo@bo-mfg.cn", "+86 139 0000 0003", "Bo Pumps")
FAY = ("Fay Xu", "fay@fay-mfg.cn", "+86 139 0000 0006", "Fay Valves")
GUS = ("Gus He", "gus@gus-mfg.cn", "+86 139 0000 0007", "Gus Gears")  # trial, not a director: 40
KIM = ("Kim Qi", "kim@kim-mfg.cn", "+86 139 0000 0009", "Kim Motors")  # director, webinar: 38


def settings_of(house: Lakehouse):
    """The lakehouse's settings with the warehouse dbt builds there (what the DAG's tasks share)."""
    from intent_pipeline.settings import Settings

    return Settings.from_env({"INTENT_HOME": str(house.base), "INTENT_SOURCE_TIMEZONE": "Asia/Shanghai",
                              "INTENT_PII_SALT": "outside-salt", "INTENT_WAREHOUSE": str(house.base / WAREHOUSE_FILE)})


def deliver(house: Lakehouse, day: date, late: bool = False) -> None:
    if day == D1 and not late:
        rows = [person("s-101", "Free Trial", *CARL, D1, 1), person("s-102", "Whitepaper", *ANN, D1, 2),
                person("s-103", "Free Trial", *ERIN, D1, 3), person("s-104", "Whitepaper", *HAL, D1, 4,
                                                                      title=HOSTILE_TITLE),
                person("s-106", "Free Trial", *GUS, D1, 6, title="Engineer")]  # fmt: skip
        house.deliver("forms", D1, "typeform.csv", export_csv(FORM, rows))
    elif day == D1:
        house.deliver("forms", D1, "typeform-late.csv", export_csv(FORM, [person("s-105", "Free Trial", *BO, D1, 5)]))
    elif day == D2:
        rows = [person("s-201", "Free Trial", *ANN, D2, 1), person("s-202", "Free Trial", *HAL, D2, 2,
                                                                   title=HOSTILE_TITLE),
                person("s-203", "Webinar", *KIM, D2, 3),
                # a hostile row the extract quarantines (no timestamp): its values kept there with the reason
                [*person("s-204", "Free Trial", HOSTILE_NAME, "q@q-mfg.cn", "", HOSTILE_COMPANY[:300], D2, 4)[:-1],
                 "yesterday"]]  # fmt: skip
        house.deliver("forms", D2, "typeform.csv", export_csv(FORM, rows))
    elif day == D3:
        # Carl, with Ann's email and his own phone: one person now (both were announced before). The
        # name is the phone's (a phone whose records carry two names is cut: identity_limits.csv)
        joined = person("s-301", "Webinar", CARL[0], ANN[1], CARL[2], CARL[3], D3, 1)
        # Kim with Gus's email: neither was hot alone, together they are (a probe: see the docs)
        glued = person("s-303", "Brochure", KIM[0], GUS[1], KIM[2], KIM[3], D3, 3)
        fay = person("s-302", "Free Trial", *FAY, D3, 2)
        house.deliver("forms", D3, "typeform.csv", export_csv(FORM, [joined, fay, glued]))


class Destinations:
    """The local servers, started for the module, and what each step sent to them."""

    def __init__(self):
        from tests.activation.chat_vendors import FakeTime
        from tests.fakes.dingtalk import FakeDingTalk
        from tests.fakes.feishu import FakeFeishu
        from tests.fakes.hubspot import FakeHubSpot
        from tests.fakes.slack import FakeSlack
        from tests.fakes.wecom import FakeWeCom

        c = CANARIES
        self.time = FakeTime()
        self.hubspot = FakeHubSpot(token=c["hubspot_token"])
        self.chat = {
            "dingtalk": FakeDingTalk(clock=self.time.clock, max_per_minute=20, access_token=c["dingtalk_token"],
                                     secret=c["dingtalk_secret"]),
            "wecom": FakeWeCom(key=c["wecom_key"], clock=self.time.clock),
            "feishu": FakeFeishu(token=c["feishu_token"], secret=c["feishu_secret"], clock=self.time.clock),
            "slack": FakeSlack(path=f"/services/T0OK/B0OK/{c['slack_path']}"),
        }  # fmt: skip
        self.steps: dict[str, dict] = {}

    def __enter__(self) -> Destinations:
        for server in (self.hubspot, *self.chat.values()):
            server.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        for server in (self.hubspot, *self.chat.values()):
            server.__exit__(*exc)

    def hubspot_config(self):
        from intent_pipeline.activation import HubSpotConfig

        return HubSpotConfig(base_url=self.hubspot.url, token=CANARIES["hubspot_token"], portal_id="4242")

    def activate(self, house: Lakehouse, day: date, run_id: str, step: str) -> dict:
        """``activate()`` for ``day``'s interval with every destination; records what reached each."""
        from intent_pipeline.activation import DingTalkConfig, activate

        from tests.activation.chat_vendors import VENDORS

        before_chat = {name: len(server.messages) for name, server in self.chat.items()}
        before_hubspot = len(self.hubspot.requests)
        dingtalk = self.chat["dingtalk"]
        more = tuple((VENDORS[name].destination, VENDORS[name].config(self.chat[name])) for name in
                     ("wecom", "feishu", "slack"))  # fmt: skip
        end = datetime.combine(day, datetime.min.time()) + timedelta(days=1)
        report = activate(settings_of(house), day, end, run_id,
                          hubspot=self.hubspot_config(),
                          dingtalk=DingTalkConfig(webhook_url=dingtalk.webhook_url, access_token=dingtalk.access_token,
                                                  secret=dingtalk.secret),
                          sleep=self.time.sleep, clock=self.time.clock, more=more)  # fmt: skip
        self.steps[step] = {
            "report": report,
            "chat": {name: [VENDORS[name].text(m) for m in server.messages[before_chat[name]:]]
                     for name, server in self.chat.items()},  # fmt: skip
            "hubspot": self.hubspot.requests[before_hubspot:],
        }
        return report


# whom a message names: by the domain of the (masked) address it shows
COMPANIES = {who: f"@{who.lower()}-mfg.cn" for who in ("Carl", "Ann", "Erin", "Bo", "Fay", "Hal", "Gus", "Kim")}
NEW, REASSIGNED = "新的高意向线索", "超时未跟进"  # the titles of the two kinds of alert (templates/)


def announced(texts: list[str], kind: str) -> list[str]:
    """Whom the messages of one kind name, by company (a message per lead: fewer than ``digest_over``)."""
    return sorted(who for text in texts if kind in text for who, company in COMPANIES.items() if company in text)


@pytest.fixture(scope="module")
def days(tmp_path_factory, dbt_parse_cache):
    """The six steps, built once for the module's tests; yields (lakehouse, destinations, log path)."""
    from intent_pipeline.privacy.erase import ErasureRequest, erase

    house = Lakehouse(tmp_path_factory.mktemp("first-crossing"))
    with logging_at_debug(house.base / "logs" / "activate.log") as log_path:
        with Destinations() as out:
            deliver(house, D1)
            house.extract(D1)
            house.dbt(D1, *SEEDS_AND_MODELS, *ACTIVATED)
            out.activate(house, D1, "scheduled__2026-11-10", "day1")

            deliver(house, D2)
            out.hubspot.enqueue(429, headers={"Retry-After": "1"})
            out.hubspot.enqueue(503)
            out.chat["slack"].rate_limit(retry_after=7)
            out.chat["dingtalk"].enqueue(130101)
            out.chat["wecom"].enqueue(45009)
            out.chat["feishu"].enqueue(9499, "internal error", status=500)
            house.extract(D2)
            house.dbt(D2, "run", *ACTIVATED)
            out.activate(house, D2, "scheduled__2026-11-11", "day2")

            house.extract(D2, loaded_at=datetime(2026, 11, 12, 9))
            house.dbt(D2, "run", *ACTIVATED)
            out.activate(house, D2, "scheduled__2026-11-11", "day2_again")

            deliver(house, D1, late=True)
            house.extract(D1, loaded_at=datetime(2026, 11, 12, 10))
            house.dbt(D1, "run", *ACTIVATED)
            out.activate(house, D1, "backfill__2026-11-10", "day1_late")

            out.steps["erase"] = erase(settings_of(house), [ErasureRequest("email", ERIN[1], "outside check")],
                                       rebuild_marts=False, destinations=[out.hubspot_config()])  # fmt: skip
            erased_at = len(out.hubspot.requests)

            deliver(house, D3)
            house.extract(D3)
            house.dbt(D3, "run", *ACTIVATED)
            out.activate(house, D3, "scheduled__2026-11-12", "day3")
            out.steps["erased_at"] = {"hubspot_requests": erased_at}
            yield house, out, log_path


def test_every_robot_announces_each_first_crossing_once(days):
    """New leads and, a day after routing without a CRM activity, their reassignment (docs/activation.md,
    "Lead routing and recycling"): each once; nothing from the re-run or the late day."""
    _, out, _ = days
    expected = {  # step: (newly hot, reassigned)
        "day1": (["Carl", "Erin"], []),
        "day2": (["Ann", "Hal"], ["Carl", "Erin"]),
        "day2_again": ([], []),
        # Bo crossed on day 1, delivered after day 2 was pushed: held back (stale), announced on day 3
        "day1_late": ([], []),
        # Ann is Carl now (the older id survives, its reassignment done on day 2); Bo is announced late, as
        # a new lead (not reassigned: nobody was told, so routing did not recycle him); Gus and Kim, hot only
        # together, are one person announced once (by the address it kept: Gus's or Kim's)
        "day3": (["Bo", "Fay", "Gus|Kim"], ["Hal"]),
    }
    for step, (new, reassigned) in expected.items():
        for vendor, texts in out.steps[step]["chat"].items():
            assert len(texts) == len(new) + len(reassigned), (step, vendor, texts)
            told = announced(texts, NEW)
            assert len(told) == len(new), (step, vendor, texts)
            assert all(who in choice.split("|") for who, choice in zip(told, new, strict=True)), (step, vendor, texts)
            assert announced(texts, REASSIGNED) == reassigned, (step, vendor, texts)
        report = out.steps[step]["report"]
        for vendor in out.chat:
            assert report[vendor]["rejected"] == report[vendor]["deferred"] == 0, (step, vendor, report[vendor])


def test_routing_recycles_only_leads_a_robot_told_counting_from_then(days):
    """docs/activation.md, "Lead routing and recycling": after day 3's build (before its activation), Hal,
    told on day 2 by every robot, was recycled a day later; Bo, held back everywhere, was told by no
    robot yet: not recycled, no told_at (before told_at, routing marked him alerted and recycled him)."""
    house, _, _ = days
    rows = house.build.query(
        "select p.email, a.recycle_count, a.alerted, a.told_at from marts.lead_assignments a"
        " join marts.people p using (person_id) where p.email in (?, ?)", HAL[1], BO[1]
    )  # fmt: skip
    assert sorted(rows) == [(BO[1], 0, False, None), (HAL[1], 1, True, datetime(2026, 11, 12))], rows


def test_the_rerun_and_the_late_day_send_nothing_and_the_crm_holds_each_contact_once(days):
    house, out, _ = days
    assert out.steps["day2_again"]["hubspot"] == []
    assert out.steps["day1_late"]["hubspot"] == []
    assert out.steps["day1_late"]["report"]["hubspot"]["stale"] > 0
    # the faults of day 2 (429 with Retry-After, then 503) were met and retried within the run
    day2 = out.steps["day2"]["report"]["hubspot"]
    assert day2["requests"] >= 3 and day2["deferred"] == day2["rejected"] == 0 and day2["sent_ok"] > 0, day2
    emails = sorted(out.hubspot.contacts)
    assert ERIN[1] not in emails
    assert {HAL[1], BO[1], FAY[1]} <= set(emails), emails
    # Ann and Carl are one person since day 3: one contact is left of their two
    people = {out.hubspot.contacts[e].get("intent_person_id") for e in emails}
    assert len(people) == len(emails), {e: out.hubspot.contacts[e] for e in emails}
    assert len([e for e in emails if e in (ANN[1], CARL[1])]) == 1, emails
    assert out.steps["day3"]["report"]["hubspot"]["merges"]["merged"] == 1, out.steps["day3"]["report"]


def test_an_erased_person_is_never_pushed_again(days):
    house, out, _ = days
    assert out.steps["erase"]["people"] == 1
    later = out.hubspot.requests[out.steps["erased_at"]["hubspot_requests"]:]
    sent = json.dumps([r.get("body") for r in later], ensure_ascii=False)
    for value in (ERIN[1], "Erin Wu", "13900000005", ERIN[3]):
        assert value not in sent
    for vendor, texts in out.steps["day3"]["chat"].items():
        assert not any("Erin" in text for text in texts), vendor


def test_hostile_values_arrive_as_text_in_every_robot(days):
    _, out, _ = days
    for vendor, texts in out.steps["day2"]["chat"].items():
        (hal,) = [text for text in texts if "@hal-mfg.cn" in text]
        assert "xoxb-1234567890-okLooksLikeAT0ken" in hal, vendor  # a value, not a secret: shown as it is
        for markup in (*MARKUP, *(MARKDOWN_ONLY if vendor != "slack" else ())):
            assert markup not in hal, (vendor, markup)
        # the company is cut, not the message: the score, the call to act and the owner are still there
        assert "长" * 20 + "…" in hal and "长" * 300 not in hal, (vendor, len(hal))
        assert "意向分70" in hal and "请立即跟进" in hal, (vendor, hal[-300:])


def test_no_secret_in_anything_the_days_wrote(days):
    from tests.activation.test_canary import written_texts

    house, out, log_path = days
    texts = written_texts(house.base)
    # Parquet is compressed: its rows as text too (the lake, quarantine, activation history, audit)
    import pyarrow.parquet as pq

    for path in house.base.rglob("*.parquet"):
        texts[f"{path}:rows"] = repr(pq.read_table(path).to_pylist())
    assert any("quarantine" in where and "s-204" in text for where, text in texts.items()), "the quarantine is searched"
    texts["reports"] = json.dumps({step: s.get("report") for step, s in out.steps.items()}, default=str)
    assert log_path.stat().st_size > 0 and any("quarantine" in where for where in texts)
    found = [(where, key) for where, text in texts.items() for key, canary in CANARIES.items() if canary in text]
    assert found == []
