"""Loading and validating gateway.yaml against schemas/gateway.schema.json."""
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import jsonschema
import yaml

from schemas.pricing import unit_price_nanos

SCHEMA_PATH = Path(__file__).with_name("gateway.schema.json")
DEFAULT_MAX_BODY = 1048576
DEFAULT_IDENTITY_CACHE_SECONDS = 300
BYOK_DEFAULTS = {"platform_fee_percent": "0"}
UPSTREAM_DEFAULTS = {"timeout_seconds": 120, "connect_timeout_seconds": 5, "max_request_body_bytes": 8388608}
WEBHOOK_DEFAULTS = {"max_attempts": 8, "backoff_seconds": 30, "timeout_seconds": 10, "max_per_account": 10,
                    "allow_private_targets": False}
# Tokens of the monthly quota one image / one video counts as, unless a model says otherwise.
DEFAULT_QUOTA_TOKENS = {"image": 1000, "video": 10000}
# Limits on the public account routes (see gateway.yaml's auth section).
LOGIN_THROTTLE_DEFAULTS = {"max_failures_per_email": 50}
AUTH_PER_IP_PER_HOUR_DEFAULTS = {"signup": 1000, "login": 3000, "password_reset": 100}
DEFAULT_RESET_MAILS_PER_EMAIL_PER_HOUR = 3
TELEMETRY_DEFAULTS = {"per_ip_per_minute": 60, "max_batch": 100, "max_properties": 32, "max_properties_bytes": 4096,
                      "max_body_bytes": 524288, "max_event_age_days": 30}


class ConfigError(Exception):
    """gateway.yaml is unreadable or invalid; `errors` lists each problem with its path."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class GatewayConfig:
    raw: dict

    @property
    def tls(self) -> dict:
        return self.raw["tls"]

    @property
    def auth(self) -> dict:
        return self.raw["auth"]

    @property
    def login_throttle(self) -> dict:
        return {**LOGIN_THROTTLE_DEFAULTS, **self.auth["login_throttle"]}

    @property
    def auth_per_ip_per_hour(self) -> dict:
        """Requests per client address per hour: `signup`, `login`, `password_reset`."""
        return {**AUTH_PER_IP_PER_HOUR_DEFAULTS, **self.auth.get("per_ip_per_hour", {})}

    @property
    def password_hash(self) -> dict:
        """argon2id parameters of new password hashes (memory_kib, time_cost, parallelism); {}: the library's."""
        return self.auth.get("password_hash", {})

    @property
    def reset_mails_per_email_per_hour(self) -> int:
        return self.auth.get("reset_mails_per_email_per_hour", DEFAULT_RESET_MAILS_PER_EMAIL_PER_HOUR)

    @property
    def tiers(self) -> dict:
        return self.raw["tiers"]

    @property
    def max_request_body_bytes(self) -> int:
        return self.raw.get("limits", {}).get("max_request_body_bytes", DEFAULT_MAX_BODY)

    @property
    def providers(self) -> dict:
        return self.raw["providers"]

    @property
    def models(self) -> dict:
        return self.raw["models"]

    @property
    def routers(self) -> dict:
        return self.raw.get("routers", {})

    @property
    def upstream(self) -> dict:
        return {**UPSTREAM_DEFAULTS, **self.raw.get("upstream", {})}

    @property
    def webhooks(self) -> dict:
        return {**WEBHOOK_DEFAULTS, **self.raw.get("webhooks", {})}

    @property
    def telemetry(self) -> dict:
        return {**TELEMETRY_DEFAULTS, **self.raw.get("telemetry", {})}

    @property
    def billing(self) -> dict:
        """The `billing:` section (Stripe price ids, Checkout's return URLs); empty when absent."""
        return self.raw.get("billing") or {}

    @property
    def byok(self) -> dict:
        """The `byok:` section: `platform_fee_percent`, a decimal string ("0" when absent)."""
        return {**BYOK_DEFAULTS, **self.raw.get("byok", {})}

    @property
    def identity_cache_seconds(self) -> int:
        return self.auth.get("identity_cache_seconds", DEFAULT_IDENTITY_CACHE_SECONDS)


def tier_spend_cap_nanos(tier: dict) -> int | None:
    """A tier's `monthly_spend_cap_usd` in nano-dollars; None when it has no cap."""
    cap = tier.get("monthly_spend_cap_usd")
    return None if cap is None else unit_price_nanos(cap)


