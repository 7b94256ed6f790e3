"""EC2 fleets as labourers: SQS dispatch, the worker process, BacklogPerInstance and its scaling arithmetic."""

from ganger.fleet.capacity import fleet_capacity
from ganger.fleet.dispatch import BatchDispatcher, SqsDispatcher
from ganger.fleet.settings import FLEETS_DOCUMENT, FleetSettings, parse_fleets, resolve_fleet

__all__ = [
    "FLEETS_DOCUMENT",
    "BatchDispatcher",
    "FleetSettings",
    "SqsDispatcher",
    "fleet_capacity",
    "parse_fleets",
    "resolve_fleet",
]
