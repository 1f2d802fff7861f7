"""The plumbing of the integration tests, imported as harness.<module>
(conftest.py puts tests/integration on sys.path):

  sluice_env     the built gateway, the testbed, a running gateway and its
                 telemetry, processes in a namespace, waits
  ctl_env        sluicectl and the exporter, HTTP backends for the shipped
                 example config, counted loads
  balancing_env  per-address faulty HTTP backends, a gateway factory on given
                 pools, and the backend/event/in-flight reads (test_balancing
                 and the tests of retries, capacity, concurrency, drain and
                 incident replay)
  tcp_env        the L4 proxy's config, echo backends and tcp_client checks
                 (test_tcp_proxy, test_tcp_loss_tap, test_port_recovery)
  buffer_attack  the hostile-client scenario (test_buffer_limits and
                 scripts/bench-hostile.sh)
  prom_text      a strict parser of the Prometheus text format

A module-scoped fixture defined here is bound into each test module that
uses it (`backends = balancing_env.backends`), so every module gets its own."""
