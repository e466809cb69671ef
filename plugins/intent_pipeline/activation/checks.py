"""The rules a destination's settings pass, one home each: an http(s) URL, a least value, a range.

Each destination's config calls them from its ``__post_init__`` with the setting's name as its
errors say it (``"HubSpot batch_size"``). Cheap to import, like ``config``.
"""

from __future__ import annotations

from intent_pipeline.activation.config import ActivationConfigError


def check_http_url(setting: str, url: str, note: str = "") -> None:
    """A destination's URL setting is an http(s) URL (``note``: where the setting comes from)."""
    if not url.startswith(("http://", "https://")):
        raise ActivationConfigError(f"{setting} must be an http(s) URL{note}, got {url!r}")


def check_at_least(setting: str, value: float, least: float) -> None:
    """A numeric setting is ``least`` or more."""
    if value < least:
        raise ActivationConfigError(f"{setting} must be >= {least}, got {value}")


def check_between(setting: str, value: float, least: float, most: float) -> None:
    """A numeric setting is from ``least`` to ``most`` (a batch's size, a number of workers)."""
    if not least <= value <= most:
        raise ActivationConfigError(f"{setting} must be {least}..{most}, got {value}")
