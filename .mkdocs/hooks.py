"""mkdocs hooks (mkdocs.yml `hooks:`): the docstrings cross-reference with Sphinx roles
(``:class:`Decision```), which mkdocstrings renders as Markdown, leaving the role's name in
front of the code span. Drop it: the code span is what a reader needs."""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const|rfc):(?=<code>)")


def on_page_content(html: str, **kwargs: Any) -> str:
    return ROLE.sub("", html)
