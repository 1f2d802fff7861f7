"""Good citizenship: a real nginx and a real HAProxy that
the machine runs for itself, outside the testbed and not started by this
test run, and a process whose command line is this tree's gateway, all
keep running and answering through deps.sh, the demo, testbed.sh down and
up, and test.sh's exit cleanup. That cleanup still stops what carries its
own run's marker."""

import os
import socket
import subprocess
import time
import urllib.request

from harness.sluice_env import REPO, TESTBED, run, wait_until

SCRIPTS = REPO / "scripts"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine_env():
    """The environment of a process the machine started: without this
    test run's marker, so nothing here has a claim on it."""
    env = dict(os.environ)
    env.pop("SLUICE_TEST_RUN", None)
    return env


def start_decoy(cmd, **kw):
    # Its own session: a signal to this test's process group misses it too.
    return subprocess.Popen(cmd, env=kw.pop("env", machine_env()),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, **kw)


def answers(port, want):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status == 200 and want in r.read()
    except OSError:
        return False


def alive(proc):
    return proc.poll() is None


def test_scripts_leave_the_machines_nginx_haproxy_and_gateway_alone(tmp_path):
    ngx_port, hap_port = free_port(), free_port()
    (tmp_path / "nginx.conf").write_text(f"""
worker_processes 1; daemon off; pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx.err;
events {{ worker_connections 64; }}
http {{ access_log off;
  client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};
  fastcgi_temp_path {tmp_path}; uwsgi_temp_path {tmp_path}; scgi_temp_path {tmp_path};
  server {{ listen 127.0.0.1:{ngx_port}; location / {{ return 200 "machine nginx\\n"; }} }} }}
""")
    (tmp_path / "haproxy.cfg").write_text(f"""
global
  pidfile {tmp_path}/haproxy.pid
defaults
  mode http
  timeout client 10s
  timeout server 10s
  timeout connect 5s
frontend machine
  bind 127.0.0.1:{hap_port}
  http-request return status 200 content-type text/plain string "machine haproxy"
""")
    decoys = {}
    try:
        decoys["nginx"] = start_decoy(["nginx", "-c", str(tmp_path / "nginx.conf"),
                                       "-p", str(tmp_path)])
        decoys["haproxy"] = start_decoy(["haproxy", "-db", "-f",
                                         str(tmp_path / "haproxy.cfg")])
        # What `pkill -f $ROOT/build/app/sluice` would have matched: a gateway
        # the user runs from this tree (a sleep under that name).
        decoys["gateway"] = start_decoy(
            ["bash", "-c", f'exec -a "{REPO}/build/app/sluice --users-own" sleep 900'])
        assert wait_until(lambda: answers(ngx_port, b"machine nginx"), 10)
        assert wait_until(lambda: answers(hap_port, b"machine haproxy"), 10)

        # A process of a test run whose marker test.sh is then given: that
        # one it must stop (or this test would pass on a cleanup that
        # stops nothing).
        marker = f"good-citizen.{os.getpid()}.{time.time_ns()}"
        env = machine_env()
        env["SLUICE_TEST_RUN"] = marker
        leftover = start_decoy(["sleep", "900"], env=env)

        run([str(SCRIPTS / "deps.sh")], timeout=600)
        demo = run([str(SCRIPTS / "demo.sh")], timeout=900, check=False)
        assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
        run([str(TESTBED), "down"], check=False)
        run([str(TESTBED), "up"])
        out = run([str(SCRIPTS / "test.sh"), "--stop-leftovers", marker], timeout=60)
        assert wait_until(lambda: not alive(leftover), 10), \
            "test.sh's cleanup did not stop its own leftover"
        assert str(leftover.pid) in out.stdout, out.stdout

        for name, p in decoys.items():
            assert alive(p), f"the machine's {name} was stopped by the scripts"
        assert answers(ngx_port, b"machine nginx"), "the machine's nginx stopped answering"
        assert answers(hap_port, b"machine haproxy"), "the machine's haproxy stopped answering"
        # And nginx's workers too, not only its master.
        workers = run(["pgrep", "-P", str(decoys["nginx"].pid)], check=False).stdout.split()
        assert workers, "nginx lost its worker"
    finally:
        for p in decoys.values():
            if alive(p):
                p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if "leftover" in locals() and alive(leftover):
            leftover.kill()
            leftover.wait()
