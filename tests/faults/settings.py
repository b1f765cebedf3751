"""The demo's settings for the fault tests' servers: PostgreSQL and Redis from the environment
(AUTHSTATUS_TEST_DB=postgres, AUTHSTATUS_TEST_CACHE=redis, PG*, REDIS_URL), a short
RESYNC_INTERVAL so the tests finish in seconds, and authstatus's log lines on stderr."""

import os

from demo_project.settings import *  # noqa: F403
from demo_project.settings import AUTHSTATUS

AUTHSTATUS = {**AUTHSTATUS, "RESYNC_INTERVAL": float(os.environ["FAULTS_RESYNC_INTERVAL"])}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"authstatus": {"handlers": ["stderr"], "level": "INFO", "propagate": False}},
}
