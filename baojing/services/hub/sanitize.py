"""The HTML an officer writes (announcements, answers), cleaned by an allow-list on the server.

nh3 (the Rust ammonia sanitiser) parses the text as a browser would and keeps only the
tags, attributes and URL schemes below: no script or style (their content goes too), no
event handlers (onerror=…), no javascript: or data: URLs; every link gets
rel="noopener noreferrer nofollow". Plain text typed on a phone becomes paragraphs. What
comes out is stored, and is the only user-written text a template renders unescaped.
"""

import re

import nh3

TAGS = {
    "p", "br", "a", "img", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4",
    "blockquote",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt"}}
URL_SCHEMES = {"http", "https", "mailto", "tel"}
# Text that already has its own blocks is left as written; otherwise lines become paragraphs.
_BLOCKS = re.compile(r"<\s*(p|br|ul|ol|li|h[1-6]|blockquote)\b", re.IGNORECASE)


def _attribute(tag: str, name: str, value: str) -> str | None:
    if tag == "img" and name == "src":
        # The pages' CSP loads images from this site only (img-src 'self'): an image in
        # the text is one of ours (an announcement's attachment), by its path.
        return value if value.startswith("/") and not value.startswith("//") else None
    return value


def _paragraphs(text: str) -> str:
    if _BLOCKS.search(text):
        return text
    parts = [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]
    return "".join(f"<p>{part.replace(chr(10), '<br>')}</p>" for part in parts)


def clean_html(text: str) -> str:
    """Safe HTML for the text as typed; empty when nothing is left to show."""
    if not (text or "").strip():
        return ""
    html = nh3.clean(
        _paragraphs(text),
        tags=TAGS,
        clean_content_tags={"script", "style"},
        attributes=ATTRIBUTES,
        attribute_filter=_attribute,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return html.strip()


def has_content(html: str) -> bool:
    """Whether cleaned HTML shows anything: words, or an image."""
    return bool(re.sub(r"<[^>]*>|&nbsp;|\s", "", html)) or "<img" in html
