"""How a claimed task reaches its labourer: a Lambda Invoke (InvocationType Event), or SQS for a fleet."""

from __future__ import annotations

import json
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError, ConnectionClosedError, ReadTimeoutError

from ganger.errors import DispatchError
from ganger.labourer import Labourer
from ganger.tasks import Task
from ganger.tasks.start_marks import MARK_START


class Dispatcher(Protocol):
    def dispatch(self, labourer: Labourer, task: Task) -> None: ...


class LambdaDispatcher:
    """Invokes the labourer's function asynchronously with the task's event (sosw's worker protocol)."""

    def __init__(self, lambda_client: Any) -> None:
        self._lambda = lambda_client

    def dispatch(self, labourer: Labourer, task: Task) -> None:
        event = task.event()
        if labourer.marks_start:
            event[MARK_START] = True
        try:
            response = self._lambda.invoke(
                FunctionName=labourer.function, InvocationType="Event", Payload=json.dumps(event).encode()
            )
        except (ReadTimeoutError, ConnectionClosedError) as exc:  # sent, but the answer was lost
            raise DispatchError(task.task_id, labourer.id, str(exc), ambiguous=True) from exc
        except (ClientError, BotoCoreError) as exc:
            raise DispatchError(task.task_id, labourer.id, str(exc)) from exc
        if response.get("StatusCode") != 202:
            raise DispatchError(task.task_id, labourer.id, f"Invoke answered {response.get('StatusCode')}")


class Dispatchers:
    """The dispatcher of each labourer type, built on first use from the injected clients."""

    def __init__(self, clients: Any, overrides: dict[str, Dispatcher] | None = None) -> None:
        self._clients = clients
        self._by_type: dict[str, Dispatcher] = dict(overrides or {})

    def for_labourer(self, labourer: Labourer) -> Dispatcher:
        if labourer.type not in self._by_type:
            if labourer.type == "lambda":
                self._by_type["lambda"] = LambdaDispatcher(self._clients.lambda_)
            elif labourer.type == "fleet":
                from ganger.fleet.dispatch import SqsDispatcher

                self._by_type["fleet"] = SqsDispatcher(self._clients.sqs)
            else:
                raise DispatchError("-", labourer.id, f"no dispatcher for labourer type {labourer.type!r}")
        return self._by_type[labourer.type]
