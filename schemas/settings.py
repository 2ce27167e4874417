"""Deployment settings read from the environment: ports, secrets, service URLs.

Operator-facing behaviour (providers, prices, tiers) lives in gateway.yaml instead; these are the
things that differ between a laptop, CI and a cluster.
"""
import os
from dataclasses import dataclass, field
from pathlib import Path

from schemas import internal_api


def _int(env, name: str, default: int) -> int:
    raw = env.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    home: Path
    config_path: Path
    database_url: str
    database_schema: str
    redis_url: str
    redis_prefix: str
    jwt_secret: bytes = field(repr=False)
    internal_secret: bytes = field(repr=False)
    http_port: int
    https_port: int
    admin_port: int
    control_plane_port: int
    sidecar_processes: int
    sidecar_metrics_port: int
    control_plane_metrics_port: int
    public_url: str
    smtp_url: str = field(repr=False)
    # Where Envoy's public listeners bind; the admin listener is always loopback.
    listen_address: str = field(default="127.0.0.1")
    # Where the sidecar and the control plane listen, as Envoy sees them.
    upstream_host: str = field(default="127.0.0.1")
    # Where the sidecar and the control plane themselves bind.
    bind_address: str = field(default="127.0.0.1")
    # Stripe's secret key and webhook signing secret (never in gateway.yaml); `stripe_api_base`
    # (CLEW_STRIPE_API_BASE) sends the SDK elsewhere, e.g. to the bundled stand-in, and wins over
    # gateway.yaml's billing.stripe_api_base.
    stripe_secret_key: str = field(default="", repr=False)
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = field(default="")
    # Where Envoy finds the control plane when it is not beside the sidecar (compose, Kubernetes).
    control_plane_host: str = field(default="")
    # Envoy's operations listener (/ready, /stats/prometheus) on listen_address; 0 = none (the
    # admin port stays on loopback, so containers need this for probes and scraping).
    envoy_ops_port: int = field(default=0)
    # Envoy's JSON access log: a file path, or /dev/stdout in containers.
    envoy_access_log: str = field(default="")
    # The file sidecar 0 reads Envoy's access log from, to bill answers cut during their last write
    # for what went through (plugins.delivery_reconciler): the access log itself when it is a file;
    # in containers, where it goes to stdout, a file Envoy also writes it to. "" = none.
    delivery_log: str = field(default="")
    # Past this size (and read to its end) that file is renamed to <file>.1 and Envoy reopens it; 0 = never.
    delivery_log_rotate_bytes: int = field(default=0)
    # The AES-GCM key (base64 of 32 bytes) sealing accounts' own provider keys (schemas.sealed_keys);
    # empty turns bring-your-own-key off.
    byok_key: str = field(default="", repr=False)

    @property
    def outbox_path(self) -> Path:
        return self.home / "outbox.jsonl"

    @property
    def sidecar_sockets(self) -> list[Path]:
        """Where each sidecar process serves Envoy's gRPC calls: Unix sockets under CLEW_HOME, never a
        TCP port (docs/operations.md, "How the sidecar is secured")."""
        return [internal_api.sidecar_socket(self.home, i) for i in range(self.sidecar_processes)]

    @classmethod
    def from_env(cls, env=None) -> "Settings":
        env = os.environ if env is None else env
        home = Path(env.get("CLEW_HOME", "var")).absolute()
        http_port = _int(env, "CLEW_HTTP_PORT", 8080)
        access_log = env.get("CLEW_ENVOY_ACCESS_LOG") or str(home / "log" / "envoy-access.log")
        return cls(
            home=home,
            config_path=Path(env.get("CLEW_CONFIG", "gateway.yaml")).absolute(),
            database_url=env.get("CLEW_DATABASE_URL") or f"sqlite+aiosqlite:///{home / 'clew.db'}",
            database_schema=env.get("CLEW_DATABASE_SCHEMA", ""),
            redis_url=env.get("CLEW_REDIS_URL", ""),
            redis_prefix=env.get("CLEW_REDIS_PREFIX", "clew:"),
            jwt_secret=env.get("CLEW_JWT_SECRET", "").encode(),
            internal_secret=env.get("CLEW_INTERNAL_SECRET", "").encode(),
            http_port=http_port,
            https_port=_int(env, "CLEW_HTTPS_PORT", 8443),
            admin_port=_int(env, "CLEW_ADMIN_PORT", 9901),
            control_plane_port=_int(env, "CLEW_CONTROL_PLANE_PORT", 8081),
            sidecar_processes=_int(env, "CLEW_SIDECAR_PROCESSES", 2),
            sidecar_metrics_port=_int(env, "CLEW_SIDECAR_METRICS_PORT", 9101),
            control_plane_metrics_port=_int(env, "CLEW_CONTROL_PLANE_METRICS_PORT", 9100),
            public_url=env.get("CLEW_PUBLIC_URL", f"http://127.0.0.1:{http_port}"),
            smtp_url=env.get("CLEW_SMTP_URL", ""),
            listen_address=env.get("CLEW_LISTEN_ADDRESS") or "127.0.0.1",
            upstream_host=env.get("CLEW_UPSTREAM_HOST") or "127.0.0.1",
            bind_address=env.get("CLEW_BIND_ADDRESS") or "127.0.0.1",
            stripe_secret_key=env.get("STRIPE_SECRET_KEY", ""),
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET", ""),
            stripe_api_base=env.get("CLEW_STRIPE_API_BASE", ""),
            control_plane_host=env.get("CLEW_CONTROL_PLANE_HOST") or env.get("CLEW_UPSTREAM_HOST") or "127.0.0.1",
            envoy_ops_port=_int(env, "CLEW_ENVOY_OPS_PORT", 0),
            envoy_access_log=access_log,
            delivery_log=env.get("CLEW_DELIVERY_LOG") or ("" if access_log.startswith("/dev/") else access_log),
            delivery_log_rotate_bytes=_int(env, "CLEW_DELIVERY_LOG_ROTATE_BYTES", 64 * 1024 * 1024),
            byok_key=env.get("CLEW_BYOK_KEY", ""),
        )

    def require_secrets(self) -> None:
        if len(self.jwt_secret) < 32 or len(self.internal_secret) < 32:
            raise SystemExit("CLEW_JWT_SECRET and CLEW_INTERNAL_SECRET must be set (32+ characters); "
                             "`clew up` generates them under CLEW_HOME")
