"""The bot's router: every route a user can take has one feature's handler, and two features cannot
claim the same route."""

from __future__ import annotations

import pytest

from processors.telegram.router import ChatHandler, Reply, Router
from processors.telegram.routes import Kind
from processors.telegram.webhook import ROUTER


def test_every_actionable_route_has_a_handler() -> None:
    answered_by_the_webhook = {Kind.START, Kind.HELP, Kind.UNKNOWN, Kind.EMPTY}
    assert ROUTER.kinds == set(Kind) - answered_by_the_webhook


def test_a_route_claimed_twice_is_refused() -> None:
    first = ChatHandler.on(Kind.JOBS)(lambda bot, incoming, route: Reply("one"))
    second = ChatHandler.on(Kind.JOBS, Kind.VIDEO)(lambda bot, incoming, route: Reply("two"))
    with pytest.raises(ValueError, match="'jobs' has two chat handlers"):
        Router().include([first, second])
