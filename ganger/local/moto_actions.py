"""moto finds the method that answers a request by listing its handler class's functions (``inspect``) on
every request; this lists them once per class. The answer is the same while no action is added to a handler
class at run time (the speed patches replace existing methods, and a listing keeps the names, not them).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import moto.core.responses as moto_responses


@contextlib.contextmanager
def action_names_once() -> Iterator[None]:
    """While the block runs, each moto handler class's method names are listed once."""
    module = vars(moto_responses)  # moto imports the function there; it does not export it
    original = module["method_names_from_class"]
    listed: dict[object, list[str]] = {}

    def method_names_from_class(clazz: object) -> list[str]:
        names = listed.get(clazz)
        if names is None:
            names = listed[clazz] = list(original(clazz))
        return names

    module["method_names_from_class"] = method_names_from_class
    try:
        yield
    finally:
        module["method_names_from_class"] = original
