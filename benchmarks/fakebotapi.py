"""A fake Telegram Bot API for the tests and the load benchmark: strict about what Telegram refuses.

`FakeBotAPI` answers Bot API methods the way Telegram does (JSON `{"ok": …}` bodies, HTTP error
codes, `retry_after` for flood control), records every call, and checks what the bot sends:
HTML parse mode must parse (allowed tags only, balanced, entities escaped), text must be 1–4096
characters after parsing, callback data at most 64 bytes, inline answers at most 50 results.
A reply Telegram would refuse gets the 400 Telegram would give, and lands in `refused`.

Two ways in:
- `FakeBotAPIServer`, an HTTP server on 127.0.0.1 (a free port) for a bot in a subprocess,
  pointed at it with NEWSBOT_TELEGRAM_BASE_URL = `server.base_url`;
- `FakeRequest(api)`, a `telegram.request.BaseRequest` that answers python-telegram-bot's calls
  in the same process.

Faults are injected with `api.fail(method, status, …)`: a 429 with retry_after, a 5xx, status 0
for a connection dropped without an answer, or status 200 with `delay` for an answer that comes
late; `chat_id` limits a fault to the calls for one chat.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_INLINE_RESULTS = 50
MAX_CALLBACK_ANSWER = 200

# Telegram's HTML: https://core.telegram.org/bots/api#html-style
ALLOWED_TAGS = {
    "b": set(),
    "strong": set(),
    "i": set(),
    "em": set(),
    "u": set(),
    "ins": set(),
    "s": set(),
    "strike": set(),
    "del": set(),
    "span": {"class"},
    "tg-spoiler": set(),
    "a": {"href"},
    "code": {"class"},
    "pre": set(),
    "blockquote": {"expandable"},
    "tg-emoji": {"emoji-id"},
}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"<]*\"|'[^'<]*'|[^\s>\"'<]+))?)*)\s*>"
)
_ATTRIBUTE = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
JSON_FIELDS = {
    "reply_markup",
    "reply_parameters",
    "link_preview_options",
    "results",
    "commands",
    "allowed_updates",
    "entities",
    "scope",
    "button",
}


class HTMLError(ValueError):
    """Text that Telegram's HTML parser refuses; the message is what Telegram would say."""


def utf16_length(text: str) -> int:
    """Return the length of text in UTF-16 code units, the way Telegram counts."""
    return len(text.encode("utf-16-le")) // 2


