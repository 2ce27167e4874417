"""The OpenAPI document of the public API, served at GET /v1/openapi.json."""
