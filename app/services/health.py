"""Health of the parts the app cannot work without; reports carry no secrets or paths."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text

from app.storage import BlobStore

log = logging.getLogger("tipline.health")


@dataclass(frozen=True)
class HealthReport:
    database: bool
    blob_store: bool
    rate_limits: bool

    @property
    def healthy(self) -> bool:
        return self.database and self.blob_store and self.rate_limits

    def as_json(self) -> dict[str, str]:
        def word(ok: bool) -> str:
            return "ok" if ok else "unavailable"

        return {
            "status": word(self.healthy),
            "database": word(self.database),
            "blob_store": word(self.blob_store),
            "rate_limits": word(self.rate_limits),
        }


def check_health(
    engine: Engine, blob_store: BlobStore, rate_limits_reachable: Callable[[], bool]
) -> HealthReport:
    """Probe the database, the blob store and the rate-limit storage; never raises.

    While Redis is down the app keeps counting limits per worker in memory, so requests are
    served; the report still says ``rate_limits: unavailable`` so that someone looks.
    """
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database_ok = True
    except Exception as error:  # any failure means "unavailable"; the type goes to the log
        log.warning("database health check failed: %s", type(error).__name__)
        database_ok = False
    try:
        blob_store.check()
        blobs_ok = True
    except Exception as error:
        log.warning("blob store health check failed: %s", type(error).__name__)
        blobs_ok = False
    try:
        limits_ok = rate_limits_reachable()
    except Exception as error:
        log.warning("rate limit storage health check failed: %s", type(error).__name__)
        limits_ok = False
    return HealthReport(database=database_ok, blob_store=blobs_ok, rate_limits=limits_ok)