def _unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _NAMED:
            return _NAMED[name]
        number = int(name[2:], 16) if name.startswith("#x") else int(name[1:])
        if not 0 < number <= 0x10FFFF:
            raise HTMLError(f"can't parse entities: bad character reference &{name};")
        return chr(number)

    position = text.find("&")
    while position != -1:
        if not _ENTITY.match(text, position):
            raise HTMLError(f"can't parse entities: unescaped & at offset {position}")
        position = text.find("&", position + 1)
    return _ENTITY.sub(one, text)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML strictly; return the plain text and its entities, or raise HTMLError."""
    plain: list[str] = []
    length = 0  # UTF-16 length of the plain text so far
    entities: list[dict[str, Any]] = []
    open_tags: list[tuple[str, int, dict[str, str]]] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            match = _TAG.match(text, position)
            if not match:
                raise HTMLError(f"can't parse entities: unsupported start tag at offset {position}")
            closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
            if name not in ALLOWED_TAGS:
                raise HTMLError(f'can\'t parse entities: unsupported tag "{name}"')
            if closing:
                if attributes.strip():
                    raise HTMLError("can't parse entities: a closing tag has attributes")
                if not open_tags or open_tags[-1][0] != name:
                    raise HTMLError(f'can\'t parse entities: unmatched end tag "{name}"')
                tag, start, attrs = open_tags.pop()
                entity: dict[str, Any] = {"type": tag, "offset": start, "length": length - start}
                entity.update(attrs)
                entities.append(entity)
            else:
                attrs = {}
                for found in _ATTRIBUTE.finditer(attributes):
                    key = found.group(1).lower()
                    if key not in ALLOWED_TAGS[name]:
                        raise HTMLError(f'can\'t parse entities: unsupported attribute "{key}"')
                    value = next((g for g in found.groups()[1:] if g is not None), "")
                    attrs[key] = _unescape(value)
                if name == "a" and not re.match(r"(?i)(https?|tg)://\S+$", attrs.get("href", "")):
                    raise HTMLError("can't parse entities: wrong HTTP URL")
                if name == "blockquote" and any(t[0] == "blockquote" for t in open_tags):
                    raise HTMLError("can't parse entities: nested blockquotes")
                open_tags.append((name, length, attrs))
            position = match.end()
        elif char == ">":
            raise HTMLError(f"can't parse entities: unescaped > at offset {position}")
        elif char == "&":
            match = _ENTITY.match(text, position)
            if not match:
                raise HTMLError(f"can't parse entities: unescaped & at offset {position}")
            value = _unescape(match.group(0))
            plain.append(value)
            length += utf16_length(value)
            position = match.end()
        else:
            plain.append(char)
            length += utf16_length(char)
            position += 1
    if open_tags:
        raise HTMLError(f'can\'t parse entities: tag "{open_tags[-1][0]}" is not closed')
    return "".join(plain), sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def check_text(text: Any, parse_mode: Any) -> tuple[str, list[dict[str, Any]]]:
    """Check a message text as sendMessage would; return plain text and entities."""
    if not isinstance(text, str):
        raise HTMLError("message text is empty")
    plain, entities = parse_html(text) if parse_mode == "HTML" else (text, [])
    if not plain.strip():
        raise HTMLError("message text is empty")
    if utf16_length(plain) > MAX_TEXT:
        raise HTMLError("message is too long")
    return plain, entities


def check_markup(markup: Any) -> None:
    """Check an inline keyboard: callback data 1-64 bytes."""
    if markup is None:
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise HTMLError("BUTTON_DATA_INVALID")


@dataclass
class Fault:
    """An answer to give instead of the real one, `times` times."""

    method: str
    status: int
    description: str
    retry_after: int | None = None
    times: int = 1
    chat_id: int | None = None
    delay: float = 0.0


@dataclass
class Call:
    """One Bot API call as the fake received it."""

    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None
    at: float = field(default_factory=time.monotonic)


class FakeBotAPI:
    """The Bot API for one bot: updates to hand out, calls received, faults to inject."""

    def __init__(self, token: str, *, username: str = "newsbot_test_bot", bot_id: int = 7000001):
        self.token = token
        self.bot = {"id": bot_id, "is_bot": True, "first_name": "Newsbot", "username": username}
        self.calls: list[Call] = []
        self.refused: list[tuple[str, dict[str, Any], str]] = []
        self.faults: list[Fault] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._next_update = 1
        self._next_message = 1000
        self._lock = threading.Condition()

    # -- what tests do -------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        *,
        retry_after: int | None = None,
        times: int = 1,
        description: str = "",
        chat_id: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next `times` calls of `method` with an error (status 0: drop the line).

        Status 200 answers normally, after `delay` seconds; `chat_id` limits the fault to one chat.
        """
        text = description or {429: "Too Many Requests: retry later", 0: "", 200: ""}.get(
            status, f"Internal Server Error ({status})"
        )
        with self._lock:
            self.faults.append(Fault(method, status, text, retry_after, times, chat_id, delay))

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update with `payload` under `kind` (message, callback_query, …)."""
        with self._lock:
            update = {"update_id": self._next_update, kind: payload}
            self._next_update += 1
            self._updates.append(update)
            self._lock.notify_all()
        return update

    def message(
        self,
        chat: dict[str, Any],
        user: dict[str, Any],
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build a message from `user` in `chat` (not queued); entities are found for commands."""
        self.chats[chat["id"]] = chat
        message: dict[str, Any] = {
            "message_id": self._new_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
            "text": text,
        }
        if entities is None:
            entities = [
                {
                    "type": "bot_command",
                    "offset": utf16_length(text[: m.start()]),
                    "length": utf16_length(m.group(0)),
                }
                for m in re.finditer(r"(?<!\S)/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
            ] + [
                {
                    "type": "mention",
                    "offset": utf16_length(text[: m.start()]),
                    "length": utf16_length(m.group(0)),
                }
                for m in re.finditer(r"(?<![\w/])@[A-Za-z0-9_]{5,32}", text)
            ]
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return message

    def say(self, chat: dict[str, Any], user: dict[str, Any], text: str, **kwargs: Any) -> dict[str, Any]:
        """Queue a text message; return the message."""
        message = self.message(chat, user, text, **kwargs)
        self.push("message", message)
        return message

    def photo(self, chat: dict[str, Any], user: dict[str, Any], caption: str) -> dict[str, Any]:
        """Build a photo message with a caption (not queued)."""
        message = self.message(chat, user, caption)
        message["caption"] = message.pop("text")
        if "entities" in message:
            message["caption_entities"] = message.pop("entities")
        message["photo"] = [{"file_id": "p", "file_unique_id": "p", "width": 90, "height": 90}]
        return message

    def edited(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        """Build the edit of a user's message to `text` (not queued)."""
        edit = self.message(message["chat"], message["from"], text)
        edit["message_id"] = message["message_id"]
        edit["edit_date"] = int(time.time())
        return edit

    def press(self, message: dict[str, Any], data: str, user: dict[str, Any]) -> str:
        """Queue a press on a button of `message` (a message the bot sent); return the query id."""
        query_id = f"cq{self._new_message_id()}"
        self.push(
            "callback_query",
            {"id": query_id, "from": user, "message": message, "chat_instance": "ci", "data": data},
        )
        return query_id

    def inline(self, user: dict[str, Any], query: str) -> str:
        """Queue an inline query; return its id."""
        query_id = f"iq{self._new_message_id()}"
        self.push("inline_query", {"id": query_id, "from": user, "query": query, "offset": ""})
        return query_id

    def sent(self, chat_id: int | None = None) -> list[Call]:
        """The successful sendMessage calls, to `chat_id` if given."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == "sendMessage"
                and c.status == 200
                and (chat_id is None or c.params.get("chat_id") == chat_id)
            ]

    def called(self, method: str) -> list[Call]:
        """Every call of `method`, failed ones included."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until condition() is truthy, and return it; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = condition()
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met in {timeout} s; calls: {self.summary()}")
                self._lock.wait(min(left, 0.2))

    def summary(self) -> list[tuple[str, int]]:
        return [(c.method, c.status) for c in self.calls]

    # -- what the bot does ---------------------------------------------------------------

    def _new_message_id(self) -> int:
        with self._lock:
            self._next_message += 1
            return self._next_message

    def holds(self, method: str, params: dict[str, Any]) -> bool:
        """Tell whether the next call of `method` with `params` will be answered late."""
        with self._lock:
            return any(
                f.method == method and f.times > 0 and f.delay > 0 and self._for_chat(f, params) for f in self.faults
            )

    @staticmethod
    def _for_chat(fault: Fault, params: dict[str, Any]) -> bool:
        return fault.chat_id is None or str(fault.chat_id) == str(params.get("chat_id"))

    def _fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0 and self._for_chat(fault, params):
                fault.times -= 1
                return fault
        return None

    def handle(self, method: str, params: dict[str, Any], *, timeout: float = 0) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: the HTTP status and the JSON body."""
        with self._lock:
            fault = self._fault(method, params)
        if fault is not None and fault.delay:
            time.sleep(fault.delay)
        if fault is not None and fault.status != 200:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                body["parameters"] = {"retry_after": fault.retry_after}
            self._record(Call(method, params, fault.status, body))
            return fault.status, body
        if method == "getUpdates":
            call = Call(method, params, 200)
            self._record(call)  # on arrival, so that a test can tell the bot is polling
            result: Any = self._get_updates(params, timeout)
            call.result = len(result)
            return 200, {"ok": True, "result": result}
        try:
            result = self._answer(method, params)
        except HTMLError as error:
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {error}"}
            with self._lock:
                self.refused.append((method, params, str(error)))
            self._record(Call(method, params, 400, body))
            return 400, body
        if result is None:
            body = {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
            self._record(Call(method, params, 404, body))
            return 404, body
        self._record(Call(method, params, 200, result))
        return 200, {"ok": True, "result": result}

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)
            self._lock.notify_all()

    def _get_updates(self, params: dict[str, Any], timeout: float) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), timeout)
        deadline = time.monotonic() + wait
        with self._lock:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            while not self._updates and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            return list(self._updates[:100])

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat_id = int(chat_id)
        return self.chats.get(
            chat_id,
            {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup", "title": "?"},
        )

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self.bot
        if method in {"deleteWebhook", "setWebhook", "setMyCommands", "close", "logOut"}:
            return True
        if method == "sendChatAction":
            return True
        if method in {"editMessageReplyMarkup", "deleteMessage"}:
            with self._lock:
                found = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
            if found is None:
                raise HTMLError("message to edit not found")
            if method == "deleteMessage":
                return True
            check_markup(params.get("reply_markup"))
            if params.get("reply_markup"):
                found["reply_markup"] = params["reply_markup"]
            else:
                found.pop("reply_markup", None)
            return found
        if method in {"sendMessage", "editMessageText"}:
            plain, entities = check_text(params.get("text"), params.get("parse_mode"))
            check_markup(params.get("reply_markup"))
            message: dict[str, Any] = {
                "message_id": self._new_message_id(),
                "date": int(time.time()),
                "chat": self._chat(params["chat_id"]),
                "from": self.bot,
                "text": plain,
            }
            if method == "editMessageText":
                key = (int(params["chat_id"]), int(params["message_id"]))
                with self._lock:
                    old = self.messages.get(key)
                if old is None:
                    raise HTMLError("message to edit not found")
                if old.get("html") == params.get("text") and old.get("reply_markup") == params.get("reply_markup"):
                    raise HTMLError("message is not modified")
                message["message_id"] = old["message_id"]
                message["edit_date"] = int(time.time())
            if entities:
                message["entities"] = [
                    {
                        "type": {"b": "bold", "a": "text_link"}.get(e["type"], "italic"),
                        "offset": e["offset"],
                        "length": e["length"],
                        **({"url": e["href"]} if "href" in e else {}),
                    }
                    for e in entities
                    if e["type"] in {"b", "a"}
                ]
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            with self._lock:
                self.messages[(int(params["chat_id"]), message["message_id"])] = {**message, "html": params["text"]}
            return message
        if method == "answerCallbackQuery":
            text = params.get("text") or ""
            if len(text) > MAX_CALLBACK_ANSWER:
                raise HTMLError("MESSAGE_TOO_LONG")
            return True
        if method == "answerInlineQuery":
            results = params.get("results") or []
            if len(results) > MAX_INLINE_RESULTS:
                raise HTMLError("RESULTS_TOO_MUCH")
            ids = [r.get("id") for r in results]
            if len(set(ids)) != len(ids) or any(not 1 <= len(str(i).encode()) <= 64 for i in ids):
                raise HTMLError("RESULT_ID_INVALID")
            for result in results:
                content = result.get("input_message_content") or {}
                check_text(content.get("message_text"), content.get("parse_mode"))
                if not str(result.get("title", "")).strip():
                    raise HTMLError("RESULT_TITLE_EMPTY")
            return True
        return None


def decode_params(raw: dict[str, str]) -> dict[str, Any]:
    """Decode form parameters as python-telegram-bot sends them: JSON for objects, else strings."""
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key in JSON_FIELDS:
            params[key] = json.loads(value)
        elif key in {"chat_id", "offset", "timeout", "limit", "cache_time", "message_id"}:
            try:
                params[key] = int(value)
            except ValueError:
                params[key] = value
        else:
            params[key] = value
    return params


class FakeRequest(BaseRequest):
    """python-telegram-bot's requests, answered by a FakeBotAPI in this process.

    The fake's work (which may sleep, for a held answer) runs in a thread; an answer later than
    the read timeout raises TimedOut, as an HTTP request would.
    """

    def __init__(self, api: FakeBotAPI, *, read_timeout: float = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout

    @property
    def read_timeout(self) -> float:
        return self._read_timeout

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        params = decode_params(request_data.json_parameters if request_data else {})
        name = url.rsplit("/", 1)[1]
        if not self.api.holds(name, params):
            status, body = self.api.handle(name, params)
            return status, json.dumps(body).encode()
        timeout = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        work = asyncio.ensure_future(asyncio.to_thread(self.api.handle, name, params))
        done, _ = await asyncio.wait({work}, timeout=timeout)
        if not done:
            # As httpx reports it: the request went out, its answer did not come in time.
            raise TimedOut("Timed out") from httpx.ReadTimeout("the answer was still on its way")
        status, body = work.result()
        return status, json.dumps(body).encode()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        self._serve()

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        api = self.server.api
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8") if length else ""
        path = self.path.split("?", 1)[0]
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
        if not match or match.group(1) != api.token:
            self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        raw: dict[str, str] = dict(parse_qsl(body, keep_blank_values=True))
        status, answer = api.handle(match.group(2), decode_params(raw), timeout=self.server.poll_cap)
        if status == 0:
            self.close_connection = True  # the dropped line: no status, no body
            return
        self._reply(status, answer)

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's name
        pass  # quiet: tests read api.calls instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    api: FakeBotAPI
    poll_cap: float

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the bot hung up first (a long poll cut short when it stops): not news
        super().handle_error(request, client_address)


class FakeBotAPIServer:
    """Serve a FakeBotAPI over HTTP on 127.0.0.1, on a free port, in a background thread."""

    def __init__(self, api: FakeBotAPI, *, poll_cap: float = 2.0) -> None:
        self.api = api
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.api = api
        # getUpdates is held at most this long, so that a stopping bot is never kept waiting.
        self._server.poll_cap = poll_cap
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """The base_url python-telegram-bot appends the token to."""
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/bot"

    def __enter__(self) -> FakeBotAPIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
