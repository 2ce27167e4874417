"""The `clew` command: up, render, migrate, config validate."""
import argparse
import asyncio
import os
import sys

from control_plane.db import migrate
from control_plane.secrets_file import STRIPE_STANDIN, ensure_secrets
from schemas import gateway, logs
from schemas.private_files import keep_new_files_private, private_directory, tighten
from schemas.settings import Settings


def _load_config(settings: Settings) -> gateway.GatewayConfig:
    try:
        return gateway.load(settings.config_path)
    except gateway.ConfigError as exc:
        print(f"{settings.config_path} is invalid:", file=sys.stderr)
        for error in exc.errors:
            print(f"  {error}", file=sys.stderr)
        raise SystemExit(2) from None


def render(settings: Settings, config: gateway.GatewayConfig, env=os.environ):
    from envoy_config import render as envoy_render
    return envoy_render.write(config, settings, env)


def _embedded_defaults(env: dict, config: gateway.GatewayConfig) -> int | None:
    """Fill in what a laptop lacks; returns the simulator's port when some provider needs it."""
    if not env.get("CLEW_REDIS_URL"):
        if env.get("CLEW_SIDECAR_PROCESSES", "1") != "1":
            print("without CLEW_REDIS_URL, counters live in process memory: running one sidecar process",
                  file=sys.stderr)
        env["CLEW_SIDECAR_PROCESSES"] = "1"
    keyless = [p for p in config.providers.values() if not env.get(p["api_key_env"])]
    if not keyless or env.get("CLEW_SIMULATOR") == "off":
        return None
    port = int(env.get("CLEW_SIMULATOR_PORT") or 9200)
    env.setdefault("CLEW_SIMULATOR_URL", f"http://127.0.0.1:{port}")
    return port


def _stripe_standin(env: dict) -> int | None:
    """Without STRIPE_SECRET_KEY, billing talks to the bundled Stripe stand-in; returns its port.

    Its test key and webhook signing secret are generated into CLEW_HOME/secrets.json."""
    if env.get("STRIPE_SECRET_KEY"):
        return None
    print("STRIPE_SECRET_KEY is unset: billing uses the local Stripe stand-in (test payments only)", file=sys.stderr)
    ensure_secrets(Settings.from_env(env).home, env, STRIPE_STANDIN)
    port = int(env.get("CLEW_STRIPE_STANDIN_PORT") or 9300)
    env.setdefault("CLEW_STRIPE_API_BASE", f"http://127.0.0.1:{port}")
    return port


def cmd_up(_args) -> int:
    from control_plane.config_watch import ConfigWatch, published_path
    from control_plane.supervisor import supervise
    logs.configure("clew-up")
    env = dict(os.environ)
    home = private_directory(Settings.from_env(env).home)
    tighten(home, 0o700)
    ensure_secrets(home, env)
    config = _load_config(Settings.from_env(env))
    simulator_port = _embedded_defaults(env, config)
    standin_port = _stripe_standin(env)
    settings = Settings.from_env(env)
    migrate.upgrade(settings)
    bootstrap = render(settings, config, env)
    watch = ConfigWatch(gateway.ConfigFile(settings.config_path), lambda new: render(settings, new, env),
                        published_path(settings))
    return asyncio.run(supervise(settings, bootstrap, env, simulator_port, on_tick=watch.check,
                                 stripe_standin_port=standin_port, published=watch.published))


def cmd_gateway(_args) -> int:
    """The gateway pod's Python half (containers): Envoy's files and the sidecar processes; Envoy
    runs in a container of its own from the files rendered here, into a volume they share."""
    from control_plane.config_watch import ConfigWatch, published_path
    from control_plane.supervisor import supervise
    logs.configure("gateway")
    env = dict(os.environ)
    if not env.get("CLEW_REDIS_URL"):
        env["CLEW_SIDECAR_PROCESSES"] = "1"  # in-process counters: one process (see README)
    settings = Settings.from_env(env)
    bootstrap = render(settings, _load_config(settings), env)
    watch = ConfigWatch(gateway.ConfigFile(settings.config_path), lambda new: render(settings, new, env),
                        published_path(settings))
    return asyncio.run(supervise(settings, bootstrap, env, None, on_tick=watch.check, roles={"sidecar"},
                                 published=watch.published))


def cmd_drain(_args) -> int:
    """Kubernetes' preStop: Envoy (same pod) stops accepting, and this returns once its requests in
    flight are done (or CLEW_DRAIN_SECONDS passed); then the sidecars get SIGTERM and meter them."""
    from control_plane.envoy_drain import drain
    left = asyncio.run(drain(Settings.from_env().admin_port))
    print(f"Envoy drained; {left} requests still in flight", flush=True)
    return 0


def cmd_render(_args) -> int:
    settings = Settings.from_env()
    print(render(settings, _load_config(settings)))
    return 0


def cmd_migrate(_args) -> int:
    migrate.upgrade(Settings.from_env())
    return 0


def cmd_config_validate(args) -> int:
    settings = Settings.from_env()
    path = args.file or settings.config_path
    try:
        gateway.load(path)
    except gateway.ConfigError as exc:
        for error in exc.errors:
            print(f"{path}: {error}", file=sys.stderr)
        return 1
    print(f"{path}: valid")
    return 0


def cmd_config_diff(args) -> int:
    from control_plane.config_diff import diff
    configs, failed = [], False
    for path in (args.old, args.new):
        try:
            configs.append(gateway.load(path))
        except gateway.ConfigError as exc:
            failed = True
            for error in exc.errors:
                print(f"{path}: {error}", file=sys.stderr)
    if failed:
        return 1
    print("\n".join(diff(*configs)) or "no differences")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="clew", description="Clew Gateway")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start Envoy, the sidecars and the control plane").set_defaults(run=cmd_up)
    commands.add_parser("gateway", help="containers: render Envoy's files and run the sidecar processes "
                                        "(Envoy runs beside them)").set_defaults(run=cmd_gateway)
    commands.add_parser("drain", help="stop Envoy accepting and wait for its requests in flight "
                                      "(a preStop hook)").set_defaults(run=cmd_drain)
    commands.add_parser("render", help="render Envoy's files from gateway.yaml").set_defaults(run=cmd_render)
    commands.add_parser("migrate", help="migrate the database to the newest schema").set_defaults(run=cmd_migrate)
    config = commands.add_parser("config", help="work with gateway.yaml").add_subparsers(dest="action", required=True)
    validate = config.add_parser("validate", help="check gateway.yaml against its schema")
    validate.add_argument("file", nargs="?", help="defaults to CLEW_CONFIG or ./gateway.yaml")
    validate.set_defaults(run=cmd_config_validate)
    config_diff = config.add_parser("diff", help="what changes from OLD to NEW: providers, models, prices, tiers")
    config_diff.add_argument("old")
    config_diff.add_argument("new")
    config_diff.set_defaults(run=cmd_config_diff)
    return root


def main(argv: list[str] | None = None) -> None:
    # Everything `clew` and the processes it starts create (database, outbox, secrets, keys, Envoy's
    # files, logs, sockets) is readable by this user only.
    keep_new_files_private()
    args = parser().parse_args(argv)
    raise SystemExit(args.run(args))
