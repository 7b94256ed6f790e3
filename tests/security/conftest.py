"""The security tests share the corpus's in-process ganger (tables, essentials, webhook, fake Telegram)."""

from tests.corpus.conftest import unchanged, world  # noqa: F401 - fixtures
from tests.functional.conftest import clock, system  # noqa: F401 - fixtures (a fresh in-process ganger)
from tests.functional.processors.conftest import bot  # noqa: F401 - fixture (the processors end to end)
