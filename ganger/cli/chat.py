"""`ganger chat`: talk to the local bot without a Telegram account.

Against a running `ganger local` (its fake Bot API), each message is sent as a real-shaped update
from an allowed user to the local webhook, and what the bot sends back is printed as it arrives,
with the seconds since the update was sent: texts, buttons (``[Shutdown Windows] [Cancel]``), and
photos and videos saved to a folder. Without a message it is an interactive prompt.
"""

from __future__ import annotations

import argparse
import base64
import json
import mimetypes
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganger.cli.target import LocalState
from ganger.constants import LOCAL_CHAT_USER
from ganger.errors import GangerError

DEFAULT_USER = LOCAL_CHAT_USER  # the user `ganger local` allows with its fake Bot API
MEDIA_SUFFIX = {"sendPhoto": ".jpg", "sendVideo": ".mp4", "sendDocument": ".bin"}
PROMPT_HELP = "type a message; :photo PATH, :document PATH, :press LABEL, :quit"


class ChatUnavailable(GangerError):
    """No local bot to talk to, or it refused the request."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("chat", help="talk to the local bot (ganger local)", description=__doc__)
    parser.add_argument("text", nargs="?", help="the message (no message: an interactive prompt)")
    parser.add_argument("--photo", type=Path, help="send a photo (as Telegram compresses them)")
    parser.add_argument("--document", type=Path, help="send a file (an image sent as a file, uncompressed)")
    parser.add_argument("--press", metavar="LABEL", help="press a button of the bot's last question")
    parser.add_argument("--wait", type=float, default=3.0, help="seconds to wait for replies (default 3)")
    parser.add_argument("--replies", type=int, default=0, help="stop once this many replies arrived (within --wait)")
    parser.add_argument("--json", action="store_true", help="one JSON object per reply")
    parser.add_argument("--user-id", type=int, default=DEFAULT_USER, help=f"the sender (default {DEFAULT_USER})")
    parser.add_argument("--save-dir", type=Path, default=Path("ganger-chat"), help="where photos and videos go")
    parser.set_defaults(func=run)


@dataclass
class ChatClient:
    """The fake Bot API's ``/chat`` endpoints (loopback)."""

    root: str
    user_id: int

    @classmethod
    def local(cls, user_id: int) -> ChatClient:
        state = LocalState.read()
        if state is None or not state.telegram_url:
            raise ChatUnavailable("no local bot: start `ganger local` first (with its fake Bot API: no real bot token)")
        return cls(state.telegram_url.removesuffix("/bot"), user_id)

    def _call(self, path: str, body: dict[str, Any] | None = None, timeout: float = 130) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.root}{path}", data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # loopback only
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("description", exc.reason)
            raise ChatUnavailable(f"the local bot refused: {detail}") from None
        except urllib.error.URLError as exc:
            raise ChatUnavailable(f"cannot reach the local bot at {self.root}: {exc.reason}") from None

    def send(self, message: dict[str, Any]) -> dict[str, Any]:
        return self._call("/chat/send", {"user_id": self.user_id, **message})

    def messages(self, after: int, wait: float) -> dict[str, Any]:
        query = urllib.parse.urlencode({"chat_id": self.user_id, "after": after, "wait": round(wait, 2)})
        return self._call(f"/chat/messages?{query}", timeout=wait + 30)


def message_of(args: argparse.Namespace) -> dict[str, Any]:
    if args.press:
        return {"press": args.press}
    for kind in ("photo", "document"):
        path: Path | None = getattr(args, kind)
        if path is not None:
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            data = base64.b64encode(path.read_bytes()).decode()
            return {kind: data, "file_name": path.name, "mime_type": mime, "text": args.text or ""}
    return {"text": args.text or ""}


def show(reply: dict[str, Any], save_dir: Path, as_json: bool) -> None:
    media = reply.pop("media", None)
    if media:
        save_dir.mkdir(parents=True, exist_ok=True)
        path = save_dir / f"{reply['message_id']}{MEDIA_SUFFIX.get(reply['method'], '.bin')}"
        path.write_bytes(base64.b64decode(media))
        reply["saved"] = str(path)
    if as_json:
        print(json.dumps(reply), flush=True)
        return
    seconds = reply.get("seconds")
    when = f"[{seconds:5.1f}s]" if seconds is not None else "[     ]"
    verb = "bot (edited)" if reply["method"] == "editMessageText" else "bot"
    text = str(reply["text"]).replace("\n", "\n" + " " * 8)
    lines = [f"{when} {verb}: {text}".rstrip()]
    if reply.get("saved"):
        lines.append(f"        {reply['method'].removeprefix('send').lower()} saved to {reply['saved']}")
    for row in reply.get("buttons") or []:
        lines.append("        " + " ".join(f"[{label}]" for label in row))
    print("\n".join(lines), flush=True)


def converse(client: ChatClient, message: dict[str, Any], args: argparse.Namespace) -> int:
    """Send one message and print the replies that arrive within ``--wait`` seconds (or the first ``--replies``)."""
    sent = client.send(message)
    if sent["status"] >= 300:
        print(f"the webhook answered {sent['status']}: {sent['webhook']}", file=sys.stderr)
    cursor, deadline, shown = int(sent["cursor"]), time.monotonic() + args.wait, 0
    while (left := deadline - time.monotonic()) > 0 and not (args.replies and shown >= args.replies):
        page = client.messages(cursor, left)
        for reply in page["messages"]:
            show(reply, args.save_dir, args.json)
            shown += 1
        cursor = int(page["cursor"])
    return 0 if sent["status"] < 300 else 1


def prompt(client: ChatClient, args: argparse.Namespace) -> int:
    print(f"talking to the local bot as user {client.user_id} ({PROMPT_HELP})")
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            return 0
        if line in (":quit", ":q"):
            return 0
        command, _, rest = line.partition(" ")
        if command in (":photo", ":document"):
            files = {"photo": None, "document": None, command[1:]: Path(rest)}
            message = message_of(argparse.Namespace(text="", press=None, **files))
        elif command == ":press":
            message = {"press": rest}
        elif line:
            message = {"text": line}
        else:
            continue
        try:
            converse(client, message, args)
        except (ChatUnavailable, OSError) as exc:
            print(f"error: {exc}")


def run(args: argparse.Namespace) -> int:
    client = ChatClient.local(args.user_id)
    if not (args.text or args.photo or args.document or args.press):
        return prompt(client, args)
    return converse(client, message_of(args), args)
