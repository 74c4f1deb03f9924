"""Hypothesis strategies shared by the fuzz tests: text, socket ids and channel
names, request bodies (forms, JSON, raw bytes, other encodings, sizes around the
limits), content types with charsets, lying Content-Length values, methods and
noise headers. ``send`` makes one request the way a socket would carry it."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings as django_settings
from hypothesis import strategies as st

from tests.fuzz.world import KNOWN

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
latin1 = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)

valid_socket_ids = st.from_regex(r"\A[0-9]{1,20}\.[0-9]{1,20}\Z")
socket_ids = st.one_of(
    st.from_regex(r"\A[0-9]{1,20}\.[0-9]{1,20}\Z"),
    st.from_regex(r"\A[0-9]{1,30}\.[0-9]{0,30}\Z"),
    st.sampled_from(["1.1:private-admin", "1.1\n", "١٢٣.٤٥٦", "", "1." + "1" * 9_999]),
    text,
)
#: Mostly valid, so that many requests get as far as a decision.
likely_socket_ids = st.one_of(valid_socket_ids, valid_socket_ids, valid_socket_ids, socket_ids)
#: Channel templates (``~stu~`` is that user's id: ``world.resolve``) and invented names.
channels = st.one_of(
    st.sampled_from(sorted(KNOWN)),
    st.sampled_from(sorted(KNOWN)).map(lambda c: c + "-x"),
    st.from_regex(r"\A(private-|presence-|private-encrypted-)[A-Za-z0-9_\-=@,.;]{0,12}\Z"),
    st.sampled_from(["private-a:b", "private-a\n", "private- a", "private-#", "private-é"]),
    st.just("private-" + "x" * 157),  # 165 characters: one too many
    text,
)
known_channels = st.sampled_from(sorted(KNOWN))
likely_channels = st.one_of(known_channels, known_channels, known_channels, channels)


#: JSON values that are not strings, for fields that must be one (case 9).
non_strings = st.one_of(
    st.none(), st.booleans(), st.integers(), st.lists(text, max_size=2), st.just({"a": 1})
)
CHARSETS = ["utf-8", "UTF-8", "latin-1", "utf-16", "utf-16-le", "cp1252", "bogus", '"utf-8"']


def encode(body: str, charset: str) -> bytes:
    """``body`` in ``charset`` when Python knows it and it fits, else UTF-8."""
    try:
        return body.encode(charset.strip('"'))
    except (LookupError, UnicodeEncodeError):
        return body.encode()


def padded(kind: str, data: dict[str, Any], size: int) -> bytes:
    """A form or JSON body of ``data`` plus a ``pad`` field, ``size`` bytes long
    (or a little longer when ``data`` alone is longer)."""
    if kind == "form":
        bare = urlencode({**data, "pad": ""}).encode()
        return bare + b"a" * max(0, size - len(bare))
    bare = json.dumps({**data, "pad": ""}).encode()
    return bare[:-2] + b"a" * max(0, size - len(bare)) + b'"}'


def sizes() -> st.SearchStrategy[int]:
    """Body sizes around Django's DATA_UPLOAD_MAX_MEMORY_SIZE and far beyond."""
    limit = int(django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
    return st.sampled_from([1_000, 65_536, limit - 1, limit, limit + 1, 2 * limit])


@st.composite
def form_or_json_bodies(draw: Any, fields: st.SearchStrategy[dict[str, Any]]) -> tuple[bytes, str]:
    """(body, the content type it is written for) for the auth endpoints'
    fields: well formed, repeated keys, non-string values, deep nesting, other
    encodings, sizes around the limit, too many fields, or raw bytes."""
    kind = draw(
        st.sampled_from(
            ["form", "form", "json", "json", "form dup", "json dup", "json values",
             "json deep", "json list", "encoded", "bom", "large", "many fields", "bytes"]
        )
    )
    data = draw(fields)
    if kind == "form":
        return urlencode(data).encode(), FORM
    if kind == "json":
        return json.dumps(data).encode(), JSON
    if kind == "form dup":  # a repeated field (case 9)
        pairs = [*data.items(), (draw(st.sampled_from(sorted(data))), draw(text))]
        return urlencode(pairs).encode(), FORM
    if kind == "json dup":  # the same key twice, written by hand
        key = draw(st.sampled_from(sorted(data)))
        raw = json.dumps(data)[:-1] + f", {json.dumps(key)}: {json.dumps(draw(text))}}}"
        return raw.encode(), JSON
    if kind == "json values":  # null, a list, a number, an object (case 1, 9)
        key = draw(st.sampled_from(sorted(data)))
        return json.dumps({**data, key: draw(non_strings)}).encode(), JSON
    if kind == "json deep":  # nesting around the bound and far beyond it (case 30)
        depth = draw(st.one_of(st.integers(28, 40), st.integers(900, 5_000)))
        where = draw(st.sampled_from(["extra", *sorted(data)]))
        inner = "[" * depth + "1" + "]" * depth
        rest = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in data.items() if k != where]
        return ("{" + ", ".join([*rest, f'"{where}": {inner}']) + "}").encode(), JSON
    if kind == "json list":
        return json.dumps([data]).encode(), JSON
    if kind == "encoded":  # the same fields in another charset
        written = draw(st.sampled_from([FORM, JSON]))
        raw = urlencode(data) if written == FORM else json.dumps(data, ensure_ascii=False)
        return encode(raw, draw(st.sampled_from(CHARSETS))), written
    if kind == "bom":
        return b"\xef\xbb\xbf" + json.dumps(data).encode(), JSON
    if kind == "large":  # up to and past DATA_UPLOAD_MAX_MEMORY_SIZE
        written = draw(st.sampled_from(["form", "json"]))
        return padded(written, data, draw(sizes())), FORM if written == "form" else JSON
    if kind == "many fields":  # around DATA_UPLOAD_MAX_NUMBER_FIELDS
        limit = int(django_settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
        count = draw(st.sampled_from([limit - len(data) - 1, limit - len(data), limit + 1]))
        pairs = [*data.items(), *((f"f{i}", "") for i in range(max(0, count)))]
        return urlencode(pairs).encode(), FORM
    return draw(st.binary(max_size=200)), draw(st.sampled_from([FORM, JSON]))


def content_types(written_for: str) -> st.SearchStrategy[str]:
    """The content type to send: mostly the one the body is written for, with or
    without a charset; sometimes another, none or garbage."""
    return st.one_of(
        st.just(written_for),
        st.just(written_for),
        st.just(written_for),
        st.sampled_from(CHARSETS).map(lambda c: f"{written_for}; charset={c}"),
        st.sampled_from([FORM, JSON, "text/plain", "", "application/JSON", " application/json"]),
        st.sampled_from(["multipart/form-data; boundary=x", f"{FORM};x", "application/json;;"]),
        printable,
    )


#: Added to the true length (shorter, or longer than the body), or not a number (case 31).
content_lengths = st.one_of(
    st.none(),
    st.none(),
    st.integers(-3, 3),
    st.sampled_from(["", "abc", "-1", "+5", "1_0", " 5", "٥", "9" * 5000, "1e3", "0x10"]),
)
methods = st.sampled_from(["POST"] * 6 + ["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"])
#: Headers that must change nothing about who is signed in (or must never 5xx).
noise_headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_X_SOCKET_ID": st.one_of(socket_ids, latin1),  # case 38
        "HTTP_ACCEPT": st.sampled_from(["*/*", JSON, "text/html", "application/xml", "x"]),
        "HTTP_ORIGIN": st.sampled_from(["http://testserver", "https://evil.example", "null"]),
        "HTTP_REFERER": st.sampled_from(["http://testserver/", "https://evil.example/"]),
        "HTTP_X_FORWARDED_FOR": latin1,
        "HTTP_X_FORWARDED_PROTO": st.sampled_from(["https", "http", "x"]),
        "HTTP_ACCEPT_LANGUAGE": latin1,
        "HTTP_USER_AGENT": latin1,
    },
)


def effective(body: bytes, declared: str | None) -> bytes:
    """What a server reads: the declared number of bytes, when it is a number."""
    if declared is not None and declared.isascii() and declared.isdigit() and len(declared) < 19:
        return body[: int(declared)]
    return body


def declared_length(body: bytes, content_length: int | str | None) -> str | None:
    """The Content-Length header to send for a drawn ``content_length``."""
    if isinstance(content_length, int):
        return str(len(body) + content_length)
    return content_length


def send(
    client: Any,
    method: str,
    url: str,
    body: bytes,
    content_type: str,
    declared: str | None,
    headers: dict[str, str],
    query: str | None = None,
) -> Any:
    """One request, carried as a socket would: the body stream ends where its
    bytes end (a longer Content-Length finds nothing more), whatever is declared."""
    extra: dict[str, Any] = {**headers, "wsgi.input": io.BytesIO(body)}
    if declared is not None:
        extra["CONTENT_LENGTH"] = declared
    if query is not None:
        extra["QUERY_STRING"] = query
    return client.generic(method, url, body, content_type=content_type, **extra)
