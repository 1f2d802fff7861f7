"""The HTTP and TCP integration suites (test_http_proxy.py,
test_tcp_proxy.py) with two worker lcores, on af_xdp and on tap ports
(SLUICE_TEST_WORKERS=2, SLUICE_TEST_PMD; see sluice_env.py), each in a
child pytest. Every test of those suites runs, their last tests included:
connection tables empty and mbufs back at their baseline.

A module of its own: the child's session sets the testbed up and tears it
down again, which would pull the namespaces from under any gateway or
backend a module fixture still held here. Nothing is held here, and the
testbed is put back afterwards."""

import os
import subprocess
import sys

import pytest

from harness.sluice_env import TESTS, REPO, TESTBED, run

PMDS = ("af_xdp", "tap")
SUITES = ("test_http_proxy.py", "test_tcp_proxy.py")


@pytest.mark.parametrize("pmd", PMDS)
def test_suites_with_two_workers(testbed, pmd):
    env = dict(os.environ, SLUICE_TEST_WORKERS="2", SLUICE_TEST_PMD=pmd)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "pytest", *[str(TESTS / s) for s in SUITES],
             "-p", "no:cacheprovider", "-q", "-x"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1500)
    finally:
        run([str(TESTBED), "up"], check=False)
    tail = (r.stdout + r.stderr)[-4000:]
    assert r.returncode == 0, tail
    print(tail.strip().splitlines()[-1])
