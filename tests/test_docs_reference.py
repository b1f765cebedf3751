"""The reference pages stay true to the code: every setting, check id and problem type has
the section (and the anchor) that users, hint texts and problem ``type`` URIs point at.

Anchors are computed as the docs site computes them (Python-Markdown's toc ``slugify``, the
mkdocs default), so a heading renamed in the Markdown breaks these tests, not a user's link.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from authstatus.checks.codes import Codes
from authstatus.conf import DEFAULTS
from authstatus.core.decision import Outcome

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.M)
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
# `PROBLEM_TYPE_BASE + "slug"` anywhere in the package: a problem type outside Outcome.
TYPE_LITERAL = re.compile(r"PROBLEM_TYPE_BASE\s*\+\s*[\"']([a-z0-9-]+)[\"']")


def slugify(text: str) -> str:
    """Python-Markdown's ``toc`` slugify, after the inline markup the toc strips."""
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def headings(page: str) -> dict[str, str]:
    """Heading text (inline code unwrapped) -> anchor, ignoring lines inside code fences."""
    text = FENCE.sub("", (DOCS / page).read_text(encoding="utf-8"))
    return {re.sub(r"`([^`]*)`", r"\1", m[2]): slugify(m[2]) for m in HEADING.finditer(text)}


def check_ids() -> list[str]:
    return sorted(v for k, v in vars(Codes).items() if k.isupper() and isinstance(v, str))


def problem_slugs() -> list[str]:
    emitted = {o.value for o in Outcome if o is not Outcome.ALLOWED}
    for source in (ROOT / "authstatus").rglob("*.py"):
        emitted.update(TYPE_LITERAL.findall(source.read_text(encoding="utf-8")))
    return sorted(emitted)


def test_slugify_matches_the_sites_anchors() -> None:
    # The anchors other pages already link to (checked by `mkdocs build --strict`).
    assert slugify("`CACHE_ALIAS`") == "cache_alias"
    assert slugify("authstatus.E001") == "authstatuse001"
    assert slugify("`authstatus.core.decision`") == "authstatuscoredecision"
    assert slugify("invalid-request") == "invalid-request"


def test_the_registries_are_not_empty() -> None:
    assert len(DEFAULTS) >= 10
    assert len(check_ids()) >= 20
    assert "policies-unavailable" in problem_slugs()
    assert "authentication-required" in problem_slugs()


@pytest.mark.parametrize("key", sorted(DEFAULTS))
def test_every_setting_has_its_section(key: str) -> None:
    sections = headings("reference/settings.md")
    assert key in sections, f"docs/reference/settings.md has no '## `{key}`' section"
    assert sections[key] == key.lower()


@pytest.mark.parametrize("check_id", check_ids())
def test_every_check_id_has_its_entry(check_id: str) -> None:
    assert check_id in headings("reference/checks.md"), (
        f"docs/reference/checks.md has no '### {check_id}' entry"
    )


def test_every_documented_check_id_exists() -> None:
    documented = {h for h in headings("reference/checks.md") if h.startswith("authstatus.")}
    assert documented <= set(check_ids()), sorted(documented - set(check_ids()))


def test_problem_type_base_points_at_the_problems_page() -> None:
    base = urlsplit(str(DEFAULTS["PROBLEM_TYPE_BASE"]))
    assert base.fragment == ""
    assert str(DEFAULTS["PROBLEM_TYPE_BASE"]).endswith("#")
    # mkdocs' directory URLs: reference/problems.md is served at .../reference/problems/.
    page = base.path.removeprefix("/en/latest/").rstrip("/") + ".md"
    assert (DOCS / page).is_file(), f"PROBLEM_TYPE_BASE points at {page}, which is missing"
    site_url = re.search(
        r"^site_url:\s*(\S+)", (ROOT / "mkdocs.yml").read_text(encoding="utf-8"), re.M
    )
    assert site_url is not None
    assert str(DEFAULTS["PROBLEM_TYPE_BASE"]).startswith(site_url[1])


@pytest.mark.parametrize("slug", problem_slugs())
def test_every_problem_type_has_its_anchor(slug: str) -> None:
    anchors = set(headings("reference/problems.md").values())
    assert slug in anchors, f"docs/reference/problems.md has no '### {slug}' section"
