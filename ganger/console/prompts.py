"""Pages between a click and a change: the confirmation (with the exact count for a bulk action, the diff for a
config edit), the outcome, and the refusals."""

from __future__ import annotations

import json
from collections.abc import Iterable

from ganger.console.actions import Done
from ganger.console.dead import DeadGroup
from ganger.console.forms import Proposal
from ganger.console.layout import Html, esc, link, page

SHOWN_IDS = 20


def _confirm_form(
    action: str, token: str, fields: Iterable[tuple[str, object]], button: str, extra: str = "", back: str = "/"
) -> Html:
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields)
    return Html(
        f'<form method="post" action="{esc(action)}" id="confirm">'
        f'<input type="hidden" name="csrf" value="{esc(token)}">'
        f'<input type="hidden" name="confirm" value="yes">{hidden}{extra}'
        f'<button type="submit">{esc(button)}</button> <a href="{esc(back)}">cancel</a></form>'
    )


def confirm_pause(name: str, token: str, allowed: bool) -> Html:
    reason = '<label>reason <input name="reason" placeholder="why (shown to ganger tasks why)"></label> '
    body = Html(
        f"<p>Pause labourer <strong>{esc(name)}</strong>? No task of it will start by any path until it is "
        f"resumed; running tasks finish and report.</p>"
        + _confirm_form(f"/labourers/{name}/pause", token, [], f"pause {name}", reason)
    )
    return page(f"pause {name}?", body, allowed)


def confirm_resume(name: str, token: str, allowed: bool) -> Html:
    body = Html(f"<p>Resume labourer <strong>{esc(name)}</strong>? Its queue starts again within about a second.</p>"
                + _confirm_form(f"/labourers/{name}/resume", token, [], f"resume {name}"))  # fmt: skip
    return page(f"resume {name}?", body, allowed)


def confirm_redrive(group: DeadGroup, token: str, allowed: bool, note: str = "") -> Html:
    count = len(group.tasks)
    ids = ", ".join(t.task_id for t in group.tasks[:SHOWN_IDS]) + (" …" if count > SHOWN_IDS else "")
    body = Html(
        (f'<p class="error">{esc(note)}</p>' if note else "")
        + f'<p>Redrive <strong id="count">{count}</strong> dead task(s) of <strong>{esc(group.labourer_id)}</strong> '
        f"that failed with <code>{esc(group.error)}</code>? Each goes back to the front of its queue with fresh "
        f"attempts.</p><p class='muted'>{esc(ids)}</p>"
        + _confirm_form("/dead/redrive", token, [("group", group.key), ("count", count)], f"redrive {count} task(s)")
    )
    return page("redrive a group?", body, allowed)


def preview(proposal: Proposal, action: str, fields: Iterable[tuple[str, object]], token: str, allowed: bool) -> Html:
    """The diff of a valid edit, and the button that saves it (conditional on the version it was read at)."""
    diff = "\n".join(proposal.diff) or "(no change)"
    body = Html(
        f"<p>Save <strong>{esc(proposal.name)}</strong> over version {proposal.version}?</p>"
        f'<pre class="diff" id="diff">{esc(diff)}</pre>'
        + _confirm_form(action, token, [("version", proposal.version), *fields], "save")
    )
    return page(f"save {proposal.name}?", body, allowed)


def done(result: Done, back: str, allowed: bool) -> Html:
    audited = "recorded in the audit trail" if result.audited else "NOT recorded in the audit trail (no audit table)"
    body = Html(f'<p id="done">{esc(result.what)}</p><p class="muted">{esc(json.dumps(result.details))}; '
                f"{esc(audited)}</p><p>{link(back, 'back')}</p>")  # fmt: skip
    return page("done", body, allowed)


def problem(title: str, message: str, allowed: bool, back: str = "/") -> Html:
    return page(title, Html(f'<p class="error" id="problem">{esc(message)}</p><p>{link(back, "back")}</p>'), allowed)
