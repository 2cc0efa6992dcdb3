"""Opening the MLflow store safely when several runs share it.

MLflow creates and migrates a new SQLite store on first use, in every process that opens it;
two runs starting at once in a fresh folder both migrate and one dies
(`duplicate column name: step`). Here the first opening happens under an inter-process file lock
beside the database (`mlflow.db.lock`, with `mlflow.db.lock.owner` saying which process holds
it): exactly one process creates or upgrades the store, the others wait, then use it. A store
still locked after `SCALPER_TUNE_MLFLOW_WAIT_S` seconds (default 120) is a one-line error (exit
2) naming the store and its holder. Writes that meet SQLite's "database is locked" are retried
with exponential backoff instead of becoming tracebacks.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
import warnings
from pathlib import Path

from filelock import FileLock, Timeout
from mlflow.tracking import MlflowClient

from scalper_tune.errors import UsageError

WAIT_ENV = "SCALPER_TUNE_MLFLOW_WAIT_S"
DEFAULT_WAIT_S = 120.0
RETRIES = 8  # backoff 0.05 s doubling: about 13 s in all
BACKOFF_S = 0.05

log = logging.getLogger("scalper_tune.tracking")
# "Creating initial MLflow database tables..." on every new store: not news for the user
logging.getLogger("mlflow.store.db.utils").setLevel(logging.WARNING)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///` URI, else None (a server, postgres, ...)."""
    prefix = "sqlite:///"
    return Path(uri[len(prefix):]) if uri.startswith(prefix) else None


def _is_locked_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database table is locked" in text


class RetryingClient:
    """An MlflowClient whose calls are retried while SQLite says the database is locked."""

    def __init__(self, client: MlflowClient):
        self._client = client

    def __getattr__(self, name: str):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        @functools.wraps(attr)
        def call(*args, **kwargs):
            delay = BACKOFF_S
            for attempt in range(RETRIES + 1):
                try:
                    return attr(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - only "locked" is retried
                    if attempt == RETRIES or not _is_locked_error(exc):
                        raise
                    log.debug("MLflow store busy (%s); retrying in %.2f s", name, delay)
                    time.sleep(delay)
                    delay *= 2

        return call


def _holder(owner: Path) -> str:
    try:
        text = owner.read_text().strip()
    except OSError:
        text = ""
    return text or "another process (it left no owner note)"


def open_client(uri: str, wait_s: float | None = None) -> RetryingClient:
    """An MLflow client whose store exists and is migrated; the first opening of a local SQLite
    store runs under the store's file lock (see the module docstring)."""
    db = sqlite_path(uri)
    if db is None:
        return RetryingClient(MlflowClient(tracking_uri=uri))
    wait_s = float(os.environ.get(WAIT_ENV, DEFAULT_WAIT_S)) if wait_s is None else wait_s
    db.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{db}.lock")
    owner = Path(f"{db}.lock.owner")
    try:
        lock.acquire(timeout=wait_s)
    except Timeout:
        raise UsageError(f"MLflow store {db}: still locked after {wait_s:g} s by {_holder(owner)}. "
                         f"Wait for it to finish, or if that process is gone, delete {owner.name} "
                         f"and {Path(lock.lock_file).name} beside the store.") from None
    try:
        owner.write_text(f"pid {os.getpid()} on {socket.gethostname()} since "
                         f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}\n")
        with warnings.catch_warnings():  # alembic's notes while it migrates a new store
            warnings.simplefilter("ignore")
            client = MlflowClient(tracking_uri=uri)
            client.search_experiments(max_results=1)
    finally:
        owner.unlink(missing_ok=True)
        lock.release()
    return RetryingClient(client)


def get_or_create_experiment(client: RetryingClient, name: str, uri: str,
                             mlruns_dir: str) -> str:
    """The id of experiment `name`, created when missing (a concurrent run may create it first:
    then its id is used)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    artifacts = None
    if sqlite_path(uri) is not None:
        artifacts = (Path(mlruns_dir).resolve() / "artifacts" / name).as_uri()
    try:
        return client.create_experiment(name, artifact_location=artifacts)
    except Exception:  # noqa: BLE001 - created meanwhile by a concurrent run
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id
