"""Where each provider is reached: its real API when its pool key is set, else the simulator.

The Envoy renderer needs the address and path; the sidecar needs the credential. Both derive them
here from gateway.yaml and the environment, so they always agree.
"""
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from schemas.gateway import GatewayConfig

SIMULATED_KEY = "sk-simulated-pool-key"


@dataclass(frozen=True)
class Upstream:
    provider: str
    host: str
    port: int
    tls: bool
    path_prefix: str  # "/<provider>" on the simulator, which serves every provider on one port
    paths: dict       # API name ("chat", ...) -> the provider's path for it, from gateway.yaml
    simulated: bool
    api_key: str = field(repr=False)

    def path(self, api: str) -> str:
        return self.path_prefix + self.paths[api]

    @property
    def chat_path(self) -> str:
        return self.path("chat")

    @property
    def authority(self) -> str:
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def _endpoint(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if tls else 80), tls


def _paths(provider: dict) -> dict:
    """`chat_path: /x` → {"chat": "/x"}: every `*_path` key of the provider names one API."""
    return {key.removesuffix("_path"): value for key, value in provider.items() if key.endswith("_path")}


def resolve(config: GatewayConfig, env: dict) -> dict[str, Upstream]:
    """Providers by name. A provider without its pool key goes to CLEW_SIMULATOR_URL when set."""
    simulator = env.get("CLEW_SIMULATOR_URL", "")
    found = {}
    for name, provider in config.providers.items():
        key = env.get(provider["api_key_env"], "")
        if key or not simulator:
            host, port, tls = _endpoint(provider["base_url"])
            found[name] = Upstream(name, host, port, tls, "", _paths(provider), False, key)
        else:
            host, port, tls = _endpoint(simulator)
            found[name] = Upstream(name, host, port, tls, f"/{name}", _paths(provider), True, SIMULATED_KEY)
    return found
