"""The set-up scripts: deps.sh is idempotent and reports hugepages;
testbed.sh up is idempotent and applies the offload settings the AF_XDP
path needs."""

import re

from sluice_env import BACKEND_NS, CLIENT_NS, REPO, TESTBED, in_ns, run


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
