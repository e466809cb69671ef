"""What every destination that sends over HTTP shares: its session, its request count, its retries
and waits, and keeping its secrets out of every error.

``with_retries`` is the one retry loop of activation. A destination only classifies an attempt's
answer: ``Retry(reason, wait)`` (worth another attempt: a 429, a 5xx, a vendor's "too fast"), any
other value (the answer, or the row's failure: the loop ends with it), or an exception (a
``DestinationRefused``: the run fails). The loop retries timeouts and connection errors itself,
waits the server's ``Retry-After`` when the destination read one (``Retry.wait``) and exponential
backoff with jitter otherwise, and gives up (``GaveUp``) after ``attempts`` attempts or when the next
wait would take the waits past ``max_total_wait`` seconds. Waits go through the injected ``sleep``
and are summed (never read from a clock), so tests run them in virtual time.

A 4xx other than 429 is never retried by the shared rule (:func:`status_outcome`); a destination
retries one only where its vendor documents it (the CRM webhook's 408/409, Salesforce's
concurrent-request 403), in its own classification.

Secrets: every reason the loop records or logs, and every error raised through it, goes through
:func:`redact`: the destination's secrets (tokens, keys, the path token of a hook URL) and the
values of any URL's query string are replaced by ``[redacted]``. So do the records of urllib3's
logger, which prints every request line at DEBUG (``URL_LOGGERS``).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import weakref
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast
from urllib.parse import quote, quote_plus

from intent_pipeline.activation.ledger import REJECTED
from intent_pipeline.activation.retry import MAX_RETRY_AFTER, Sleep, backoff_delay, retry_after_seconds

if TYPE_CHECKING:
    import requests

    from intent_pipeline.activation.segments import Planned

log = logging.getLogger(__name__)

T = TypeVar("T")
C = TypeVar("C")
Outcome = tuple[str, str, str | None]  # (record key, status, reason) of one row

REDACTED = "[redacted]"
# Retries of one request never wait longer than this in all (the default cap of the waits' sum):
# five waits of a capped Retry-After (60 s), the most any destination's defaults ask for.
MAX_TOTAL_WAIT = 5 * MAX_RETRY_AFTER
# The query string of a URL (or of a path, as requests' errors print it): "?" after a path character.
_QUERY_RE = re.compile(r"(?<=[\w/.\-])\?[^\s'\"<>()\[\]]+")


class RateLimit(Protocol):
    """A client-side limit taken before each request (``retry.SlidingWindow``, ``retry.TokenBucket``)."""

    def take(self) -> float: ...


@dataclass(frozen=True)
class Retry:
    """An attempt's answer worth another attempt: why, and the wait the server asked for
    (``Retry-After``, a vendor's "wait a minute"); None: exponential backoff with jitter."""

    reason: str
    wait: float | None = None


@dataclass(frozen=True)
class GaveUp:
    """No answer worth keeping: attempts or waiting used up, or a request error not retried. ``reason``
    is redacted."""

    reason: str


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without the given secrets (as they are, or URL-encoded) and without the values of any
    URL query string (``?access_token=…&sign=…`` → ``?access_token=[redacted]&sign=[redacted]``).

    A secret is replaced where it is not part of a longer word (letters and digits on both sides), so
    a short test token such as ``tok`` leaves ``token`` alone.
    """
    text = _QUERY_RE.sub(_redact_query, text)
    forms = {form for secret in secrets if secret for form in (secret, quote(secret, safe=""), quote_plus(secret))}
    for form in sorted(forms, key=len, reverse=True):
        text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", REDACTED, text)
    return text


class _RedactRecords(logging.Filter):
    """Redacts the records of a library's logger that print request URLs (urllib3 logs every request
    line at DEBUG: ``"POST /robot/send?access_token=… HTTP/1.1" 200``) with every live sender's secrets."""

    def __init__(self) -> None:
        super().__init__()
        self.senders: weakref.WeakSet[HttpSender] = weakref.WeakSet()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, {secret for sender in list(self.senders) for secret in sender.secrets})
        if clean != message:
            record.msg, record.args = clean, None
        return True


# The loggers of the HTTP stack that name request URLs; the filter is installed on first use.
URL_LOGGERS = ("urllib3.connectionpool",)
_LOG_FILTER = _RedactRecords()


