"""Markdown for model and user text: CommonMark without raw HTML, then sanitised by nh3 (ammonia).

Two layers on purpose: markdown-it with ``html=False`` escapes any tag the text contains, and nh3
removes whatever a markdown trick could still produce (``javascript:`` links, event attributes).
Images are dropped so that stored text can never make the browser fetch anything by itself.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# A conservative subset of nh3's defaults: text formatting, lists, code, tables and links only.
_ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"align"}, "th": {"align"}}
_URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "commonmark" preset + tables; linkify and typographer stay off (fewer surprises).
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for ``text``; the only place in the admin view that marks HTML as safe."""
    if not text:
        return Markup("")
    html = _parser().render(text)
    cleaned = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(cleaned)  # sanitised by nh3 just above
