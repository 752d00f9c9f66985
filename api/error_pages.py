"""Errors as pages for people, problem+json for programs: one decision, by ``Accept``.

Every error leaves the API as ``application/problem+json`` (:mod:`api.problems`). A browser
navigating to a page asks for ``text/html`` first; for it, this middleware turns the problem
into a small page in Chinese (English beneath), same status and headers, with a way back.
API clients (``Accept: application/json``, ``*/*`` or none) get the JSON untouched, and the
middleware costs them one header check.

Reuse: ``install(app)`` once; :func:`error_page` renders the page for other callers;
:func:`wants_html` is the decision.
"""

from __future__ import annotations

import html
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = b"application/problem+json"

#: status -> what a person reads (Chinese first)
TITLES_ZH: dict[int, str] = {
    400: "请求有误",
    401: "需要登录",
    403: "无权访问",
    404: "未找到",
    405: "不支持的操作",
    406: "无法提供该格式",
    409: "状态已变化",
    413: "内容过大",
    415: "不支持的文件类型",
    422: "输入有误",
    429: "操作过于频繁，请稍候",
    431: "请求头过大",
    500: "服务器出错",
    503: "服务暂不可用，请稍后再试",
}


def wants_html(accept: str) -> bool:
    """Whether an ``Accept`` header prefers a page: ``text/html`` (or XHTML) listed before
    any JSON type. Browsers navigating send ``text/html,…``; ``fetch`` sends ``*/*``."""
    for part in accept.lower().split(","):
        kind = part.split(";")[0].strip()
        if kind in ("text/html", "application/xhtml+xml"):
            return True
        if kind.endswith("json"):
            return False
    return False


def error_page(status: int, title: str, detail: str, *, home: str = "/maps/") -> str:
    """The HTML page of one error (no scripts; the local stylesheet)."""
    zh = TITLES_ZH.get(status, "出错了")
    back = (
        '<a href="/signin">登录 Sign in</a>'
        if status == 401
        else f'<a href="{html.escape(home, quote=True)}">返回首页 Home</a>'
    )
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{status} {html.escape(zh)} · wangge</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/maps/static/wangge-field.css">
</head><body class="narrow error-page">
<h1>{html.escape(zh)}</h1>
<p class="status">{status} {html.escape(title)}</p>
<p class="detail">{html.escape(detail)}</p>
<p>{back}</p>
</body></html>"""


class HtmlErrors:
    """ASGI middleware: problem+json answers to requests that prefer HTML become pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accept = ""
        for name, value in scope.get("headers", ()):
            if name == b"accept":
                accept = value.decode("latin-1")
                break
        if not wants_html(accept):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", ())).get(b"content-type", b"")
                if not content_type.startswith(PROBLEM_JSON):
                    start["pass"] = True
                    await send(message)
                    return
                start.update(message)
                return
            if start.get("pass") or message["type"] != "http.response.body":
                await send(message)
                return
            body.append(message.get("body", b""))
            if not message.get("more_body", False):
                await send_page(send, start, b"".join(body))

        await self.app(scope, receive, capture)


async def send_page(send: Send, start: dict[str, Any], raw: bytes) -> None:
    try:
        problem = json.loads(raw)
    except ValueError:
        problem = {}
    status = int(start.get("status", 500))
    page = error_page(
        status, str(problem.get("title", "Error")), str(problem.get("detail", ""))
    ).encode()
    headers = [
        (k, v)
        for k, v in start.get("headers", ())
        if k.lower() not in (b"content-type", b"content-length")
    ]
    headers += [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(page)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": page})


def install(app: Any) -> None:
    """Serve error pages to browsers (call once in ``create_app``)."""
    app.add_middleware(HtmlErrors)
