"""Ray as a user meets it: a real head started with `ray start --head` (token authentication,
Ray 2.60's default when a token exists), a mistyped address, and the private local instance of a
run, which must not let a driver without its token in."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, clean_env

SMOKE = ROOT / "experiments" / "smoke.yaml"
RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, timeout: float = 90.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the Ray head never listened on {port}")


def _group_alive(pgid: int) -> list[str]:
    """Processes of group `pgid` that still run (zombies waiting to be reaped do not)."""
    out = subprocess.run(["ps", "-eo", "pid=,pgid=,stat=,comm="], capture_output=True,
                         text=True).stdout
    return [line for line in out.splitlines()
            if int(line.split()[1]) == pgid and not line.split()[2].startswith("Z")]


def _stop_group(proc: subprocess.Popen) -> None:
    """SIGTERM to the head's process group (Ray shuts down), SIGKILL whatever is left."""
    for sig, wait in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.time() + wait
        while time.time() < deadline and _group_alive(proc.pid):
            time.sleep(0.5)
        try:
            proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            pass
        if not _group_alive(proc.pid):
            return


def _run(folder: Path, *args: str, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scalper_tune", "run", str(SMOKE), *args],
                          cwd=folder, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.slow
def test_real_head_with_token_auth_and_a_wrong_address(tmp_path, smoke_alone):
    home = tmp_path / "home"
    (home / ".ray").mkdir(parents=True)
    (home / ".ray" / "auth_token").write_text(secrets.token_hex(32))  # as `ray get-auth-token --generate`
    env = clean_env(HOME=str(home))
    port = _free_port()
    head = subprocess.Popen([RAY, "start", "--head", "--block", f"--port={port}",
                             "--node-ip-address=127.0.0.1", "--num-cpus=2",
                             "--include-dashboard=false", "--disable-usage-stats"],
                            env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        _wait_port(port)
        work = tmp_path / "work"
        work.mkdir()
        # the newcomer's command: --address and no auth variables; the token is found in ~/.ray
        done = _run(work, "--address", f"127.0.0.1:{port}", env=env)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Traceback" not in done.stderr
        (run,) = (work / "runs" / "smoke").iterdir()
        assert (run / "best_config.yaml").read_bytes() == (
            smoke_alone / "best_config.yaml").read_bytes()

        # a driver without the token: one line saying how to fix it, exit 2, nothing written
        stranger = tmp_path / "stranger"
        stranger.mkdir()
        refused = _run(stranger, "--address", f"127.0.0.1:{port}",
                       env=clean_env(HOME=str(stranger)), timeout=120)
        assert refused.returncode == 2, refused.stderr
        assert "refused this driver (this driver has no token)" in refused.stderr
        assert "RAY_AUTH_TOKEN" in refused.stderr and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert not (stranger / "runs").exists() and not (stranger / "mlruns").exists()
    finally:
        _stop_group(head)
    assert not _group_alive(head.pid), _group_alive(head.pid)

    # a mistyped address: fails fast, one line, nothing written
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    started = time.perf_counter()
    result = _run(wrong, "--address", f"127.0.0.1:{port}", env=env, timeout=120)
    elapsed = time.perf_counter() - started
    assert result.returncode == 2, result.stderr
    assert elapsed < 30, elapsed
    assert f"--address 127.0.0.1:{port}: cannot reach a Ray head there" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (wrong / "runs").exists() and not (wrong / "mlruns").exists()


PROBE = """
import json, sys
from ray._raylet import GcsClient
try:
    GcsClient(address=sys.argv[1]).internal_kv_get(b"probe", None, timeout=10)
    print(json.dumps({"joined": True}))
except Exception as exc:
    print(json.dumps({"joined": False, "error": type(exc).__name__, "text": str(exc)[:200]}))
"""

LOCAL_RUN = """
import json, os, sys
from scalper_tune.tune.tuner import init_ray
address = init_ray(None, verbose=False)  # exactly what a local `run` does
print(json.dumps({"gcs": address, "token": os.environ["RAY_AUTH_TOKEN"]}), flush=True)
sys.stdin.read()  # hold the instance until the test closes stdin
"""


def _probe(address: str, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-c", PROBE, address], capture_output=True, text=True,
                          timeout=120, env=env)
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_a_local_run_refuses_a_driver_without_its_token(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    run = subprocess.Popen([sys.executable, "-c", LOCAL_RUN], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=clean_env(HOME=str(home)), cwd=ROOT, start_new_session=True)
    try:
        info = json.loads(run.stdout.readline())
        # no token on disk: the run's secret lives in its own environment only
        assert not (home / ".ray" / "auth_token").exists()
        no_token = _probe(info["gcs"], clean_env(HOME=str(tmp_path)))
        assert not no_token["joined"] and no_token["error"] == "AuthenticationError", no_token
        wrong = _probe(info["gcs"], clean_env(HOME=str(tmp_path), RAY_AUTH_MODE="token",
                                              RAY_AUTH_TOKEN="0" * 64))
        assert not wrong["joined"] and wrong["error"] == "AuthenticationError", wrong
        # control: the instance answers a driver that has the run's token
        right = _probe(info["gcs"], clean_env(HOME=str(tmp_path), RAY_AUTH_MODE="token",
                                              RAY_AUTH_TOKEN=info["token"]))
        assert right["joined"], right
    finally:
        run.stdin.close()
        try:
            run.wait(timeout=60)
        finally:
            _stop_group(run)
