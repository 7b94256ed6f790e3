"""Routes: a request (method, path, headers, form) in, a response out, no sockets (``server`` adds those).

Every request is checked by the ``Guard`` first (Host, Origin, cross-site fetch), every POST also for the CSRF
token, then refused outright when the console is read-only. An action's first POST answers with a confirmation
(the exact count, or the diff); only the confirmed POST acts.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ganger.console import pages, prompts
from ganger.console.actions import ActionRefused, Actions, CountChanged
from ganger.console.forms import LIMIT_FIELDS, Proposal, document_edit, limits_edit
from ganger.console.layout import Html
from ganger.console.reads import ConsoleReads
from ganger.console.security import Guard
from ganger.errors import ConfigError, GangerError, UnknownLabourer
from ganger.labourer import LABOURERS_DOCUMENT

logger = logging.getLogger(__name__)
HTML = "text/html; charset=utf-8"
ASSETS = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_NAME = r"([A-Za-z0-9_.:#-]+)"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names
    form: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = HTML
    headers: Mapping[str, str] = field(default_factory=lambda: dict(SECURITY_HEADERS))


def _html(markup: Html, status: int = 200) -> Response:
    return Response(status, markup.encode("utf-8"))


class ConsoleApp:
    """The console's routes over its reads and actions."""

    def __init__(self, reads: ConsoleReads, actions: Actions, guard: Guard) -> None:
        self.reads = reads
        self.actions = actions
        self.guard = guard
        self._get: list[tuple[re.Pattern[str], Callable[..., Response]]] = [
            (re.compile(r"/"), self.overview),
            (re.compile(r"/api/overview"), self.overview_json),
            (re.compile(rf"/labourers/{_NAME}"), self.labourer),
            (re.compile(r"/tasks/(.+)"), self.task),
            (re.compile(r"/dead"), self.dead),
            (re.compile(r"/config"), self.config),
            (re.compile(rf"/config/{_NAME}"), self.document),
            (re.compile(r"/cost"), self.cost),
            (re.compile(r"/assets/([a-z]+\.(?:css|js))"), self.asset),
        ]
        self._post: list[tuple[re.Pattern[str], Callable[..., Response]]] = [
            (re.compile(rf"/labourers/{_NAME}/pause"), self.pause),
            (re.compile(rf"/labourers/{_NAME}/resume"), self.resume),
            (re.compile(rf"/labourers/{_NAME}/limits"), self.limits),
            (re.compile(r"/dead/redrive"), self.redrive),
            (re.compile(rf"/config/{_NAME}"), self.save_document),
        ]

    @property
    def allowed(self) -> bool:
        return self.actions.allowed

    def handle(self, request: Request) -> Response:
        headers = request.headers
        if request.method == "POST":
            reason = self.guard.post_refusal(headers.get("host"), headers.get("origin"),
                                             headers.get("sec-fetch-site"), request.form.get("csrf", ""))  # fmt: skip
        else:
            reason = self.guard.refusal(headers.get("host"), headers.get("origin"), headers.get("sec-fetch-site"))
        if reason is not None:
            return _html(prompts.problem("refused", reason, self.allowed), 403)
        if request.method == "POST" and not self.allowed:
            message = "this console is read-only: start it with --allow-actions to act"
            return _html(prompts.problem("refused", message, self.allowed), 403)
        routes = {"GET": self._get, "HEAD": self._get, "POST": self._post}.get(request.method)
        if routes is None:
            return _html(prompts.problem("not allowed", f"{request.method} is not served", self.allowed), 405)
        path = request.path.rstrip("/") or "/"
        for pattern, route in routes:
            match = pattern.fullmatch(path)
            if match:
                return self._guarded(route, request, *match.groups())
        return _html(prompts.problem("not found", f"no page {path}", self.allowed), 404)

    def _guarded(self, route: Callable[..., Response], request: Request, *args: str) -> Response:
        try:
            return route(request, *args)
        except UnknownLabourer as exc:
            return _html(prompts.problem("not found", str(exc), self.allowed), 404)
        except ActionRefused as exc:
            return _html(prompts.problem("refused", str(exc), self.allowed), 403)
        except ConfigError as exc:  # a concurrent change: nothing was written
            return _html(prompts.problem("not saved", str(exc), self.allowed), 409)
        except GangerError as exc:
            return _html(prompts.problem("error", str(exc), self.allowed), 400)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("console page %s: AWS error: %s", request.path, exc)
            return _html(prompts.problem("AWS error", str(exc), self.allowed), 502)

    # ---- read pages --------------------------------------------------------------------------------------

    def overview(self, request: Request) -> Response:
        return _html(pages.overview(self.reads.overview(), self.allowed))

    def overview_json(self, request: Request) -> Response:
        rows = [{**row.view(), "charts": pages.chart_cells(row), "charts_at": pages.charts_at(row)}
                for row in self.reads.overview(fresh_charts=False)]  # fmt: skip
        body = json.dumps({"labourers": rows}).encode()
        return Response(200, body, "application/json")

    def labourer(self, request: Request, name: str, proposal: Proposal | None = None, status: int = 200) -> Response:
        return _html(pages.labourer(self.reads.labourer(name), self.guard.token, self.allowed, proposal), status)

    def task(self, request: Request, task_id: str) -> Response:
        data = self.reads.task(task_id)
        if data is None:
            return _html(prompts.problem("not found", f"no task {task_id} in any task table", self.allowed), 404)
        return _html(pages.task(data, self.allowed))

    def dead(self, request: Request) -> Response:
        return _html(pages.dead(self.reads.dead(), self.guard.token, self.allowed))

    def config(self, request: Request) -> Response:
        return _html(pages.documents(self.reads.documents(), self.allowed))

    def document(self, request: Request, name: str, proposal: Proposal | None = None, status: int = 200) -> Response:
        stored = self.reads.document(name)
        return _html(pages.document(name, stored, self.guard.token, self.allowed, proposal), status)

    def cost(self, request: Request) -> Response:
        return _html(pages.cost(self.reads.cost(), self.allowed))

    def asset(self, request: Request, name: str) -> Response:
        if name not in ASSETS:
            return _html(prompts.problem("not found", f"no asset {name}", self.allowed), 404)
        body = resources.files("ganger.console").joinpath("assets", name).read_bytes()
        return Response(200, body, ASSETS[name], {**SECURITY_HEADERS, "Cache-Control": "max-age=300"})

    # ---- actions -----------------------------------------------------------------------------------------

    def pause(self, request: Request, name: str) -> Response:
        self.reads.ops().labourer(name)  # an unknown labourer is a 404 before any question
        if request.form.get("confirm") != "yes":
            return _html(prompts.confirm_pause(name, self.guard.token, self.allowed))
        done = self.actions.pause(name, request.form.get("reason", "").strip())
        return _html(prompts.done(done, f"/labourers/{name}", self.allowed))

    def resume(self, request: Request, name: str) -> Response:
        self.reads.ops().labourer(name)
        if request.form.get("confirm") != "yes":
            return _html(prompts.confirm_resume(name, self.guard.token, self.allowed))
        return _html(prompts.done(self.actions.resume(name), f"/labourers/{name}", self.allowed))

    def redrive(self, request: Request) -> Response:
        key = request.form.get("group", "")
        if request.form.get("confirm") == "yes":
            try:
                done = self.actions.redrive(key, int(request.form.get("count", "-1")))
                return _html(prompts.done(done, "/dead", self.allowed))
            except (CountChanged, ValueError) as exc:
                note = f"not redriven: {exc}; confirm the count as it is now"
                group = self.actions.dead_group(key)
                if group is None:
                    return _html(prompts.problem("nothing to redrive", "the group has no dead task now", self.allowed))
                return _html(prompts.confirm_redrive(group, self.guard.token, self.allowed, note), 409)
        group = self.actions.dead_group(key)
        if group is None:
            return _html(prompts.problem("nothing to redrive", "the group has no dead task now", self.allowed), 404)
        return _html(prompts.confirm_redrive(group, self.guard.token, self.allowed))

    def limits(self, request: Request, name: str) -> Response:
        self.reads.ops().labourer(name)
        stored = self.reads.document(LABOURERS_DOCUMENT)
        version = _version(request.form)
        fields = {k: v for k, v in request.form.items() if k in LIMIT_FIELDS}
        proposal = limits_edit(stored.value if stored else {}, name, fields, version)
        return self._edit(request, proposal, f"/labourers/{name}/limits", list(fields.items()),
                          lambda p: self.labourer(request, name, p, 422), f"/labourers/{name}")  # fmt: skip

    def save_document(self, request: Request, name: str) -> Response:
        stored = self.reads.document(name)
        text = request.form.get("text", "")
        proposal = document_edit(name, stored.value if stored else None, text, _version(request.form))
        return self._edit(request, proposal, f"/config/{name}", [("text", text)],
                          lambda p: self.document(request, name, p, 422), f"/config/{name}")  # fmt: skip

    def _edit(self, request: Request, proposal: Proposal, action: str, fields: list[tuple[str, Any]],
              invalid: Callable[[Proposal], Response], back: str) -> Response:  # fmt: skip
        """An invalid edit: the form again with the error at its field. A valid one: its diff, then (confirmed)
        saved over the version it was read at."""
        if proposal.error is not None:
            return invalid(proposal)
        if request.form.get("confirm") != "yes":
            return _html(prompts.preview(proposal, action, fields, self.guard.token, self.allowed))
        return _html(prompts.done(self.actions.save(proposal), back, self.allowed))


def _version(form: Mapping[str, str]) -> int:
    try:
        return int(form.get("version", ""))
    except ValueError as exc:
        raise GangerError("the form has no version: reload the page") from exc
