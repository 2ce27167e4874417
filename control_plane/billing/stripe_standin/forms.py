"""Stripe's request bodies: form fields whose names are bracketed paths.

`metadata[tier]=pro&line_items[0][price]=price_x&expand[]=customer` becomes
{"metadata": {"tier": "pro"}, "line_items": [{"price": "price_x"}], "expand": ["customer"]}.
"""
import re
from urllib.parse import parse_qsl

_SEGMENT = re.compile(r"\[([^\]]*)\]")


def _path(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    return [head, *_SEGMENT.findall(bracket + rest)]


def _lists(node):
    if not isinstance(node, dict):
        return node
    items = {key: _lists(value) for key, value in node.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


def decode(body: str) -> dict:
    root: dict = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        node, path = root, _path(key)
        for part in path[:-1]:
            node = node.setdefault(part or str(len(node)), {})
        node[path[-1] or str(len(node))] = value
    return _lists(root)
