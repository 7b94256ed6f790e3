"""Errors raised by the local runtime.

Kept apart from ``ganger.errors`` while that tree is being written; ``LocalRuntimeError`` should
later derive from ``GangerError``.
"""

from __future__ import annotations

from ganger.errors import GangerError


class LocalRuntimeError(GangerError):
    """Root of the local runtime's errors."""


class ScheduleExpressionError(LocalRuntimeError):
    """An EventBridge ScheduleExpression that the local clock cannot honour."""

    def __init__(self, expression: str, reason: str, rule_name: str | None = None) -> None:
        self.expression = expression
        self.reason = reason
        self.rule_name = rule_name
        where = f" in rule {rule_name!r}" if rule_name else ""
        super().__init__(f"unsupported schedule expression {expression!r}{where}: {reason}")

    def for_rule(self, rule_name: str) -> ScheduleExpressionError:
        """The same error, naming the rule it came from."""
        return ScheduleExpressionError(self.expression, self.reason, rule_name)


class HandlerNotFound(LocalRuntimeError):
    """A Lambda ``Handler`` string that does not resolve to a callable in this process."""

    def __init__(self, handler: str, reason: str) -> None:
        self.handler = handler
        self.reason = reason
        super().__init__(f"cannot load handler {handler!r}: {reason}")


class FunctionNotFound(LocalRuntimeError):
    """No deployed Lambda function has this name."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        super().__init__(f"Function not found: {function_name}")
