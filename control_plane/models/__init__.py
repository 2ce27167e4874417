"""The model catalog, from gateway.yaml."""
