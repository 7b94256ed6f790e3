"""Ops: the task tables, the config table and the labourers that one operator command works on."""

from __future__ import annotations

from ganger.clients import AwsClients
from ganger.config import ConfigStore
from ganger.errors import UnknownLabourer
from ganger.labourer import Labourer, read_labourers
from ganger.ops.reads import TaskReads
from ganger.tasks import TaskStore


class Ops:
    """Built from a bag of clients; reads nothing until asked."""

    def __init__(self, clients: AwsClients, store: TaskStore | None = None, config: ConfigStore | None = None) -> None:
        self.clients = clients
        self.store = store or TaskStore(clients.dynamodb)
        self.config = config or ConfigStore(clients.dynamodb)
        self.reads = TaskReads(clients.dynamodb, self.store)
        self._labourers: dict[str, Labourer] | None = None

    def labourers(self) -> dict[str, Labourer]:
        """The labourers document, read once per command."""
        if self._labourers is None:
            self._labourers = read_labourers(self.config)
        return self._labourers

    def labourer(self, name: str) -> Labourer:
        labourers = self.labourers()
        if name not in labourers:
            raise UnknownLabourer(name, sorted(labourers))
        return labourers[name]
