"""Starting or joining Ray, safely and with clear errors.

- **Local run** (no address): a private Ray instance with token authentication on. Its token is
  a fresh random secret per run, kept in this process's environment (`RAY_AUTH_TOKEN`, inherited
  by the instance's own raylet and workers) and never written to disk, so nobody who can reach
  the machine's ports can join it, and two concurrent runs never share or overwrite a token (as
  they could with Ray's default `~/.ray/auth_token`). `RAY_AUTH_MODE=disabled`, set by the user,
  is respected (with a warning).
- **Cluster** (`--address`, `ray.address` or `RAY_ADDRESS`): when `RAY_AUTH_MODE` is unset and a
  token is available (`RAY_AUTH_TOKEN`, `RAY_AUTH_TOKEN_PATH` or `~/.ray/auth_token`), token mode
  is switched on, as `ray start --head` does. Before `ray.init` a bounded check (a TCP connect,
  then Ray's own GCS client, in seconds) turns a wrong address or a refused token into one line
  that says what to fix (exit 2) instead of minutes of retries and a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading

import ray

from scalper_tune.errors import UsageError

CONNECT_TIMEOUT_S = 5.0  # TCP connect to the cluster's GCS port
GCS_TIMEOUT_S = 15.0  # Ray's GCS client: cluster id and one request
AUTH_MODE, AUTH_TOKEN, AUTH_TOKEN_PATH = "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"
TOKEN_FIX = ("copy the head's token (`ray get-auth-token` on the head, or its ~/.ray/auth_token) "
             "to ~/.ray/auth_token here, or export RAY_AUTH_TOKEN=<token>")
_AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"

log = logging.getLogger("scalper_tune.ray")


def init_ray(address: str | None, verbose: bool = False) -> str:
    """Join the cluster at `address` (or $RAY_ADDRESS), else start a private local instance;
    once per process. Returns the GCS address of the instance in use."""
    if ray.is_initialized():
        return ray.get_runtime_context().gcs_address
    kwargs = dict(include_dashboard=False, log_to_driver=verbose, configure_logging=verbose)
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        use_token_if_available()
        check_cluster(address)
        try:
            ray.init(address=address, **kwargs)
        except ConnectionError as exc:
            raise UsageError(f"address {address}: Ray could not join the cluster ({exc}). "
                             f"Check the address; if the cluster uses tokens, {TOKEN_FIX}.",
                             param="address") from None
    else:
        private_token()
        ray.init(address="local", **kwargs)
    return ray.get_runtime_context().gcs_address


def private_token() -> None:
    """Token authentication for a new local instance, with a fresh per-run secret."""
    if os.environ.get(AUTH_MODE, "").lower() == "disabled":
        log.warning("RAY_AUTH_MODE=disabled: the local Ray instance accepts any driver that "
                    "reaches its ports. Unset it to keep token authentication on.")
        return
    os.environ[AUTH_TOKEN] = secrets.token_hex(32)
    os.environ.pop(AUTH_TOKEN_PATH, None)
    # Ray enables token mode for a new local instance when RAY_AUTH_MODE is unset, and says so
    # on stderr; that notice is ours to give (README), not news on every run
    logging.getLogger(_AUTH_LOGGER).setLevel(logging.ERROR)


def token_available() -> bool:
    """A token in the environment, at RAY_AUTH_TOKEN_PATH, or in ~/.ray/auth_token."""
    if os.environ.get(AUTH_TOKEN):
        return True
    path = os.environ.get(AUTH_TOKEN_PATH) or os.path.join(os.path.expanduser("~"), ".ray",
                                                           "auth_token")
    try:
        with open(path, encoding="utf-8") as handle:
            return bool(handle.read().strip())
    except OSError:
        return False


def use_token_if_available() -> bool:
    """Switch this process to token mode when RAY_AUTH_MODE is unset and a token is available
    (Ray does this itself only for `address="auto"`); returns whether token mode is on."""
    mode = os.environ.get(AUTH_MODE)
    if mode is not None:
        return mode.lower() == "token"
    if not token_available():
        return False
    os.environ[AUTH_MODE] = "token"
    from ray._raylet import Config  # Ray's cached config must see the mode (as Ray does it)

    Config.initialize("")
    return True


def _host_port(address: str) -> tuple[str, int]:
    text = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise UsageError(f"address {address}: expected HOST:PORT of the head node's GCS "
                         "(the port given to `ray start --head --port`, 6379 by default).",
                         param="address")
    return host.strip("[]"), int(port)


def check_cluster(address: str) -> None:
    """Fail in seconds, with one line, when nothing answers at `address` or the cluster refuses
    this driver's token. Ray Client addresses (ray://) get the TCP check only."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        why = ("connection refused: nothing listens there" if isinstance(
            exc, ConnectionRefusedError) else exc.strerror or type(exc).__name__)
        raise UsageError(f"address {address}: cannot reach a Ray head there ({why}; tried a "
                         f"TCP connect for {CONNECT_TIMEOUT_S:g} s). Start the head with `ray "
                         f"start --head --port={port}`, or give the address it printed.",
                         param="address") from None
    if address.startswith("ray://"):
        return
    outcome: dict[str, BaseException | None] = {}

    def probe() -> None:
        from ray._raylet import GcsClient

        try:
            client = GcsClient(address=f"{host}:{port}")
            client.internal_kv_get(b"scalper_tune_probe", None, timeout=GCS_TIMEOUT_S)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc

    with _quiet_stderr():  # Ray's C++ client logs every retry on stderr
        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        thread.join(GCS_TIMEOUT_S)
    if "error" not in outcome:
        raise UsageError(f"address {address}: something listens there but no Ray GCS answered "
                         f"within {GCS_TIMEOUT_S:g} s. Give the head's GCS address (`ray start "
                         "--head` prints it).", param="address")
    error = outcome["error"]
    if error is None:
        return
    text = f"{type(error).__name__}: {error}"
    if "Authentication" in text or "InvalidAuthToken" in text or "Unauthenticated" in text:
        mode = os.environ.get(AUTH_MODE, "disabled")
        have = "this driver's token is not the cluster's" if mode == "token" else (
            "this driver has no token")
        raise UsageError(f"address {address}: the cluster refused this driver ({have}). To "
                         f"fix it, {TOKEN_FIX}.", param="address") from None
    raise UsageError(f"address {address}: the Ray GCS there did not answer ({text.splitlines()[0]}"
                     "). Check that the head is running and reachable.", param="address") from None


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2 to /dev/null for the duration (C++ log lines included)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
