"""The application's shared state, reached from handlers through one typed app key."""
from dataclasses import dataclass, field

from aiohttp import web

from plugins.simulator.faults import FaultBook
from plugins.simulator.ledger import Ledger
from plugins.simulator.options import SimDefaults
from plugins.simulator.video_tasks import VideoTasks


@dataclass
class SimState:
    defaults: SimDefaults
    faults: FaultBook = field(default_factory=FaultBook)
    ledger: Ledger = field(default_factory=Ledger)
    videos: VideoTasks = field(default_factory=VideoTasks)


STATE = web.AppKey("simulator_state", SimState)
