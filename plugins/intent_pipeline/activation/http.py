"""One HTTP session factory for every destination."""

from __future__ import annotations


def _as_is(request):
    """An auth hook that changes nothing: destinations authenticate with their own headers or URLs."""
    return request


def new_session():
    """A ``requests.Session`` for one destination run.

    Its ``auth`` is set (to a hook that changes nothing) so that requests does not look for a
    ``~/.netrc`` entry on every request: measured at 0.09 s per request on a shared 2-core
    machine, a third of the time of a DingTalk message. Proxies from the environment still apply.
    """
    import requests

    session = requests.Session()
    session.auth = _as_is
    return session
