"""Schemathesis, an independent tool, tests the live demo against its generated OpenAPI schema.

The demo runs as a real ``runserver`` process on a free loopback port, with its own SQLite
database migrated and seeded by ``seed_demo`` (so its API policies are database rows, as in
the real demo). Schemathesis reads ``/api/schema/`` from it and sends generated requests —
once anonymously, once with alice's ``read write`` token — checking every response's status
code, content type, headers and body against the schema (``--checks all``), with three
exclusions, each an expectation this API breaks by design (and no NUL characters generated: DRF
refuses them in every string, which the schema cannot say):

* ``unsupported_method`` expects ``405`` for undeclared methods; a *concealed* resource must
  answer ``404`` instead (a ``405`` would tell it exists);
* ``negative_data_rejection`` expects a schema-violating body to be refused; DRF's parsers
  accept some by design (form fields are all strings, so ``"text": 12`` is valid text;
  unknown and read-only fields are ignored). It judges the serializers, not the refusals;
* ``ignored_auth`` (token run only) replaces one security scheme's credentials with garbage
  and expects a refusal, while the valid bearer header of the other scheme still
  authenticates: security requirements are alternatives (OpenAPI 3.0.3 §4.8.30).

Bounded: ``--max-examples`` and ``--max-time`` per run. Marked ``openapi``: ``make test``
deselects it; run ``pytest -m openapi -s`` or ``.ci/run openapi``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from demo_project.api.tour import READ_WRITE_TOKEN

pytestmark = pytest.mark.openapi

ROOT = Path(__file__).resolve().parent.parent
MAX_EXAMPLES = os.environ.get("AUTHSTATUS_SCHEMATHESIS_EXAMPLES", "20")
MAX_TIME = os.environ.get("AUTHSTATUS_SCHEMATHESIS_SECONDS", "45")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the demo server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    pytest.fail(f"the demo server did not answer {url} within {timeout} s")


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("demo")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "demo_project.settings",
        "DEMO_SQLITE_PATH": str(home / "db.sqlite3"),
        "DEMO_CACHE_DIR": str(home / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AUTHSTATUS_TEST_DB", None)  # the demo's own SQLite, whatever the suite uses
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run([*manage, *command], env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    log = (home / "server.log").open("wb")
    process = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base + "/api/schema/", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _schemathesis(base: str, cwd: Path, *extra: str) -> tuple[int, str]:
    executable = Path(sys.executable).parent / "schemathesis"
    if not executable.exists():
        pytest.fail("schemathesis is not installed: pip install -e '.[test]'", pytrace=False)
    command = [
        str(executable),
        "run",
        base + "/api/schema/",
        "--max-examples",
        MAX_EXAMPLES,
        "--max-time",
        MAX_TIME,
        "--seed",
        "12",
        "--workers",
        "1",
        "--no-color",
        "--generation-database",
        "none",
        "--request-timeout",
        "10",
        # DRF's CharField refuses NUL characters (ProhibitNullCharactersValidator), which
        # JSON Schema cannot express for OpenAPI 3.0 strings.
        "--generation-allow-x00",
        "false",
        *extra,
    ]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    return result.returncode, result.stdout + result.stderr


def _summary(output: str) -> str:
    start = output.find("SUMMARY")
    return output[output.rfind("\n", 0, start) + 1 :] if start >= 0 else output[-3000:]


@pytest.mark.parametrize(
    ("name", "extra"),
    [
        (
            "anonymous",
            [
                "--checks",
                "all",
                "--exclude-checks",
                "unsupported_method,negative_data_rejection",
            ],
        ),
        (
            "bearer read write",
            [
                "--header",
                f"Authorization: Bearer {READ_WRITE_TOKEN}",
                "--checks",
                "all",
                "--exclude-checks",
                "unsupported_method,ignored_auth,negative_data_rejection",
            ],
        ),
    ],
)
def test_schemathesis_finds_nothing_outside_the_schema(demo_server, tmp_path, name, extra):
    rc, output = _schemathesis(demo_server, tmp_path, *extra)
    summary = _summary(output)
    print(f"\n--- schemathesis ({name}) ---\n{summary}")  # the evidence, with -s
    assert rc == 0, output[-6000:]
    assert " passed" in summary, summary
    assert "failure" not in summary, summary
    assert "generated" in summary, summary
