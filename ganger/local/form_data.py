"""Request parameters as the Telegram Bot API accepts them: query, urlencoded, JSON or multipart.

The standard library's ``cgi`` module is gone in 3.13; multipart bodies are parsed with the
``email`` package, which handles binary parts without loss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from urllib.parse import parse_qsl

from ganger.local.http_server import HttpRequest


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    field_name: str
    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class FormData:
    """String fields (JSON values still encoded, as the Bot API receives them) and uploaded files."""

    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)


def parse_form(request: HttpRequest) -> FormData:
    """All parameters of a request, whatever its encoding; body fields override query fields."""
    fields = dict(parse_qsl(request.query, keep_blank_values=True))
    content_type = request.header("Content-Type") or ""
    media = content_type.split(";")[0].strip().lower()
    if media == "multipart/form-data":
        parsed = parse_multipart(request.body, content_type)
        return FormData({**fields, **parsed.fields}, parsed.files)
    if media == "application/json" and request.body:
        document = json.loads(request.body)
        fields.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in document.items()})
    elif request.body:
        fields.update(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
    return FormData(fields)


def parse_multipart(body: bytes, content_type: str) -> FormData:
    """Split a ``multipart/form-data`` body into fields and files."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    for part in message.iter_parts():
        assert isinstance(part, Message)
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        data = part.get_payload(decode=True)
        raw = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = raw.decode(part.get_content_charset() or "utf-8")
        else:
            files[name] = UploadedFile(name, filename, part.get_content_type(), raw)
    return FormData(fields, files)
