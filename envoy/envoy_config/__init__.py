"""Envoy configuration rendered from gateway.yaml and Settings: clusters, listeners, routes, TLS."""
