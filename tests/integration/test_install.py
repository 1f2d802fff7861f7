"""`meson install`: what it puts on a machine (binaries, tools, schema,
example config, alert rules, systemd units, man pages, docs), that the
units pass `systemd-analyze verify`, and that the gateway unit's
ExecStartPre and ExecStart lines, run with the environment file the unit
names, start a gateway that answers telemetry and stops cleanly.

This machine has no systemd as PID 1, so the unit is not started by
systemd: its command lines are run as systemd would run them (%i replaced,
$VARS from EnvironmentFile split into words)."""

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest

from harness.sluice_env import REPO, SLUICE, Gateway, run, write_config

BUILD = SLUICE.parent.parent
EXPECTED = [
    "bin/sluice", "bin/sluice-loadgen", "bin/sluicectl", "bin/sluice-exporter",
    "share/sluice/sluice.schema.json", "share/sluice/sluice.json",
    "share/sluice/sluice.env.example", "share/sluice/python/sluice_telemetry.py",
    "share/sluice/alerts/sluice.rules.yml", "share/sluice/grafana/sluice.json",
    "lib/systemd/system/sluice@.service",
    "lib/systemd/system/sluice-exporter.service",
    "share/man/man8/sluice.8", "share/man/man8/sluicectl.8",
    "share/man/man8/sluice-exporter.8",
    "share/doc/sluice/README.md", "share/doc/sluice/operations.md",
    "share/doc/sluice/configuration.md",
]


@pytest.fixture(scope="module")
def staged(tmp_path_factory):
    """(stage, prefix, sysconfdir): `meson install` of the tested build into
    a staging directory. sysconfdir is absolute (/etc for prefix /usr)."""
    dest = tmp_path_factory.mktemp("stage")
    run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet",
         "--destdir", str(dest)], timeout=300)
    opts = {o["name"]: o["value"] for o in json.loads(
        run(["meson", "introspect", "--buildoptions", str(BUILD)]).stdout)}
    prefix, etc = opts["prefix"], opts["sysconfdir"]
    if not etc.startswith("/"):
        etc = "/etc" if prefix == "/usr" else f"{prefix}/{etc}"
    return dest, prefix, etc


def unit_text(staged, name):
    dest, prefix, _ = staged
    return (dest / prefix.lstrip("/") / "lib/systemd/system" / name).read_text()


def rooted(text, staged):
    """The unit's paths (prefix, sysconfdir) moved into the stage."""
    dest, prefix, etc = staged
    if not etc.startswith(prefix + "/"):
        text = text.replace(etc + "/", f"{dest}{etc}/")
    return text.replace(prefix + "/", f"{dest}{prefix}/")


def test_meson_install_installs_everything(staged):
    dest, prefix, _ = staged
    root = dest / prefix.lstrip("/")
    missing = [p for p in EXPECTED if not (root / p).is_file()]
    assert not missing, missing
    for tool in ("sluicectl", "sluice-exporter"):
        assert (root / "bin" / tool).stat().st_mode & 0o111
        out = run([str(root / "bin" / tool), "--help"]).stdout
        assert "usage" in out
    # Both import the installed telemetry client (bin/ has none next to
    # them): its own error for a missing socket shows it answered.
    assert not (root / "bin" / "sluice_telemetry.py").exists()
    r = run([str(root / "bin" / "sluicectl"), "--socket", str(dest / "none.sock"),
             "status"], check=False)
    assert r.returncode == 3 and f"no Sluice gateway at {dest}/none.sock" in r.stderr, \
        r.stderr
    # One version everywhere, the project's (meson.build).
    project = re.search(r"version: '([^']+)'", (REPO / "meson.build").read_text()).group(1)
    for tool in ("sluice", "sluicectl", "sluice-exporter"):
        assert run([str(root / "bin" / tool), "--version"]).stdout.split() == \
            [tool, project]
    out = run([str(root / "bin" / "sluice"), "--check-config",
               str(root / "share/sluice/sluice.json")], check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    # The man pages are valid roff.
    for page in ("sluice.8", "sluicectl.8", "sluice-exporter.8"):
        r = run(["man", "--warnings", "-l", str(root / "share/man/man8" / page)],
                check=False, env={"MANPAGER": "cat", "PATH": "/usr/bin:/bin"})
        assert r.returncode == 0 and "warning" not in r.stderr, r.stderr


@pytest.mark.parametrize("unit", ["sluice@.service", "sluice-exporter.service"])
def test_units_pass_systemd_analyze_verify(staged, tmp_path, unit):
    text = rooted(unit_text(staged, unit), staged)
    name = unit.replace("@.", "@edge.")
    (tmp_path / name).write_text(text)
    r = run(["systemd-analyze", "verify", "--man=no", str(tmp_path / name)],
            check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.strip() == "", r.stderr


def unit_command(text, key, instance, env):
    (line,) = [l for l in text.splitlines() if l.startswith(key + "=")]
    words = []
    for w in shlex.split(line.split("=", 1)[1].replace("%i", instance)):
        m = re.fullmatch(r"\$(\w+)", w)
        # systemd splits an unquoted $VAR into words; an empty one is none.
        words += env.get(m.group(1), "").split() if m else [w]
    return words


def read_env_file(path):
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            env[k.strip()] = shlex.split(v)[0] if v.strip() else ""
    return env


def test_gateway_unit_command_lines_start_and_stop_a_gateway(staged, testbed, tmp_path):
    dest, prefix, _ = staged
    text = rooted(unit_text(staged, "sluice@.service"), staged)
    (env_line,) = [l for l in text.splitlines() if l.startswith("EnvironmentFile=")]
    env_path = Path(env_line.split("=", 1)[1].replace("%i", "edge").lstrip("-"))
    assert str(env_path).startswith(str(dest)), env_path
    env_path.parent.mkdir(parents=True, exist_ok=True)
    # The gateway's EAL arguments and config, where an operator puts them
    # for sluice@edge: the environment file and config the unit names.
    gw = Gateway(write_config(tmp_path / "sluice.json"), tmp_path)
    eal = gw.cmd[1:gw.cmd.index("--")]
    shutil.copy(gw.config, env_path.parent / "edge.json")
    env_path.write_text(f'SLUICE_EAL_ARGS="{" ".join(eal)}"\nSLUICE_ARGS=""\n')
    env = read_env_file(env_path)
    pre = unit_command(text, "ExecStartPre", "edge", env)
    r = run(pre, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    gw.cmd = unit_command(text, "ExecStart", "edge", env)
    assert gw.cmd[0] == f"{dest}{prefix}/bin/sluice"
    assert gw.cmd[-2:] == ["-c", str(env_path.parent / "edge.json")]
    try:
        gw.start()
        assert gw.tel.query("/sluice/info")["version"]
    finally:
        code, _ = gw.stop()
        gw.cleanup()
    assert code == 0, gw.log()
