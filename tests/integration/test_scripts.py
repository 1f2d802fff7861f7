"""The set-up scripts: deps.sh is idempotent, reports hugepages and stops
nothing it did not start; testbed.sh up is idempotent and applies the
offload settings the AF_XDP path needs; testbed.sh down leaves processes
alone."""

import os
import re
import shutil
import subprocess
import time

from harness.sluice_env import (BACKEND_NS, CLIENT_NS, REPO, TESTBED, in_ns, ns_popen,
                                run)


def test_deps_is_idempotent():
    # A second run finds everything installed: no apt-get at all.
    out = run([str(REPO / "scripts" / "deps.sh")], timeout=600).stdout
    assert "deps.sh: all packages present" in out
    assert re.search(r"^hugepages: (yes|no)", out, re.M), out
    assert open("/run/sluice/hugepages").read().strip() in ("yes", "no")


def test_testbed_up_is_idempotent(testbed):
    run([str(TESTBED), "up"])
    run([str(TESTBED), "up"])
    listed = run(["ip", "netns", "list"]).stdout
    assert CLIENT_NS in listed and BACKEND_NS in listed
    for ns, ifname, net in ((CLIENT_NS, "slc1", "198.18.0"),
                            (BACKEND_NS, "slb1", "198.18.1")):
        addrs = in_ns(ns, "ip", "-4", "-o", "addr", "show", "dev", ifname).stdout
        for h in range(2, 10):
            assert f"{net}.{h}/24" in addrs
        # Exactly one copy of each address after repeated ups.
        assert addrs.count(f"{net}.2/24") == 1
        feats = in_ns(ns, "ethtool", "-k", ifname).stdout
        assert re.search(r"^tx-checksumming: off", feats, re.M), feats
        assert re.search(r"^tcp-segmentation-offload: off", feats, re.M)
        assert re.search(r"^generic-segmentation-offload: off", feats, re.M)
    for root_if in ("slc0", "slb0"):
        link = run(["ip", "-o", "link", "show", root_if]).stdout
        assert "state UP" in link or "LOWER_UP" in link
        # The gateway's side carries no kernel address.
        assert run(["ip", "-4", "-o", "addr", "show", "dev", root_if]).stdout == ""


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_deps_release_hugepages_changes_only_what_deps_changed():
    # With nothing recorded as changed by deps.sh, nothing is changed back.
    # What deps.sh recorded on this machine (a fresh one: the count it
    # raised and the hugetlbfs it mounted) is set aside for the test, so
    # the gateway's hugepages stay as they are.
    before = open("/proc/sys/vm/nr_hugepages").read().strip()
    mounted = run(["mountpoint", "-q", "/dev/hugepages"], check=False).returncode
    markers = ["/run/sluice/hugepages.before", "/run/sluice/hugetlbfs.mounted"]
    aside = [m for m in markers if os.path.exists(m)]
    for m in aside:
        os.rename(m, m + ".test")
    try:
        out = run([str(REPO / "scripts" / "deps.sh"), "--release-hugepages"]).stdout
        assert "was not changed by deps.sh" in out, out
        assert "unmounted" not in out, out
        assert open("/proc/sys/vm/nr_hugepages").read().strip() == before
        assert run(["mountpoint", "-q", "/dev/hugepages"], check=False).returncode == mounted
        bad = run([str(REPO / "scripts" / "deps.sh"), "--bogus"], check=False)
        assert bad.returncode == 2 and "usage" in bad.stderr
    finally:
        for m in aside:
            os.rename(m + ".test", m)
        # Put the verdict file back for the scripts that read it.
        run([str(REPO / "scripts" / "deps.sh")], timeout=600)


def test_deps_leaves_a_running_nginx_and_haproxy_alone(tmp_path):
    # Processes whose names are nginx and haproxy (copies of sleep, so
    # that `pkill -x nginx` would match them) stand for the machine's own.
    procs = []
    try:
        for name in ("nginx", "haproxy"):
            exe = tmp_path / name
            shutil.copy("/bin/sleep", exe)
            procs.append(subprocess.Popen([str(exe), "120"]))
        run([str(REPO / "scripts" / "deps.sh")], timeout=600)
        for p in procs:
            assert p.poll() is None, "deps.sh stopped a process it did not start"
    finally:
        for p in procs:
            p.kill()
            p.wait()


def test_testbed_down_leaves_processes_in_its_namespaces_alone(testbed):
    p = ns_popen(CLIENT_NS, "sleep", "120")
    try:
        time.sleep(0.2)
        out = run([str(TESTBED), "down"])
        assert _alive(p.pid) and p.poll() is None, "testbed down killed a process"
        assert f"processes still run in {CLIENT_NS}" in out.stderr, out.stderr
        # The testbed is gone from the machine all the same, and comes back.
        assert CLIENT_NS not in run(["ip", "netns", "list"]).stdout
        assert run(["ip", "link", "show", "slc0"], check=False).returncode != 0
        run([str(TESTBED), "up"])
        assert CLIENT_NS in run(["ip", "netns", "list"]).stdout
    finally:
        p.kill()
        p.wait()