def _watch_logs(sender: HttpSender) -> None:
    """Keep ``sender``'s secrets out of the HTTP stack's own log records too."""
    _LOG_FILTER.senders.add(sender)
    for name in URL_LOGGERS:
        logger = logging.getLogger(name)
        if _LOG_FILTER not in logger.filters:
            logger.addFilter(_LOG_FILTER)


def _redact_query(match: re.Match[str]) -> str:
    pairs = match.group(0)[1:].split("&")
    return "?" + "&".join(f"{pair.split('=', 1)[0]}={REDACTED}" if "=" in pair else pair for pair in pairs)


def _redact_error(error: BaseException, clean: Callable[[str], str]) -> bool:
    """Redact ``error``'s message in place; True when it held a secret (its context is then dropped too:
    a chained exception, e.g. urllib3's, prints the same URL)."""
    text = str(error)
    redacted = clean(text)
    if redacted == text:
        return False
    error.args = (redacted,)
    return True


def status_outcome(response: requests.Response, reason: str) -> Retry | None:
    """The shared rule for an HTTP status: 429 is retried after its ``Retry-After`` (1 s without one),
    5xx with backoff; anything else (a 4xx above all) is not retried: None, the destination decides."""
    if response.status_code == 429:
        return Retry(reason, retry_after_seconds(response.headers.get("Retry-After")))
    if response.status_code >= 500:
        return Retry(reason)
    return None


def with_retries(
    attempt: Callable[[], T | Retry],
    *,
    attempts: int,
    sleep: Sleep,
    rng: random.Random,
    label: str,
    secrets: Collection[str] = (),
    retry_errors: bool = True,
    max_total_wait: float = MAX_TOTAL_WAIT,
) -> T | GaveUp:
    """Run ``attempt`` (one request and its classification) until it returns something else than a
    :class:`Retry`; see the module docstring.

    ``retry_errors=False``: a timeout or connection error ends the loop at once (a request that may
    have arrived and must not be repeated), ``GaveUp`` with the error. Any other exception raised by
    ``attempt`` propagates, its message redacted.
    """
    import requests
    from tenacity import RetryCallState, Retrying, retry_if_result

    def clean(text: str) -> str:
        return redact(text, secrets)  # read at each use: a destination may learn a secret (a new token) meanwhile

    def one() -> T | Retry | GaveUp:
        try:
            return attempt()
        except (requests.Timeout, requests.ConnectionError) as error:
            reason = clean(f"{type(error).__name__}: {error}")
            return Retry(reason) if retry_errors else GaveUp(reason)
        except Exception as error:
            if _redact_error(error, clean):
                raise error from None
            raise

    def last(state: RetryCallState) -> Retry:
        assert state.outcome is not None  # tenacity calls these after an attempt
        return cast(Retry, state.outcome.result())

    def wait(state: RetryCallState) -> float:
        asked = last(state).wait
        return backoff_delay(state.attempt_number - 1, rng) if asked is None else asked

    def stop(state: RetryCallState) -> bool:
        return state.attempt_number >= attempts or state.idle_for + state.upcoming_sleep > max_total_wait + 1e-9

    def before_sleep(state: RetryCallState) -> None:
        reason, number = clean(last(state).reason), state.attempt_number
        log.info("%s: %s; retry %d/%d in %.1f s", label, reason, number, attempts - 1, state.upcoming_sleep)

    def give_up(state: RetryCallState) -> GaveUp:
        reason, number = clean(last(state).reason), state.attempt_number
        if number < attempts:
            return GaveUp(
                f"gave up after {number} attempts (waiting {state.upcoming_sleep:.1f} s more would pass "
                f"{max_total_wait:.0f} s of waiting), last: {reason}"
            )
        return GaveUp(f"gave up after {attempts} attempts, last: {reason}")

    retrying = Retrying(
        sleep=sleep,
        stop=stop,
        wait=wait,
        retry=retry_if_result(lambda outcome: isinstance(outcome, Retry)),
        before_sleep=before_sleep,
        retry_error_callback=give_up,
    )
    return cast("T | GaveUp", retrying(one))


