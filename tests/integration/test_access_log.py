"""The access log: one JSON line per tcp-mode session, written by the
writer thread off the fast path, with sampling and counters."""

import json
import signal

import pytest

from harness.sluice_env import (CLIENT_NS, PY, Backend, in_ns, wait_until,
                                write_config)

CLIENT = ("import socket, sys\n"
          "try:\n"
          "    s = socket.create_connection(('198.18.0.1', int(sys.argv[1])), timeout=5)\n"
          "    s.sendall(b'x' * int(sys.argv[2]))\n"
          "    got = b''\n"
          "    while len(got) < int(sys.argv[2]):\n"
          "        d = s.recv(65536)\n"
          "        if not d: break\n"
          "        got += d\n"
          "    print(len(got))\n"
          "except OSError as e:\n"
          "    print('error', e)\n")


@pytest.fixture
def echo():
    be = Backend("echo", ["198.18.1.2"], 9000).start()
    yield be
    be.stop()


def config(tmp_path, log, sample_every=1):
    return write_config(
        tmp_path / "alog.json",
        access_log={"path": str(log), "sample_every": sample_every},
        pools=[{"name": "echo", "backends": [{"address": "198.18.1.2", "port": 9000}]},
               {"name": "dead", "backends": [{"address": "198.18.1.5", "port": 9000}]}],
        listeners=[{"name": "echo", "address": "198.18.0.1", "port": 9000,
                    "mode": "tcp", "pool": "echo"},
                   {"name": "dead", "address": "198.18.0.1", "port": 9001,
                    "mode": "tcp", "pool": "dead"}])


def records(log):
    try:
        return [json.loads(line) for line in log.read_text().splitlines()]
    except FileNotFoundError:
        return []


def test_sessions_are_logged(gateway_factory, tmp_path, echo):
    log = tmp_path / "access.log"
    gw = gateway_factory(config(tmp_path, log))
    out = in_ns(CLIENT_NS, PY, "-c", CLIENT, "9000", "1000").stdout
    assert out.strip() == "1000"
    out = in_ns(CLIENT_NS, PY, "-c", CLIENT, "9001", "10").stdout
    assert out.startswith("error") or out.strip() == "0"
    recs = wait_until(lambda: len(records(log)) >= 2 and records(log), 5)
    assert recs, "no access log records"
    ok = [r for r in recs if r["listener"] == "echo"][0]
    assert ok["term"] == "done"
    assert ok["backend"] == "198.18.1.2:9000"
    assert ok["bytes_in"] == 1000 and ok["bytes_out"] == 1000
    assert ok["client"].startswith("198.18.0.2:")
    assert ok["total_ms"] >= ok["upstream_ms"] >= 0
    assert ok["time"].endswith("Z")
    refused = [r for r in recs if r["listener"] == "dead"][0]
    assert refused["term"] == "connect_refused"
    assert refused["bytes_in"] == 0
    info = gw.tel.query("/sluice/info")
    assert info["access_log"] == str(log)
    assert info["access_log_written"] == len(recs)
    assert info["access_log_dropped_full"] == 0


def test_sampling(gateway_factory, tmp_path, echo):
    log = tmp_path / "access.log"
    gw = gateway_factory(config(tmp_path, log, sample_every=3))
    for _ in range(9):
        in_ns(CLIENT_NS, PY, "-c", CLIENT, "9000", "10")
    info = wait_until(lambda: (i := gw.tel.query("/sluice/info"))
                      ["access_log_written"] == 3 and i, 5)
    assert info, gw.tel.query("/sluice/info")
    assert info["access_log_sampled_out"] == 6
    assert len(records(log)) == 3


def test_unwritable_log_refuses_to_start(gateway_factory, tmp_path):
    gw = gateway_factory(config(tmp_path, "/nonexistent/dir/access.log"), start=False)
    gw.start(wait=False)
    assert gw.wait_exit(30) == 1
    assert "cannot open the access log /nonexistent/dir/access.log" in gw.log()


def sessions(n):
    for _ in range(n):
        out = in_ns(CLIENT_NS, PY, "-c", CLIENT, "9000", "10").stdout
        assert out.strip() == "10", out


def rotate_and_check(gw, log, reopen):
    """logrotate's way: rename, then ask for a new file; the renamed file
    keeps what came before, the new one of the configured name gets the
    rest."""
    sessions(2)
    assert wait_until(lambda: len(records(log)) == 2, 5), records(log)
    old = log.with_name(log.name + ".1")
    log.rename(old)
    reopen()
    assert wait_until(log.exists, 5), "no new access log after the reopen"
    sessions(3)
    assert wait_until(lambda: len(records(log)) == 3, 5), records(log)
    assert len(records(old)) == 2, records(old)
    info = gw.tel.query("/sluice/info")
    assert info["access_log_written"] == 5 and info["access_log_write_errors"] == 0


def test_sigusr1_reopens_after_rename(gateway_factory, tmp_path, echo):
    log = tmp_path / "access.log"
    gw = gateway_factory(config(tmp_path, log))
    rotate_and_check(gw, log, lambda: gw.proc.send_signal(signal.SIGUSR1))
    assert gw.proc.poll() is None, "SIGUSR1 ended the gateway"


def test_log_reopen_command_after_rename(gateway_factory, tmp_path, echo):
    log = tmp_path / "access.log"
    gw = gateway_factory(config(tmp_path, log))
    answers = []
    rotate_and_check(gw, log, lambda: answers.append(gw.tel.query("/sluice/log_reopen")))
    assert answers == [{"result": "reopened"}], answers
