"""The README's quick tour runs as written: every ```sh block after a
`<!-- tour -->` mark in README.md's "## Quick tour" section runs, top to
bottom, in one bash (as a user pasting them into one terminal would: the
gateway and backends it puts in the background stay its jobs), each block
exits 0, and each ```text block that follows one matches what it printed
(`...` stands for any text; the shown lines must all be found, in any
order). Only the binary's build directory is swapped for the one under
test (SLUICE_BIN), and --no-huge added where the machine has no
hugepages."""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

from harness.sluice_env import (CLIENT_NS, HUGE_DIR, REPO, RUNTIME_DIR, SLUICE,
                                TESTBED, hugepages_available, run, sluice_telemetry,
                                wait_until)

README = REPO / "README.md"
PREFIX = "sluice"                 # the tour's --file-prefix
TOUR_FILES = ("/tmp/sluice.log", "/tmp/skewed.json", "/tmp/backends.log")
BLOCK_RE = re.compile(r"<!-- tour -->\n```sh\n(.*?)\n```\n"
                      r"(?:\n```text\n(.*?)\n```\n)?", re.S)


def tour_blocks():
    text = README.read_text()
    start = text.index("\n## Quick tour\n")
    end = text.index("\n## ", start + 1)
    return [(m.group(1), m.group(2)) for m in BLOCK_RE.finditer(text[start:end])]


def adapt(script):
    """The README's commands, pointed at the binary under test."""
    build = SLUICE.parent.parent
    try:
        build = build.relative_to(REPO)
    except ValueError:
        pass
    script = re.sub(r"(?<![\w/-])build/app/", f"{build}/app/", script)
    script = re.sub(r"(meson setup |ninja -C )build\b", rf"\g<1>{build}", script)
    if not hugepages_available():
        script = script.replace("--no-pci ", "--no-pci --no-huge -m 1024 ")
    return script


def matches(expected, actual):
    """Every expected line (with `...` for any text; a line of only `...`
    for any lines) equals one distinct actual line. Returns the misses."""
    lines = [a.rstrip() for a in actual.splitlines()]
    missing = []
    for want in expected.splitlines():
        want = want.rstrip()
        if want in ("", "..."):
            continue
        rx = re.compile(".*".join(re.escape(p) for p in want.split("...")))
        hit = next((i for i, a in enumerate(lines) if rx.fullmatch(a)), None)
        if hit is None:
            missing.append(want)
        else:
            del lines[hit]
    return missing


def session_pids(sid):
    """Processes in session sid: the ones the tour's bash started."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:       # field 6 of stat: the session id
            pids.append(int(stat.parent.name))
    return pids


def leftovers(sid):
    return session_pids(sid)


def gateway_answers(prefix):
    try:
        with sluice_telemetry.Telemetry(sluice_telemetry.socket_path(prefix), 2.0) as t:
            t.query("/sluice/info")
        return True
    except OSError:
        return False


def _testbed_up():
    return CLIENT_NS in run(["ip", "netns", "list"]).stdout


def test_readme_quick_tour_runs_as_written(tmp_path):
    blocks = tour_blocks()
    # The tour starts the gateway, its backends, and stops them again.
    assert len(blocks) >= 8, f"only {len(blocks)} tour blocks in README.md"
    scripts = [adapt(b) for b, _ in blocks]
    joined = "\n".join(scripts)
    assert f"{SLUICE.parent.parent.name}/app/sluice" in joined
    assert "http_backend.py" in joined and "backends.py echo" in joined
    # A gateway of the machine's own on the same prefix is not ours to
    # disturb: the tour needs the prefix to itself.
    assert not gateway_answers(PREFIX), \
        f"a gateway with --file-prefix {PREFIX} already runs here"
    was_up = _testbed_up()

    driver = ["set -u", f"cd {REPO}"]
    for i, s in enumerate(scripts):
        (tmp_path / f"block{i}.sh").write_text(s + "\n")
        driver.append(f"{{ . {tmp_path}/block{i}.sh; }} > {tmp_path}/out{i} 2>&1 "
                      f"< /dev/null; echo $? > {tmp_path}/rc{i}")
    (tmp_path / "driver.sh").write_text("\n".join(driver) + "\n")

    proc = subprocess.Popen(["bash", str(tmp_path / "driver.sh")],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    sid = proc.pid
    left = []
    try:
        try:
            proc.wait(timeout=85)
        except subprocess.TimeoutExpired:
            pass
        timed_out = proc.poll() is None
        # What the tour put in the background it must also have stopped.
        wait_until(lambda: not leftovers(sid), timeout=5)
        left = leftovers(sid)
        report = []
        for i, (block, expected) in enumerate(blocks):
            rc_file, out = tmp_path / f"rc{i}", tmp_path / f"out{i}"
            output = out.read_text(errors="replace") if out.exists() else ""
            rc = rc_file.read_text().strip() if rc_file.exists() else "did not run"
            if rc != "0":
                report.append(f"block {i} exited {rc}:\n{block}\n--- output:\n{output}")
                continue
            missing = matches(expected or "", output)
            if missing:
                report.append(f"block {i} printed no line matching {missing}:\n{block}"
                              f"\n--- output:\n{output}")
        assert not timed_out, "the tour did not finish in 85 s\n" + "\n".join(report)
        assert not report, "\n\n".join(report)
        assert left == [], f"the tour left processes running: {left}"
    finally:
        # Stop only what the tour's bash started (its session), if anything.
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = session_pids(sid)
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            if pids:
                time.sleep(1)
        proc.wait(timeout=10)
        # The capture file the tour made, and the tour's own scratch files.
        for i in range(len(blocks)):
            out = tmp_path / f"out{i}"
            text = out.read_text(errors="replace") if out.exists() else ""
            for f in re.findall(r"/var/lib/sluice/capture/sluice-[^\"/]+\.pcapng", text):
                Path(f).unlink(missing_ok=True)
        for f in TOUR_FILES:
            Path(f).unlink(missing_ok=True)
        run(["rm", "-rf", str(RUNTIME_DIR / PREFIX)], check=False)
        for f in HUGE_DIR.glob(f"{PREFIX}map_*"):
            f.unlink(missing_ok=True)
        # The tour ends with testbed.sh down; the tests after this one
        # share the session's testbed, so put back what was there.
        if was_up and not _testbed_up():
            run([str(TESTBED), "up"])
