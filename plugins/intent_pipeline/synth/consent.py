"""Consent as the sample's exports carry it: a form's consent checkbox and the CRM's email opt-out.

Mixed on purpose, so that consent filtering has something to filter: per person, 70% tick the
form's consent box on every form, 20% never do, 10% tick it on some submissions and not others;
6% of CRM leads have opted out of email. Decided by a hash of the person (and the submission
time), not by the generator's random stream, so adding these columns changed no other value of
the sample (docs/sample.md).
"""

from __future__ import annotations

import hashlib

ALWAYS_SHARE = 0.70  # tick the box on every form
NEVER_SHARE = 0.20  # never tick it (the rest tick it on about half of their submissions)
EMAIL_OPT_OUT_SHARE = 0.06

# What each tool exports for a ticked and an unticked box (jinshuju: the option's text, or
# nothing; Typeform's Legal question: 1 or 0).
TICKED = {"jinshuju": ("同意", ""), "typeform": ("1", "0")}


def _unit(*parts: object) -> float:
    """A stable number in [0, 1) from the parts (sha256), independent of any random stream."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def ticks(person_key: str, ts: int) -> bool:
    """Whether this person ticks the consent box on the submission made at ``ts``."""
    kind = _unit("consent-kind", person_key)
    if kind < ALWAYS_SHARE:
        return True
    if kind < ALWAYS_SHARE + NEVER_SHARE:
        return False
    return _unit("consent-submission", person_key, ts) < 0.5


def form_consent(person_key: str, ts: int, tool: str) -> str:
    """The consent cell of a ``tool`` export (``jinshuju`` or ``typeform``) for this submission."""
    ticked, unticked = TICKED["jinshuju" if tool.startswith("jinshuju") else tool]
    return ticked if ticks(person_key, ts) else unticked


def crm_email_opt_out(person_key: str) -> str:
    """The CRM lead's ``Email Opt Out`` checkbox as Salesforce reports export it: 1 or 0."""
    return "1" if _unit("email-opt-out", person_key) < EMAIL_OPT_OUT_SHARE else "0"
