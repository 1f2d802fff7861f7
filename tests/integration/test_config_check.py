"""--check-config against the corpus in tests/configs: every broken config
gives exactly the errors in its .expect file (exit 1), every valid one
passes (exit 0). Runs without EAL, so it needs no testbed."""

import json
import os
import subprocess

import pytest

from harness.sluice_env import REPO, SLUICE

CONFIGS = REPO / "tests" / "configs"
INVALID = sorted((CONFIGS / "invalid").glob("*.json"))
VALID = sorted((CONFIGS / "valid").glob("*.json")) + [REPO / "conf" / "sluice.json"]


def check(path, *extra):
    return subprocess.run([str(SLUICE), "--check-config", str(path), *extra],
                          capture_output=True, text=True, timeout=30)


def expected(path):
    text = path.with_suffix(".expect").read_text()
    return [line.replace("FILE", str(path), 1) for line in text.splitlines()]


def test_corpus_is_large_enough():
    assert len(INVALID) >= 20
    names = " ".join(p.stem for p in INVALID)
    for mistake in ("all_zero_weights", "listed_twice", "skewed_weight",
                    "missing_pool", "unknown_key"):
        assert mistake in names, mistake


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.stem)
def test_invalid_config(path):
    r = check(path)
    assert r.stderr.splitlines() == expected(path)
    if path.with_suffix(".strict").exists():
        # A warning only: valid as it is, refused with --strict.
        assert r.returncode == 0
        assert all(": warning: " in line for line in r.stderr.splitlines())
        strict = check(path, "--strict")
        assert strict.returncode == 1
        assert strict.stderr.splitlines()[:len(expected(path))] == expected(path)
        assert "fatal with --strict" in strict.stderr
    else:
        assert r.returncode == 1
        assert any(": warning: " not in line for line in r.stderr.splitlines())


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.stem)
def test_valid_config(path):
    r = check(path, "--strict")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    assert r.stdout.startswith(f"{path}: valid (sha256 ")


def test_check_runs_without_eal(tmp_path):
    # No hugepages, no runtime dir, no EAL output.
    env = dict(os.environ, HOME=str(tmp_path))
    r = subprocess.run([str(SLUICE), "--check-config", str(REPO / "conf/sluice.json")],
                       capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0
    assert "EAL" not in r.stdout + r.stderr


def test_missing_file():
    r = check("/nonexistent/sluice.json")
    assert r.returncode == 1
    assert r.stderr == ("/nonexistent/sluice.json: /: cannot open: "
                        "No such file or directory\n")


def test_usage_errors():
    r = subprocess.run([str(SLUICE), "--check-config"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "usage:" in r.stderr


def test_schema_declares_every_key_the_example_uses():
    schema = json.loads((REPO / "conf" / "sluice.schema.json").read_text())
    defs = schema.get("$defs", {})

    def resolve(node):
        while "$ref" in node:
            node = defs[node["$ref"].split("/")[-1]]
        return node

    def walk(value, node, where):
        node = resolve(node)
        if isinstance(value, dict):
            props = node.get("properties", {})
            assert node.get("additionalProperties") is False, where
            for key, sub in value.items():
                assert key in props, f"{where}/{key} is not in the schema"
                walk(sub, props[key], f"{where}/{key}")
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, node["items"], f"{where}/{i}")

    for path in VALID:
        walk(json.loads(path.read_text()), schema, str(path.name))
