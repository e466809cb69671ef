"""Every relative link in README.md and docs/*.md resolves: the file exists and, with a ``#anchor``,
the target Markdown file has a heading with that slug (GitHub's rules) or an ``<a id/name>``."""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+).*?\1")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s[^>]*(?:id|name)=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _prose_lines(text: str) -> Iterator[tuple[int, str]]:
    """The lines outside fenced code blocks, with their numbers."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def slug(heading: str) -> str:
    """GitHub's heading slug (github-slugger): the rendered text lower-cased, every character that is
    not a letter, mark, digit, ``_``, ``-`` or space removed, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text)  # HTML tags
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # _emphasis_, not snake_case
    kept = []
    for char in text.lower():
        category = unicodedata.category(char)
        if char in "-_ " or category[0] in "LNM":
            kept.append(char)
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors a Markdown file offers: heading slugs (a repeated one gets -1, -2, ...) and HTML ids."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        found.update(_HTML_ANCHOR.findall(line))
        match = _HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(path: Path) -> Iterator[tuple[int, str]]:
    """The link targets of a Markdown file outside code: inline links, images and reference definitions."""
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        prose = _INLINE_CODE.sub("", line)
        for target in _LINK.findall(prose):
            yield number, target
        reference = _REFERENCE.match(prose)
        if reference:
            yield number, reference.group(1)


def broken_links(path: Path) -> list[str]:
    """Every relative link of ``path`` whose file or anchor does not exist, as ``file:line: target (why)``."""
    problems = []
    anchor_cache: dict[Path, set[str]] = {}
    for number, target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # http:, https:, mailto: ...
            continue
        file_part, _, anchor = target.partition("#")
        destination = (path.parent / unquote(file_part)).resolve() if file_part else path
        where = f"{path.relative_to(ROOT)}:{number}: {target}"
        if not destination.exists():
            problems.append(f"{where} (no such file)")
            continue
        if not anchor or destination.suffix.lower() != ".md":
            continue
        if destination not in anchor_cache:
            anchor_cache[destination] = anchors(destination)
        if unquote(anchor).lower() not in anchor_cache[destination]:
            problems.append(f"{where} (no heading with that anchor in {destination.name})")
    return problems


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_relative_link_in_readme_and_docs_resolves() -> None:
    problems = [problem for page in _pages() for problem in broken_links(page)]
    assert not problems, "broken links:\n" + "\n".join(problems)


def test_the_checker_sees_links_and_anchors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A planted broken file link and a planted broken anchor are both reported; good ones are not."""
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "area.md").write_text(
        "# Area\n\n## The raw gate, in `bounded` memory (rawgate, 7 December 2026)\n\n## Notes\n\n## Notes\n"
        '<a id="kept-id"></a>\n```\n## not a heading\n```\n',
        encoding="utf-8",
    )
    readme = tmp_path / "README.md"
    readme.write_text(
        "[ok](docs/area.md#the-raw-gate-in-bounded-memory-rawgate-7-december-2026) [dup](docs/area.md#notes-1)\n"
        "[id](docs/area.md#kept-id) [web](https://example.com/x#y) [self](#good) `[code](nowhere.md)`\n"
        "## Good\n[gone](docs/missing.md) [bad](docs/area.md#not-a-heading) [img](docs/img/x.png)\n",
        encoding="utf-8",
    )
    problems = broken_links(readme)
    assert [p.split(": ", 1)[1] for p in problems] == [
        "docs/missing.md (no such file)",
        "docs/area.md#not-a-heading (no heading with that anchor in area.md)",
        "docs/img/x.png (no such file)",
    ]


def test_slug_follows_githubs_rules() -> None:
    assert slug("Measured: the twelfth pass, the penalty judged by the paired difference") == (
        "measured-the-twelfth-pass-the-penalty-judged-by-the-paired-difference"
    )
    assert slug("Per CRM lead: `marts.crm_lead_scores`") == "per-crm-lead-martscrm_lead_scores"
    assert slug("The 100,000-person day (m100k, 7 December 2026)") == "the-100000-person-day-m100k-7-december-2026"
    assert slug("Identity — 王伟 and Wang Wei") == "identity--王伟-and-wang-wei"
