"""Tests of the Envoy configuration renderer."""
