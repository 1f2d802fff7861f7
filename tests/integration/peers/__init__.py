"""Test peers of the integration tests that are more than one file: the
recording backends and the raw client of test_smuggling_differential."""
