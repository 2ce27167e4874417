"""python -m plugins [--index N]: run sidecar process N: gRPC on CLEW_HOME/run/sidecar-N.sock, its ops
endpoints on CLEW_SIDECAR_METRICS_PORT + N."""
import argparse

import uvloop

from plugins.server import serve
from schemas import logs
from schemas.private_files import keep_new_files_private
from schemas.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m plugins")
    parser.add_argument("--index", type=int, default=0, help="which of the sidecar processes this is")
    args = parser.parse_args()
    keep_new_files_private()
    logs.configure(f"sidecar-{args.index}")
    settings = Settings.from_env()
    settings.require_secrets()
    try:
        uvloop.run(serve(settings, args.index))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
