"""How deep a JSON text nests, measured on its bytes without parsing it.

The body parser decodes whole blocks of entries in C, which would recurse into an
entry nested without bound; each block is therefore measured first, here, in a few C
passes over bytes. Blocks of every body pass through this, so it is kept cheap.
"""

from __future__ import annotations

# `[`/`]` become `{`/`}`, and every byte but brackets and quotes is dropped.
BRACKETS = bytes.maketrans(b"[]", b"{}")
NOT_BRACKETS = bytes(b for b in range(256) if b not in b'"{}[]')
# The same, also keeping backslashes and, as `n`, each letter that may follow one.
_MARK_ESCAPES = bytes.maketrans(b"[]nrtbfu/", b"{}nnnnnnn")
_NOT_ESCAPES_OR_BRACKETS = bytes(b for b in range(256) if b not in b'"{}[]\\nrtbfu/')


def nests_deeper_than(document: bytes, limit: int) -> bool:
    """Whether any array or object in `document` lies more than `limit` levels deep.

    Runs on every block of every body, so it works on a small copy holding only what
    decides nesting: brackets, and quotes that are a string's edge (see _edges_and_brackets).
    Dropping `""` pairs removes strings without brackets; what remains still alternates
    opening and closing quotes, so strings holding brackets (IPv6 addresses, policy text)
    are the odd pieces of a split. Each pass of `{}` removal then peels one level.
    """
    kept = _edges_and_brackets(document)
    brackets = kept.replace(b'""', b"")
    if b'"' in brackets:
        brackets = b"".join(brackets.split(b'"')[::2])
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"{}", b"")
    return bool(brackets)


def _edges_and_brackets(document: bytes) -> bytes:
    """Only the quotes and brackets of `document`, escaped quotes left out; `[]` as `{}`.

    Without a backslash (all of a network log) one C pass does it. Otherwise escapes are
    resolved on a copy that also keeps every backslash and, as `n`, every letter that
    can follow one: a backslash then never touches a quote it did not escape. That copy
    is a third of the size, so the two replaces cost a third of what they would on the
    whole block (policy text in configuration events is full of `\\"`).
    """
    if b"\\" not in document:  # memchr speed, unlike any two-byte search
        return document.translate(BRACKETS, NOT_BRACKETS)
    marked = document.translate(_MARK_ESCAPES, _NOT_ESCAPES_OR_BRACKETS)
    if b"\\\\" in marked:  # an escaped backslash may stand before a real quote
        marked = marked.replace(b"\\\\", b"")
    return marked.replace(b'\\"', b"").translate(None, b"n\\")
