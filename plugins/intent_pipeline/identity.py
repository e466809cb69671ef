"""Identity keys computed in Python the way the warehouse computes them in SQL.

``canonical_email`` is the Python twin of macro ``canonical_email`` (dbt_project/macros/identity.sql):
the synthetic workload's ground truth and the identity benchmark key emails with it, so their
identifiers are the graph's nodes. tests/test_bench_identity.py runs the macro's SQL on DuckDB over
a list of tricky addresses and checks that both give the same answer for every one.
"""

from __future__ import annotations

from typing import overload

# Gmail ignores dots in the local part and a ``+tag``; googlemail.com is the same mailbox.
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")
# These providers ignore a ``+tag`` but not dots.
PLUS_TAG_DOMAINS = (
    "outlook.com",
    "hotmail.com",
    "live.com",
    "icloud.com",
    "me.com",
    "proton.me",
    "protonmail.com",
    "fastmail.com",
)


@overload
def canonical_email(address: str) -> str: ...
@overload
def canonical_email(address: None) -> None: ...
def canonical_email(address: str | None) -> str | None:
    """The mailbox an address delivers to, as an identity key; rule for rule the SQL macro.

    The domain is the text between the first and the second ``@``, the local part the text before
    the first. Gmail (and googlemail.com, which becomes gmail.com) drops the ``+tag`` and the dots of
    the local part; Outlook/Hotmail/Live, iCloud, Proton and Fastmail drop the ``+tag``; any other
    address is returned as it is. Like the macro it neither trims nor lower-cases: it expects an
    address normalised the way the extract does (``intent_pipeline.sources.normalize.email``).
    ``None`` gives ``None``.
    """
    if address is None:
        return None
    parts = address.split("@")
    local, domain = parts[0], parts[1] if len(parts) > 1 else None
    if domain in GMAIL_DOMAINS:
        return local.split("+")[0].replace(".", "") + "@gmail.com"
    if domain in PLUS_TAG_DOMAINS:
        return f"{local.split('+')[0]}@{domain}"
    return address
