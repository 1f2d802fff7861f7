"""Built-in packet capture: /sluice/capture_start records a
port's RX and/or TX into a pcapng file under /var/lib/sluice/capture that
tshark reads back; a host/port filter; every limit; JSON errors for bad
arguments; a full ring counts drops without stalling the fast path; mbufs
back at baseline afterwards; a capture running at shutdown still ends as a
readable file."""

import hashlib
import re
import signal
import stat
import time
from pathlib import Path

import pytest

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, PEERS, PY, Gateway, in_ns,
                                ns_popen, read_line, run, stop_proc, wait_until,
                                write_config)

GW = "198.18.0.1"
CLIENT = "198.18.0.2"          # the address curl leaves sl-client from
BACKEND = "198.18.1.2"
CAPTURE_DIR = Path("/var/lib/sluice/capture")
# mbufs_in_use may differ from the baseline by an AF_XDP fill ring or a
# mempool cache refill: at most one burst (as in test_tcp_proxy).
MBUF_SLACK = 32


@pytest.fixture(scope="module")
def backend(testbed):
    proc = ns_popen(BACKEND_NS, PY, str(PEERS / "http_backend.py"),
                    "--addr", BACKEND, "--port", "8080", "--lifetime", "900")
    assert (read_line(proc, 15) or "").strip() == "ready"
    yield
    stop_proc(proc)


def capture_config(path):
    return write_config(
        path,
        tcp={"time_wait_s": 1},
        pools=[{"name": "app", "backends": [{"name": "app1", "address": BACKEND,
                                              "port": 8080}]}],
        listeners=[{"name": "web", "address": GW, "port": 80, "mode": "http",
                    "pool": "app"}])


@pytest.fixture(scope="module")
def files():
    """Every capture file a test made; removed at the end, pass or fail."""
    made = []
    yield made
    for f in made:
        Path(f).unlink(missing_ok=True)


