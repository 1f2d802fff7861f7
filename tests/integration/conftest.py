import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

# harness.* and peers.* import as packages from here, whatever the directory
# pytest was started in.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness.sluice_env import (Gateway, SLUICE, TESTBED, run,  # noqa: E402
                                write_config)


def pytest_configure(config):
    # Incident bundles of the gateways under test go to a scratch directory
    # (scripts/test.sh sets one for the whole run), never /var/lib/sluice.
    if not os.environ.get("SLUICE_INCIDENTS_DIR"):
        os.environ["SLUICE_INCIDENTS_DIR"] = tempfile.mkdtemp(prefix="sluice-incidents-")
        config._sluice_incidents_dir = os.environ["SLUICE_INCIDENTS_DIR"]
    if os.geteuid() != 0:
        raise pytest.UsageError("the integration tests need root (namespaces, AF_XDP)")
    if not SLUICE.exists():
        raise pytest.UsageError(f"{SLUICE} is missing: build first (ninja -C build)")


def pytest_unconfigure(config):
    made = getattr(config, "_sluice_incidents_dir", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="session")
def testbed():
    """The reference topology, fresh (nothing left from an earlier run) and
    torn down even when tests fail."""
    run([str(TESTBED), "down"], check=False)
    run([str(TESTBED), "up"])
    yield
    run([str(TESTBED), "down"], check=False)


def _factory(tmp_path):
    made = []

    def make(config=None, start=True, **kw):
        if config is None:
            config = write_config(tmp_path / "sluice.json")
        gw = Gateway(config, tmp_path, **kw)
        made.append(gw)
        if start:
            gw.start()
        return gw

    def finish():
        for gw in made:
            gw.stop()
            gw.cleanup()

    return make, finish


@pytest.fixture
def gateway_factory(testbed, tmp_path):
    """Start gateways with a given config; every one is stopped and cleaned."""
    make, finish = _factory(tmp_path)
    yield make
    finish()


@pytest.fixture(scope="module")
def gateway(testbed, tmp_path_factory):
    """One gateway on the example config, shared by a test module."""
    make, finish = _factory(tmp_path_factory.mktemp("gw"))
    yield make()
    finish()
