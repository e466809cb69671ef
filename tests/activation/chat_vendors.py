"""How the chat tests drive each vendor (DingTalk, WeCom, Feishu/Lark, Slack): its local fake
server, its config, its destination, the visible text of a message, and its scripted failures.
The ``vendor`` and ``fake_time`` fixtures (conftest.py) run a test once per vendor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from intent_pipeline.activation.dingtalk import DingTalkConfig, DingTalkDestination
from intent_pipeline.activation.feishu import FeishuConfig, FeishuDestination
from intent_pipeline.activation.slack import SlackConfig, SlackDestination
from intent_pipeline.activation.wecom import WeComConfig, WeComDestination

from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.feishu import FakeFeishu
from tests.fakes.slack import FakeSlack
from tests.fakes.wecom import FakeWeCom


class FakeTime:
    """A clock that only moves when something sleeps: a minute of rate limiting in no time."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def wecom_text(message: dict) -> str:
    return message["markdown"]["content"]


def dingtalk_text(message: dict) -> str:
    return "\n".join([message["markdown"]["title"], message["markdown"]["text"]])


def element_text(element: dict) -> str:
    """A Feishu card element's text: a ``markdown`` element's content, or a ``div``'s ``lark_md`` text."""
    return element["content"] if "content" in element else element["text"]["content"]


def feishu_text(message: dict) -> str:
    card = message["card"]
    return "\n".join([card["header"]["title"]["content"], *map(element_text, card["elements"])])


def slack_text(message: dict) -> str:
    return "\n".join([message["text"], *(b["text"]["text"] for b in message["blocks"])])


@dataclass(frozen=True)
class Vendor:
    """How a test drives one vendor: its fake, its config, its destination, and its scripted failures."""

    name: str
    server: Callable  # (fake_time, **options) -> fake server
    config: Callable  # (server, **overrides) -> config
    destination: type
    text: Callable[[dict], str]  # a received message's visible text
    rate_limit: Callable  # (server) -> the wait the vendor asks for; scripts one rate-limit answer
    reject: Callable  # (server, text) -> scripts one rejection of the message


def _wecom_rate_limit(server) -> float:
    server.enqueue(45009)
    return 60.0


def _dingtalk_rate_limit(server) -> float:
    server.enqueue(130101)
    return 60.0


def _feishu_rate_limit(server) -> float:
    server.enqueue(11232)
    return 60.0


def _slack_rate_limit(server) -> float:
    server.rate_limit(retry_after=7)
    return 7.0


VENDORS = {
    "dingtalk": Vendor(
        "dingtalk",
        lambda t, **kw: FakeDingTalk(clock=t.clock, max_per_minute=20, **kw),
        lambda s, **kw: DingTalkConfig(
            **{"webhook_url": s.webhook_url, "access_token": s.access_token, "secret": s.secret, **kw}
        ),
        DingTalkDestination,
        dingtalk_text,
        _dingtalk_rate_limit,
        lambda s, text: s.enqueue(40035, text),
    ),
    "wecom": Vendor(
        "wecom",
        lambda t, **kw: FakeWeCom(clock=t.clock, **kw),
        lambda s, **kw: WeComConfig(**{"webhook_url": s.webhook_url, "key": s.key, **kw}),
        WeComDestination,
        wecom_text,
        _wecom_rate_limit,
        lambda s, text: s.enqueue(40035, text),
    ),
    "feishu": Vendor(
        "feishu",
        lambda t, **kw: FakeFeishu(clock=t.clock, **kw),
        lambda s, **kw: FeishuConfig(**{"webhook_url": s.webhook_url, "secret": s.secret, **kw}),
        FeishuDestination,
        feishu_text,
        _feishu_rate_limit,
        lambda s, text: s.enqueue(11310, text),
    ),
    "slack": Vendor(
        "slack",
        lambda t, **kw: FakeSlack(**kw),
        lambda s, **kw: SlackConfig(**{"webhook_url": s.webhook_url, **kw}),
        SlackDestination,
        slack_text,
        _slack_rate_limit,
        lambda s, text: s.enqueue(400, text),
    ),
}