def _as_is(request: Any) -> Any:
    """An auth hook that changes nothing: destinations authenticate with their own headers or URLs."""
    return request


def new_session() -> requests.Session:
    """A ``requests.Session`` for one destination run.

    Its ``auth`` is set (to a hook that changes nothing) so that requests does not look for a
    ``~/.netrc`` entry on every request: measured at 0.09 s per request on a shared 2-core
    machine, a third of the time of a DingTalk message. Proxies from the environment still apply.
    """
    import requests

    session = requests.Session()
    session.auth = _as_is
    return session


def body_message(response: requests.Response, keys: Sequence[str], *, first: bool = False, limit: int = 300) -> str:
    """The error message of a JSON response body: the values of ``keys`` it has, joined with ``": "``
    (or only the first of them, with ``first``); else the start of the body. At most ``limit`` characters."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:limit]
    if isinstance(data, dict):
        parts = [str(data[key]) for key in keys if data.get(key)]
        if parts:
            return (parts[0] if first else ": ".join(parts))[:limit]
    return str(data)[:limit]


def rejected_or_bisected(
    items: Sequence[Planned], reason: str, send: Callable[[list[Planned]], dict[str, tuple[str, str | None]]]
) -> dict[str, tuple[str, str | None]]:
    """The outcomes of a batch the API refused as a whole (one bad record fails the whole call):
    a single record is rejected with ``reason``; more are sent again in two halves (``send``), so a
    bad record is isolated in log2(n) calls and the good ones go through."""
    if len(items) == 1:
        return {items[0].key: (REJECTED, reason)}
    middle = len(items) // 2
    return {**send(list(items[:middle])), **send(list(items[middle:]))}


class HttpSender(Generic[C]):
    """Mixed into every destination that sends over HTTP: ``requests`` counts the requests made
    (retries included), ``sleeps`` the waits asked for (through the injected ``sleep``),
    ``exhausted`` why the API allocation is used up (run_destination then defers every later batch
    without a call; None while it is not), ``secrets`` what :meth:`redact` keeps out of reasons and
    errors (the config's ``secrets``), and a
    session is opened on first use in each sending thread (``requests.Session`` is not meant to be
    shared between threads) with the destination's ``_headers()``; ``close()`` closes them all."""

    name: str
    config: C | None

    def _start_http(self, sleep: Sleep, rng: random.Random | None = None, secrets: Iterable[str] = ()) -> None:
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.requests = 0
        self.sleeps: list[float] = []
        self.exhausted: str | None = None
        self.secrets: set[str] = {secret for secret in secrets if secret}
        _watch_logs(self)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def _headers(self) -> dict[str, str]:
        return {}

    def _http(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = new_session()
            session.headers.update(self._headers())
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.sleep(seconds)

    def redact(self, text: str) -> str:
        """``text`` without this destination's secrets and URL query values."""
        return redact(text, self.secrets)

    def _outcomes(self, items: Iterable[Planned], outcomes: dict[str, tuple[str, str | None]]) -> list[Outcome]:
        """``(key, status, reason)`` per item, in the batch's order, reasons redacted."""
        out: list[Outcome] = []
        for item in items:
            status, reason = outcomes[item.key]
            out.append((item.key, status, None if reason is None else self.redact(reason)))
        return out

    @property
    def sending(self) -> C:
        """The config, to send with (a destination without one writes the outbox and never sends)."""
        if self.config is None:
            raise RuntimeError(f"{self.name}: no connection configured: nothing is sent (outbox mode)")
        return self.config

    def _with_retries(
        self,
        attempt: Callable[[], T | Retry],
        *,
        attempts: int,
        label: str | None = None,
        limits: Sequence[RateLimit] = (),
        retry_errors: bool = True,
    ) -> T | GaveUp:
        """:func:`with_retries` with this destination's sleep, jitter and secrets; each attempt first
        takes its turn in ``limits`` and is counted in ``requests``."""

        def counted() -> T | Retry:
            for limit in limits:
                limit.take()
            self._count_request()
            return attempt()

        return with_retries(
            counted,
            attempts=attempts,
            sleep=self._sleep,
            rng=self.rng,
            label=label or self.name,
            secrets=self.secrets,
            retry_errors=retry_errors,
        )

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._local = threading.local()
