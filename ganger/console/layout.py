"""The HTML frame every page shares, and the few pieces pages are built from. Everything interpolated is escaped
here (``esc``); pages pass already-built HTML only through ``Html``."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping

NAV = (("/", "overview"), ("/dead", "dead"), ("/config", "config"), ("/cost", "cost"))


class Html(str):
    """Markup that is already safe: never escaped again."""


def esc(value: object) -> Html:
    return value if isinstance(value, Html) else Html(html.escape("" if value is None else str(value), quote=True))


def when(epoch: float | None) -> str:
    return "-" if not epoch else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{int(seconds)} s"


def link(href: str, text: object) -> Html:
    return Html(f'<a href="{esc(href)}">{esc(text)}</a>')


def table(headers: Iterable[str], rows: Iterable[Iterable[object]], table_id: str = "",
          row_attrs: Iterable[Mapping[str, str]] | None = None) -> Html:  # fmt: skip
    """A table; cells are escaped unless they are ``Html``."""
    attrs = list(row_attrs) if row_attrs is not None else None
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        extra = "".join(f' {k}="{esc(v)}"' for k, v in (attrs[i] if attrs else {}).items())
        cells = "".join(f"<td>{esc(c)}</td>" for c in row)
        body.append(f"<tr{extra}>{cells}</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return Html(f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def dl(items: Iterable[tuple[str, object]]) -> Html:
    return Html("<dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>")


def form(action: str, token: str, fields: Iterable[tuple[str, object]], button: str, allowed: bool,
         form_id: str = "", css: str = "") -> Html:  # fmt: skip
    """A POST form with the CSRF token and hidden fields; in a read-only console its button is disabled."""
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields)
    disabled = "" if allowed else ' disabled title="read-only: start the console with --allow-actions"'
    ident = f' id="{esc(form_id)}"' if form_id else ""
    return Html(
        f'<form method="post" action="{esc(action)}"{ident} class="{esc(css)}">'
        f'<input type="hidden" name="csrf" value="{esc(token)}">{hidden}'
        f'<button type="submit"{disabled}>{esc(button)}</button></form>'
    )


def page(title: str, body: Html, allowed: bool, script: bool = False) -> Html:
    nav = " ".join(f'<a href="{href}">{name}</a>' for href, name in NAV)
    mode = "actions allowed" if allowed else "read-only (start with --allow-actions to act)"
    js = '<script src="/assets/console.js" defer></script>' if script else ""
    return Html(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)} · ganger console</title>"
        '<link rel="stylesheet" href="/assets/console.css">'
        f"{js}</head><body><header><strong>ganger console</strong> <nav>{nav}</nav>"
        f'<span class="mode" id="mode">{esc(mode)}</span></header>'
        f"<main><h1>{esc(title)}</h1>{body}</main></body></html>"
    )
