"""Apply README.md's quickstart, as written, to a project made by `django-admin startproject`,
then prove it: `check --fail-level WARNING`, `migrate`, and one anonymous request to a real
`runserver` on a free loopback port, which must be answered 401 with its challenges.

    python .ci/quickstart.py apply README.md PROJECT_DIR PACKAGE
    python .ci/quickstart.py probe PROJECT_DIR PACKAGE

The README marks each snippet with an HTML comment `<!-- quickstart:FILE ... -->` (invisible on
GitHub) right before its fenced block; `apply` appends that block to PACKAGE/FILE unchanged, so
what CI tests is exactly what users read. Run by the interpreter of the virtualenv that has the
built wheel installed (`probe` parses WWW-Authenticate with authstatus's own parser).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

MARKER = re.compile(
    r"^<!-- quickstart:(?P<file>[\w./-]+)\b[^\n]*-->\s*\n```python\n(?P<code>.*?)^```", re.M | re.S
)
EXPECTED_SCHEMES = ["Bearer", "Cookie", "Basic"]


def snippets(readme: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in MARKER.finditer(readme.read_text(encoding="utf-8")):
        if match["file"] in found:
            sys.exit(f"{readme}: two quickstart blocks for {match['file']}")
        found[match["file"]] = match["code"]
    if set(found) != {"settings.py", "urls.py"}:
        sys.exit(f"{readme}: expected blocks for settings.py and urls.py, found {sorted(found)}")
    return found


def apply(readme: Path, project: Path, package: str) -> None:
    for name, code in snippets(readme).items():
        target = project / package / name
        if not target.is_file():
            sys.exit(f"{target} does not exist: not a startproject layout?")
        with target.open("a", encoding="utf-8") as f:
            f.write("\n\n# --- README.md quickstart, appended by .ci/quickstart.py ---\n" + code)
        print(f"appended {len(code.splitlines())} lines of README.md's quickstart to {target}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, list[str], bytes]:
    # S310: an http:// URL on loopback that probe() builds itself.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            challenges = response.headers.get_all("WWW-Authenticate") or []
            return response.status, challenges, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get_all("WWW-Authenticate") or [], error.read()


def probe(project: Path, package: str) -> None:
    from authstatus.core.challenges import parse_challenges

    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": f"{package}.settings"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/whoami/"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, lines, body = _get(url)
                break
            except (ConnectionError, urllib.error.URLError):
                if server.poll() is not None or time.monotonic() > deadline:
                    output = server.stdout.read() if server.stdout else ""
                    sys.exit(f"runserver did not answer on 127.0.0.1:{port}:\n{output}")
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"GET {url} (anonymous, Accept: application/json) -> {status}")
    for line in lines:
        print(f"  WWW-Authenticate: {line}")
    if status != 401:
        sys.exit(f"expected 401, got {status}: {body[:500]!r}")
    schemes = [c.scheme for c in parse_challenges(lines)]
    print(f"  parsed challenges: {schemes}")
    if schemes != EXPECTED_SCHEMES:
        sys.exit(f"expected challenges {EXPECTED_SCHEMES}, got {schemes}")
    # The Cookie challenge's form-action must be a page the project has (the issue: it named
    # a login URL a new project did not have).
    cookie = next(c for c in parse_challenges(lines) if c.scheme == "Cookie")
    form_action = dict(cookie.params)["form-action"]
    resolved = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from django.urls import resolve; print(resolve({form_action!r}).view_name)",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if resolved.returncode != 0:
        sys.exit(f"form-action {form_action} resolves to no view:\n{resolved.stderr}")
    print(
        f"  Cookie form-action {form_action} -> view {resolved.stdout.strip().splitlines()[-1]!r}"
    )
    problem = json.loads(body)
    print(f"  body: type={problem.get('type')} status={problem.get('status')}")
    if problem.get("status") != 401 or not problem.get("type"):
        sys.exit(f"expected a 401 problem details body, got {problem}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["apply"] and len(argv) == 4:
        apply(Path(argv[1]), Path(argv[2]), argv[3])
    elif argv[:1] == ["probe"] and len(argv) == 3:
        probe(Path(argv[1]), argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
