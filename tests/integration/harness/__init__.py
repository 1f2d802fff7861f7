"""The plumbing of the integration tests: the built gateway, the testbed,
a running gateway and its telemetry (sluice_env), the operator tools and
HTTP backends for the shipped config (ctl_env), the Prometheus text parser
(prom_text) and the hostile-client scenario (buffer_attack). Imported as
harness.<module>; tests/integration is on sys.path (conftest.py)."""
