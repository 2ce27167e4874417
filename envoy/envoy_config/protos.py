"""Shapes of Envoy's protobuf messages that every document repeats: typed-config URLs and addresses."""


def type_url(name: str) -> str:
    return f"type.googleapis.com/{name}"


def address(host: str, port: int) -> dict:
    return {"socket_address": {"address": host, "port_value": port}}
