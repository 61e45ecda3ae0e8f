"""A corpus of hostile model and user text: each must render as inert text in the admin view."""

from __future__ import annotations

from html.parser import HTMLParser

HOSTILE = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "<svg onload=\"window.__pwned='svg'\"><circle r=9></circle></svg>",
    '"><script>window.__pwned="attr-break"</script>',
    "' onmouseover='window.__pwned=1' x='",
    "<a href=\"javascript:window.__pwned='link'\">click</a>",
    "[markdown link](javascript:window.__pwned='md')",
    "[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![tracker](http://evil.example/pixel.png)",
    '<iframe src="http://evil.example/"></iframe>',
    '<object data="http://evil.example/x.swf"></object>',
    '<link rel=stylesheet href="http://evil.example/x.css">',
    "<style>body{background:url(http://evil.example/bg.png)}</style>",
    '<meta http-equiv="refresh" content="0;url=http://evil.example/">',
    '<base href="http://evil.example/">',
    '<form action="http://evil.example/"><button>go</button></form>',
    "<details open ontoggle=\"window.__pwned='details'\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=\"window.__pwned='mxss'\">",
    "`<script>` in code and <!-- comment --> and &lt;script&gt; pre-escaped",
    "{{ 7*7 }} {% raw %} jinja syntax stays text",
    "</textarea><script>window.__pwned='textarea'</script>",
    "</pre></div></article><script>window.__pwned='close'</script>",
    '<div style="background:url(http://evil.example/s.png)">styled</div>',
    "\u202egnp.exe\u202c and a zero-width\u200bjoiner",
]

HOSTILE_TEXT = "\n".join(HOSTILE)


class _Audit(HTMLParser):
    """Collects what a page would make a browser do: tags that execute or fetch, handlers, URLs."""

    FORBIDDEN = frozenset({"iframe", "object", "embed", "img", "style", "base", "frame", "audio", "video"})
    URL_ATTRS = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script":
            self.scripts.append(named.get("src"))
        if tag in self.FORBIDDEN:
            self.problems.append(f"<{tag}>")
        if tag == "meta" and "http-equiv" in named:
            self.problems.append("<meta http-equiv>")
        if tag == "link" and (named.get("href") or "").startswith(("http:", "https:", "//")):
            self.problems.append(f"<link href={named.get('href')}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}>")
            if name == "style":
                self.problems.append(f"<{tag} style>")
            if name in self.URL_ATTRS and value is not None:
                lowered = value.strip().lower()
                if lowered.startswith(("javascript:", "data:", "vbscript:")) or "evil.example" in lowered:
                    self.problems.append(f"<{tag} {name}={value!r}>")


def audit_html(html: str) -> list[str]:
    """Problems found in ``html``; scripts other than the vendored admin.js count as one."""
    audit = _Audit()
    audit.feed(html)
    audit.close()
    if audit.scripts != ["/admin/static/admin.js"]:
        audit.problems.append(f"scripts: {audit.scripts}")
    return audit.problems
