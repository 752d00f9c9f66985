"""The phone's patrol page (巡查): start, walk with the screen on, end; fixes buffered and sent
in batches, queued in IndexedDB while offline. One static script and stylesheet, served
locally (``/maps/static/wangge-patrol.js``); no inline script, so a strict CSP holds."""

from __future__ import annotations

import html

_PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{csrf}">
<meta name="theme-color" content="#0b57d0">
<title>巡查 · 网格 wangge</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{static}/wangge-patrol.css">
</head>
<body>
<header class="bar"><a href="{work}" class="back">‹ 我的工作</a><h1>巡查</h1>
<span id="net" class="net">在线</span></header>
<main>
<p class="who">{who}</p>
<section class="status" aria-live="polite">
  <p id="state">未开始</p>
  <dl>
    <dt>已记录</dt><dd id="fixes">0</dd>
    <dt>待发送</dt><dd id="queued">0</dd>
    <dt>精度</dt><dd id="accuracy">–</dd>
  </dl>
  <p id="wake" class="hint"></p>
</section>
<div class="buttons">
  <button id="start" type="button" class="primary">开始巡查</button>
  <button id="end" type="button" class="danger" disabled>结束巡查</button>
</div>
<p id="message" class="message" role="status"></p>
<section id="result" class="result" hidden>
  <h2>本次巡查</h2>
  <p id="summary"></p>
  <h3>走访楼栋 <span id="visited-count">0</span></h3>
  <ul id="visits"></ul>
</section>
</main>
<script src="{static}/wangge-patrol.js" defer></script>
</body>
</html>
"""


def patrol_page(
    *, who: str, csrf: str = "", static: str = "/maps/static", work: str = "/maps/work"
) -> str:
    """The page for ``who`` (shown escaped); ``csrf`` is the session's anti-CSRF token (empty
    when signed in by a key), which the script sends with every write."""
    return _PAGE.format(
        csrf=html.escape(csrf, quote=True),
        static=html.escape(static, quote=True),
        work=html.escape(work, quote=True),
        who=html.escape(who),
    )
