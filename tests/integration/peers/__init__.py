"""The peers the integration tests run against the gateway: backends
(http_backend, backends, silent_backend, threaded_echo, the recording
backends), clients (tcp_client, http_load, drain_load, slow_clients,
hostile_client, raw_client), the ARP sniffer, a stand-in telemetry socket
(fake_telemetry) and a real Prometheus (prom_server). Most run as programs
in a namespace, by path (harness.sluice_env.PEERS / "name.py"), and need
only the standard library; the few imported as peers.<module> run in the
test's own process."""
