"""Edits a policy through the ORM, back and forth, and logs when each edit took effect.

Run by :mod:`benchmarks.bench_throughput` as a separate process (same settings, same database
and file cache as gunicorn's workers)::

    python -m benchmarks.flipper PATH SECONDS INTERVAL LOG

Every ``INTERVAL`` seconds it switches the ``ResourcePolicy`` on ``PATH`` between
``anonymous`` and ``nobody`` with ``save()`` — what the admin does — and appends
``start end access`` to ``LOG`` (``time.monotonic()`` before ``save()`` and after it returned,
by which time the transaction is committed and the new policy version is in the cache).
"""

from __future__ import annotations

import os
import sys
import time

STATES = ("anonymous", "nobody")


def main(argv: list[str]) -> int:
    path, seconds, interval, log = argv[0], float(argv[1]), float(argv[2]), argv[3]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from authstatus.models import ResourcePolicy

    policy = ResourcePolicy.objects.get(path=path)
    end = time.monotonic() + seconds
    flips = 0
    with open(log, "a", encoding="ascii") as out:
        while time.monotonic() < end:
            time.sleep(interval)
            policy.access = STATES[(STATES.index(policy.access) + 1) % len(STATES)]
            start = time.monotonic()
            policy.save()
            done = time.monotonic()
            out.write(f"{start:.6f} {done:.6f} {policy.access}\n")
            out.flush()
            flips += 1
    print(f"flipper: {flips} edits", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
