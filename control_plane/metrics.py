"""Prometheus metrics of the control plane (served by schemas.ops_endpoints on a port of its own)."""
import time

from aiohttp import web
from prometheus_client import Counter, Histogram

REQUESTS = Counter("clew_control_plane_requests_total", "Control-plane HTTP requests",
                   ["method", "route", "status"])
LATENCY = Histogram("clew_control_plane_request_duration_seconds", "Control-plane request latency",
                    ["route"])
AUTH_FAILURES = Counter("clew_control_plane_auth_failures_total", "Failed logins and identity checks",
                        ["reason"])


def _route_label(request: web.Request) -> str:
    # The route template, never the raw path: label values must stay a bounded set.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler):
    started = time.perf_counter()
    response = await handler(request)
    route = _route_label(request)
    REQUESTS.labels(request.method, route, str(response.status)).inc()
    LATENCY.labels(route).observe(time.perf_counter() - started)
    return response
