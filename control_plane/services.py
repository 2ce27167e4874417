"""What request handlers share: settings, config, the database and the helpers built on them."""
from dataclasses import dataclass

from aiohttp import web
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from control_plane.accounts.throttle import LoginThrottle
from schemas.gateway import ConfigFile, GatewayConfig
from schemas.settings import Settings


@dataclass
class Services:
    settings: Settings
    config_file: ConfigFile
    engine: AsyncEngine
    throttle: LoginThrottle
    mailer: object
    redis: Redis | None

    @property
    def config(self) -> GatewayConfig:
        """The latest gateway.yaml that validated."""
        return self.config_file.current


SERVICES = web.AppKey("services", Services)


def services(request: web.Request) -> Services:
    return request.app[SERVICES]
