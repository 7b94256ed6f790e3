"""The state file `ganger local` writes (``$GANGER_HOME/local.json``), so other commands find the running system."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

STATE_ENV = "GANGER_HOME"


def state_file() -> Path:
    """``$GANGER_HOME/local.json`` (default ``~/.ganger/local.json``): written by `ganger local`."""
    home = os.environ.get(STATE_ENV) or str(Path.home() / ".ganger")
    return Path(home) / "local.json"


@dataclass(frozen=True)
class LocalState:
    endpoint_url: str
    lambda_endpoint_url: str
    api_url: str = ""
    telegram_url: str = ""
    pid: int = 0
    console_url: str = ""  # the web console (``ganger console``) this system serves

    def write(self) -> Path:
        path = state_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1))
        return path

    @classmethod
    def read(cls) -> LocalState | None:
        path = state_file()
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        state = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        if state.pid and not _alive(state.pid):
            return None
        return state


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