def quota_tokens_per_unit(model: dict) -> int:
    """What one image or video of `model` counts toward the quota; 0 for chat models (their tokens count)."""
    kind = model.get("kind", "chat")
    if kind not in DEFAULT_QUOTA_TOKENS:
        return 0
    return model.get(f"quota_tokens_per_{kind}", DEFAULT_QUOTA_TOKENS[kind])


def embedding_dimensions(model: dict) -> tuple[int | None, int | None]:
    """(default, max) vector length of an embedding model: (None, None) when gateway.yaml leaves it to the
    provider; max None when clients may not choose (`dimensions` in a request is then refused)."""
    dimensions = model.get("dimensions") or {}
    return dimensions.get("default"), dimensions.get("max")


def _cross_references(data: dict) -> list[str]:
    providers, models = data.get("providers", {}), data.get("models", {})
    errors = [f"models.{name}.provider: '{model['provider']}' is not defined under providers"
              for name, model in models.items() if model["provider"] not in providers]
    for name, router in data.get("routers", {}).items():
        errors += [f"routers.{name}.candidates[{i}]: '{c}' is not defined under models"
                   for i, c in enumerate(router["candidates"]) if c not in models]
        if name in models:
            errors.append(f"routers.{name}: a router cannot have the name of a model")
    return errors + _media_apis(providers, models) + _model_values(models)


def _model_values(models: dict) -> list[str]:
    """What the schema cannot say: a cache-hit price above the full one, a default longer than the max."""
    errors = []
    for name, model in models.items():
        price = model.get("price_per_1m") or {}
        if "cached_input" in price and Decimal(price["cached_input"]) > Decimal(price["input"]):
            errors.append(f"models.{name}.price_per_1m.cached_input: must not exceed input ({price['input']})")
        default, most = embedding_dimensions(model)
        if default is not None and most is not None and default > most:
            errors.append(f"models.{name}.dimensions.default: {default} is more than max ({most})")
    return errors


# What a provider must offer for each kind of model: the embeddings API, one of the image APIs, or all of
# the video ones.
MEDIA_APIS = {"embedding": ({"embeddings_path"}, "embeddings_path"),
              "image": ({"images_path", "image_path"}, "images_path or image_path"),
              "video": ({"video_path", "video_query_path", "files_path"},
                        "video_path, video_query_path and files_path")}


def _media_apis(providers: dict, models: dict) -> list[str]:
    errors = []
    for name, model in models.items():
        kind, provider = model.get("kind", "chat"), providers.get(model["provider"])
        if kind not in MEDIA_APIS or provider is None:
            continue
        keys, wording = MEDIA_APIS[kind]
        offered = keys & provider.keys()
        if not offered or (kind == "video" and offered != keys):
            errors.append(f"models.{name}.provider: '{model['provider']}' needs {wording} for {kind} models")
    return errors


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text()))


def validate(data) -> list[str]:
    """Every schema violation of `data`, each prefixed with its path in the file."""
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    found = [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]
    return found or _cross_references(data)


def parse(text: str) -> GatewayConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError([f"(yaml): {exc}"]) from exc
    errors = validate(data)
    if errors:
        raise ConfigError(errors)
    return GatewayConfig(data)


def load(path: Path) -> GatewayConfig:
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError([f"(file): {exc}"]) from exc
    return parse(text)


class ConfigFile:
    """gateway.yaml on disk: the last version that validated, reloaded when the file changes."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._seen = self._read()
        self.current = parse(self._seen.decode()) if self._seen is not None else load(self.path)
        self.last_errors: list[str] = []
        # The exact bytes of `current` and their digest: what operators compare across processes.
        self.valid_bytes = self._seen or b""
        self.sha256 = hashlib.sha256(self.valid_bytes).hexdigest()

    def _read(self) -> bytes | None:
        # The content, not the mtime: two edits within one timestamp tick must both count.
        try:
            return self.path.read_bytes()
        except OSError:
            return None

    def reload_if_changed(self) -> str | None:
        """None when unchanged; "applied", or "invalid" (see last_errors) when the previous one stays."""
        content = self._read()
        if content == self._seen:
            return None
        self._seen = content
        try:
            self.current = load(self.path) if content is None else parse(content.decode(errors="replace"))
        except ConfigError as exc:
            self.last_errors = exc.errors
            return "invalid"
        self.last_errors = []
        self.valid_bytes, self.sha256 = content, hashlib.sha256(content).hexdigest()
        return "applied"