@pytest.fixture(scope="module")
def gw(testbed, backend, files, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("capture")
    g = Gateway(capture_config(tmp / "capture.json"), tmp)
    try:
        g.start()
        # Warm up (ARP both ways, a pooled backend connection), then let
        # the pools settle before taking the baseline.
        assert curl(f"http://{GW}/whoami") == BACKEND
        time.sleep(2)
        g.mbuf_baseline = g.tel.query("/sluice/info")["mbufs_in_use"]
        yield g
    finally:
        # A test that failed half way must not leave a capture running.
        try:
            g.tel.query("/sluice/capture_stop")
        except OSError:
            pass
        g.stop()
        g.cleanup()


def curl(*args):
    return in_ns(CLIENT_NS, "curl", "-s", "--max-time", "20", *args,
                 check=False, timeout=40).stdout


def start(g, files, params):
    r = g.tel.query(f"/sluice/capture_start,{params}")
    assert "error" not in r, r
    assert r["state"] == "running", r
    files.append(r["file"])
    return r


def stop(g):
    r = g.tel.query("/sluice/capture_stop")
    assert "error" not in r, r
    assert r["state"] == "done", r
    return r


def tshark(path, *args):
    r = run(["tshark", "-n", "-r", str(path), *args], check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout


def events(g):
    """Every event row, following "next" pages (bounded)."""
    out, after = [], 0
    for _ in range(100):
        ev = g.tel.query(f"/sluice/events,{after}")
        rows = [v for v in ev.values() if isinstance(v, dict)]
        if not rows or "next" not in ev or ev["next"] == after:
            return out + rows
        out += rows
        after = ev["next"]
    return out


def test_curl_exchange_is_in_the_file(gw, files):
    r = start(gw, files, "0,both,1000,30")
    path = Path(r["file"])
    # A generated name in the fixed, root-only directory.
    assert path.parent == CAPTURE_DIR and path.name.endswith(".pcapng"), r
    assert r["port"] == "net_af_xdp0" and r["direction"] == "both", r
    assert r["count_limit"] == 1000 and r["seconds_limit"] == 30, r
    assert stat.S_IMODE(CAPTURE_DIR.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert CAPTURE_DIR.stat().st_uid == 0 and path.stat().st_uid == 0

    assert curl(f"http://{GW}/whoami") == BACKEND
    # The connection's close follows curl's exit: let it reach the rings.
    time.sleep(0.5)
    st = gw.tel.query("/sluice/capture")
    assert st["state"] == "running" and st["copied"] > 0, st
    done = stop(gw)
    assert done["stop_reason"] == "stopped", done
    assert done["dropped"] == 0 and done["packets_written"] == done["copied"], done
    assert done["packets_written"] >= 8, done  # handshake, GET, 200, ACKs, FINs
    assert done["bytes_written"] == path.stat().st_size, done
    workers = [v for k, v in done.items() if k.startswith("worker_")]
    assert workers and sum(w["copied"] for w in workers) == done["copied"], done

    shown = tshark(path, "-Y", "http")
    assert re.search(rf"{CLIENT} \S+ {GW} +HTTP \d+ GET /whoami HTTP/1\.1", shown), shown
    assert re.search(rf"{GW} \S+ {CLIENT} +HTTP \d+ HTTP/1\.1 200 OK", shown), shown
    # Each packet keeps its direction: the request came in, the answer went
    # out (pcapng EPB flags, 1 = inbound, 2 = outbound).
    req = tshark(path, "-Y", "http.request", "-T", "fields",
                 "-e", "frame.packet_flags_direction").split()
    resp = tshark(path, "-Y", "http.response", "-T", "fields",
                  "-e", "frame.packet_flags_direction").split()
    assert req and all(int(x, 0) == 1 for x in req), req
    assert resp and all(int(x, 0) == 2 for x in resp), resp
    # Timestamps are wall-clock and in order for one worker.
    times = [float(x) for x in tshark(path, "-T", "fields",
                                       "-e", "frame.time_epoch").split()]
    assert times == sorted(times), times
    assert abs(times[0] - time.time()) < 120, times[0]
    # The last state stays readable after the capture ended.
    assert gw.tel.query("/sluice/capture")["state"] == "done"


def test_by_name_rx_only_stops_at_count(gw, files):
    r = start(gw, files, "net_af_xdp1,rx,5,30")
    assert r["port"] == "net_af_xdp1" and r["direction"] == "rx", r
    # The backend connection is pooled, so a request may bring in as few
    # as two packets there: a few requests reach the count.
    for _ in range(10):
        assert curl(f"http://{GW}/whoami") == BACKEND
        if gw.tel.query("/sluice/capture")["copied"] >= 5:
            break
    st = wait_until(lambda: (s := gw.tel.query("/sluice/capture"))["state"] == "done"
                    and s, timeout=10)
    assert st, gw.tel.query("/sluice/capture")
    assert st["stop_reason"] == "count" and st["packets_written"] == 5, st
    assert st["copied"] == st["packets_written"] + st["discarded_past_count"], st
    dirs = tshark(r["file"], "-T", "fields", "-e", "frame.packet_flags_direction").split()
    assert len(dirs) == 5 and all(int(x, 0) == 1 for x in dirs), dirs
    # Backend side: what arrived was from the backend.
    srcs = set(tshark(r["file"], "-Y", "ip", "-T", "fields", "-e", "ip.src").split())
    assert srcs <= {BACKEND}, srcs


def test_filter_host_and_port(gw, files):
    # Another client address: the exchange from CLIENT is not recorded.
    r = start(gw, files, "0,both,100,30,host=198.18.0.9")
    assert r["filter_host"] == "198.18.0.9", r
    assert curl(f"http://{GW}/whoami") == BACKEND
    time.sleep(0.3)
    done = stop(gw)
    assert done["seen"] > 0 and done["copied"] == 0, done
    assert done["packets_written"] == 0, done
    assert tshark(r["file"]).strip() == ""

    # A port that is not the exchange's: nothing either.
    r = start(gw, files, "0,both,100,30,port=81")
    assert curl(f"http://{GW}/whoami") == BACKEND
    time.sleep(0.3)
    done = stop(gw)
    assert done["seen"] > 0 and done["packets_written"] == 0, done

    # The client and port 80: the exchange, and only TCP port 80 of CLIENT.
    in_ns(CLIENT_NS, "ping", "-c", "2", "-i", "0.2", GW, check=False)
    r = start(gw, files, "0,both,100,30,host=198.18.0.2,port=80")
    assert r["filter_port"] == 80, r
    in_ns(CLIENT_NS, "ping", "-c", "2", "-i", "0.2", GW, check=False)
    assert curl(f"http://{GW}/whoami") == BACKEND
    time.sleep(0.5)
    done = stop(gw)
    assert done["packets_written"] >= 8, done
    assert "GET /whoami" in tshark(r["file"], "-Y", "http")
    ports = tshark(r["file"], "-T", "fields", "-e", "tcp.srcport",
                   "-e", "tcp.dstport").split("\n")
    assert all("80" in line.split() for line in ports if line.strip()), ports
    assert tshark(r["file"], "-Y", "icmp").strip() == ""


def test_time_limit(gw, files):
    t0 = time.monotonic()
    start(gw, files, "0,rx,1000,1")
    st = wait_until(lambda: (s := gw.tel.query("/sluice/capture"))["state"] == "done"
                    and s, timeout=10)
    assert st and st["stop_reason"] == "time", st
    assert 0.9 < time.monotonic() - t0 < 5
    assert 900 <= st["elapsed_ms"] < 3000, st


@pytest.mark.parametrize("params, why", [
    ("", "usage"),
    ("0", "usage"),
    ("7,both", "no port '7'"),
    ("nope,both", "no port 'nope'"),
    ("0,up", "direction must be"),
    ("0,rx,0", "count must be"),
    ("0,rx,2000000", "count must be"),
    ("0,rx,10,0", "seconds must be"),
    ("0,rx,10,99999", "seconds must be"),
    ("0,rx,10,5,host=198.18.0", "host must be"),
    ("0,rx,10,5,port=70000", "port must be"),
    ("0,rx,10,5,ring=2", "ring must be"),
    ("0,rx,10,5,file=/etc/shadow", "unknown option"),
    ("0,rx,10,5,dir=/tmp", "unknown option"),
    ("0,rx,10,5,extra", "unexpected"),
])
def test_bad_arguments_answer_json_errors(gw, params, why):
    r = gw.tel.query(f"/sluice/capture_start,{params}")
    assert set(r) == {"error"} and why in r["error"], r
    assert gw.tel.query("/sluice/capture")["state"] != "running"


def test_one_at_a_time_and_stop_errors(gw, files):
    start(gw, files, "0,rx,100,30")
    r = gw.tel.query("/sluice/capture_start,1,tx")
    assert "already running" in r.get("error", ""), r
    stop(gw)
    r = gw.tel.query("/sluice/capture_stop")
    assert r == {"error": "no capture is running"}, r
    assert "error" in gw.tel.query("/sluice/capture_stop,now")
    assert "error" in gw.tel.query("/sluice/capture,x")


def test_full_ring_counts_drops_and_never_stalls(gw, files):
    """A ring of 8 copies per worker cannot hold a 2 MB download's bursts:
    drops are counted while the download itself stays intact."""
    r = start(gw, files, "0,both,1000000,60,ring=8")
    assert r["ring"] == 8, r
    n = 2 * 1000 * 1000
    prog = ("import hashlib, subprocess\n"
            f"out = subprocess.run(['curl', '-s', '--max-time', '30', 'http://{GW}/bytes/{n}'],"
            " capture_output=True).stdout\n"
            "print(len(out), hashlib.sha256(out).hexdigest())\n")
    got = in_ns(CLIENT_NS, PY, "-c", prog, timeout=60).stdout.split()
    pattern = bytes(range(256)) * 64
    full, rest = divmod(n, len(pattern))
    assert got == [str(n), hashlib.sha256(pattern * full + pattern[:rest]).hexdigest()]
    time.sleep(0.3)
    done = stop(gw)
    assert done["dropped_ring_full"] > 0 and done["dropped"] >= done["dropped_ring_full"], done
    rows = [v for k, v in done.items() if k.startswith("worker_")]
    assert sum(w["dropped"] for w in rows) == done["dropped"], done
    assert done["packets_written"] + done["discarded_past_count"] == done["copied"], done
    # What was kept is still a valid file.
    assert int(tshark(done["file"], "-q", "-z", "io,stat,0").count("|")) > 0
    assert len(tshark(done["file"]).splitlines()) == done["packets_written"]


def test_events_logged(gw):
    texts = [e.get("text", "") for e in events(gw) if e.get("kind") == "capture"]
    assert any("capture started on port net_af_xdp0" in t for t in texts), texts
    assert any("finished (count)" in t for t in texts), texts
    assert any("finished (stopped)" in t for t in texts), texts


def test_mbufs_back_at_baseline(gw):
    """Runs after the captures: no packet the taps saw was held, and every
    copy went back to the capture pool before it was freed."""
    base = gw.mbuf_baseline
    info = wait_until(lambda: (i := gw.tel.query("/sluice/info"))
                      ["mbufs_in_use"] <= base + MBUF_SLACK and i,
                      timeout=20, step=0.5)
    assert info, (gw.tel.query("/sluice/info")["mbufs_in_use"], base)
    assert "copies not returned" not in gw.log()
    assert "leaking the capture" not in gw.log()


def test_capture_running_at_shutdown_ends_as_a_readable_file(gw, files):
    """Runs last (it stops the module's gateway): SIGTERM during a capture
    still exits cleanly and leaves a complete file."""
    r = start(gw, files, "0,both,1000,60")
    assert curl(f"http://{GW}/whoami") == BACKEND
    time.sleep(0.3)
    rc, _ = gw.stop(signal.SIGTERM, timeout=10)
    assert rc == 0, gw.log()
    assert "capture on port net_af_xdp0 finished (shutdown)" in gw.log(), gw.log()
    assert "GET /whoami" in tshark(r["file"], "-Y", "http")
