"""The sidecar: Envoy's ext_authz (and, for AI routes, ext_proc) over gRPC, as a chain of plugins."""
