"""The route map: every URL pattern of the URLconf, as the endpoints of resources.

Django routes a URL to a *callback* — a view function, or the function ``as_view()``
returned. Several URL patterns can reach one callback: DRF's format-suffix patterns
(``/api/orders.json`` beside ``/api/orders/``, from ``DefaultRouter`` or
``format_suffix_patterns``), a router's optional trailing slash (``trailing_slash="/?"``), the
same patterns under ``i18n_patterns``. Together they are one :class:`Endpoint`, written in its
*canonical* form — no format suffix, the trailing slash, no language prefix — with the other
forms as its *variants*. A request that reaches an endpoint through a variant is matched
against the policies as its canonical path (:meth:`Decorations.canonical`), so a policy written
for ``/api/orders/*/`` governs ``/api/orders/4.json`` as well.

Endpoints of one view form a *family*: every route of one viewset registration (its list, detail and
extra-action routes), or every URL of one view class or function. Families are what
:mod:`authstatus.policies.resolution` uses to keep a route no policy names from being weaker than
its siblings.

URL patterns are turned into policy syntax once per URLconf: a path converter or a regex
group becomes ``*`` (``**`` when it can match ``/``). Regular expressions are read for the
constructs Django and DRF routers write — literals, escaped characters, groups, a final
``/?`` — and shown as written, without a policy pattern, when they use anything else.

Each endpoint has a *generic sample*: its canonical path with each parameter replaced by
:data:`SENTINEL`, a segment no policy literal can equal (patterns cannot contain control
characters). Matching it finds the policies that govern *every* URL of the endpoint, not one
that names a single object (``/api/vault/1/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern

from authstatus.conf import on_reload
from authstatus.policies.exemptions import is_exempt_view

__all__ = [
    "DRF_KIND",
    "METHODS",
    "SENTINEL",
    "Decorations",
    "Endpoint",
    "RouteMap",
    "ViewKind",
    "decorations_for",
    "is_drf_view",
    "register_view_kind",
    "route_map",
    "view_kind",
]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
"""The methods the route map reports (``HEAD`` follows ``GET``; ``OPTIONS`` is left out)."""

SENTINEL = "\x00"
"""Stands for a URL parameter in a generic sample: no policy literal can equal it."""

_CONVERTER = re.compile(r"<(?:(?P<kind>[^>:]+):)?(?P<name>[^>]+)>")
_ESCAPABLE = frozenset("./-_~:@!$&'()*+,;=%\\[]{}?^|#")
_SLASH_SAMPLES = ("a/b", "1/2", "a-1/b-2", "a/b.c")
_MAP_ATTRIBUTE = "_authstatus_route_map"


@dataclass(frozen=True, slots=True)
class _Param:
    name: str
    display: str
    slash: bool = False
    fmt: bool = False


_Token = str | _Param


class _Unreadable(ValueError):
    """A regular expression this module does not turn into policy syntax."""


@dataclass(frozen=True, slots=True)
class Decorations:
    """How a request URL of an endpoint differs from its canonical path."""

    format_kwarg: str | None = None
    """DRF's format-suffix keyword (``FORMAT_SUFFIX_KWARG``) when a variant has a suffix."""
    optional_slash: bool = False
    """A variant has no trailing slash where the canonical path has one, or the reverse."""
    trailing_slash: bool = True
    """Whether the canonical path ends with ``/``."""
    locale: LocalePrefixPattern | None = None
    """The ``i18n_patterns`` prefix the endpoint is reached under, if any."""

    def canonical(self, path_info: str, kwargs: Mapping[str, Any]) -> str:
        """The canonical path of a request path that resolved to this endpoint."""
        path = path_info
        if self.locale is not None:
            prefix = self.locale.language_prefix
            if prefix and path.startswith("/" + prefix):
                path = path[len(prefix) :]
        normalise = self.optional_slash
        if self.format_kwarg is not None:
            suffix = kwargs.get(self.format_kwarg)
            if isinstance(suffix, str) and suffix:
                for ending in (f".{suffix}/", f".{suffix}"):
                    if path.endswith(ending):
                        path = path[: -len(ending)]
                        normalise = True
                        break
        if normalise:
            if self.trailing_slash and not path.endswith("/"):
                path += "/"
            elif not self.trailing_slash and len(path) > 1 and path.endswith("/"):
                path = path[:-1]
        return path


@dataclass(frozen=True)
class Endpoint:
    """One callback of the URLconf, reached by one canonical URL pattern and its variants."""

    written: str
    """Readable canonical form, e.g. ``/api/orders/<pk>/``."""
    pattern: str | None
    """The canonical form in policy syntax, e.g. ``/api/orders/*/``; ``None`` if unreadable."""
    sample: str | None
    """The generic sample path (parameters as :data:`SENTINEL`); ``None`` if unreadable."""
    variants: tuple[str, ...]
    """Other written forms reaching the same callback (format suffix, slash, language)."""
    name: str | None
    namespaces: tuple[str, ...]
    callback: Any
    view_class: type | None
    actions: Mapping[str, str]
    """Viewset routes: HTTP method (upper case) → action name. Empty for other views."""
    methods: tuple[str, ...]
    """The methods of :data:`METHODS` the view serves (all of them for function views)."""
    family: tuple[Any, ...]
    """Shared by sibling endpoints: one viewset registration, or one view."""
    detail: bool | None = None
    """Viewset routes: whether the route is of one object (``detail=True``)."""

    @property
    def is_viewset(self) -> bool:
        return bool(self.actions)

    def action(self, method: str) -> str | None:
        """The viewset action ``method`` dispatches to on this endpoint (``HEAD`` as ``GET``)."""
        if not self.actions:
            return None
        upper = method.upper()
        return self.actions.get(upper) or (self.actions.get("GET") if upper == "HEAD" else None)

    @property
    def kind(self) -> ViewKind | None:
        """The adapter's kind of view, when an adapter enforces this view itself."""
        return view_kind(self.callback)

    @property
    def is_drf(self) -> bool:
        """Whether DRF's adapter enforces this view (``PolicyPermission``)."""
        return is_drf_view(self.callback)

    @property
    def exempt(self) -> bool:
        """Left alone: neither an adapter's view (DRF views never are: ``PolicyPermission``
        enforces) nor one the middleware enforces (:mod:`authstatus.policies.exemptions`)."""
        return self.kind is None and is_exempt_view(self.callback, self.namespaces)


DRF_KIND = "drf"
"""The name of the view kind the DRF adapter registers."""


class ViewKind(Protocol):
    """A kind of view that an adapter enforces itself, as DRF's adapter enforces ``APIView``
    subclasses with ``PolicyPermission``. The adapter registers it when it loads
    (:func:`register_view_kind`); the middleware leaves such views to it, and the route map
    asks it who enforces a view. Nothing here imports an adapter.

    Contract: :meth:`matches` and :meth:`enforced_by` only look at the view; they neither
    query nor import anything per call.
    """

    name: str

    def matches(self, callback: Any) -> bool:
        """Whether ``callback``, the view a URL pattern names, is of this kind."""
        ...

    def enforced_by(self, callback: Any) -> str:
        """Who enforces the policies on the view, as ``authstatus_routes`` shows it:
        ``PolicyPermission``, or what its permission classes are instead."""
        ...


_VIEW_KINDS: list[ViewKind] = []


def register_view_kind(kind: ViewKind) -> None:
    """Register an adapter's kind of view (once per name: a second registration of a name
    replaces the first)."""
    _VIEW_KINDS[:] = [k for k in _VIEW_KINDS if k.name != kind.name] + [kind]


def view_kind(callback: Any) -> ViewKind | None:
    """The registered kind ``callback`` is of, or ``None``: a plain Django view (function or
    class-based), which the middleware enforces unless it is exempt."""
    for kind in _VIEW_KINDS:
        if kind.matches(callback):
            return kind
    return None


def is_drf_view(callback: Any) -> bool:
    """Whether DRF's adapter enforces ``callback`` (a view of the kind it registered)."""
    kind = view_kind(callback)
    return kind is not None and kind.name == DRF_KIND


@dataclass
class RouteMap:
    """The endpoints of one URLconf, built once (see the module docstring)."""

    endpoints: list[Endpoint] = field(default_factory=list)
    by_callback: dict[Any, list[Endpoint]] = field(default_factory=dict)
    decorations: dict[Any, Decorations] = field(default_factory=dict)
    families: dict[tuple[Any, ...], list[Endpoint]] = field(default_factory=dict)

    @classmethod
    def build(cls, patterns: Iterable[Any]) -> RouteMap:
        route_map = cls()
        groups: dict[tuple[Any, str | None, str], list[_Raw]] = {}
        for entry in _walk(patterns, (), (), None):
            groups.setdefault(entry.key(), []).append(entry)
        for entries in groups.values():
            head = next((e for e in entries if e.fmt is None), entries[0])
            head.extra = [e for e in entries if e is not head]
            endpoint, decorations = head.endpoint()
            route_map.endpoints.append(endpoint)
            route_map.by_callback.setdefault(endpoint.callback, []).append(endpoint)
            route_map.families.setdefault(endpoint.family, []).append(endpoint)
            if decorations is not None:
                route_map.decorations.setdefault(endpoint.callback, decorations)
        return route_map

    def endpoint(self, callback: Any) -> Endpoint | None:
        found = self.by_callback.get(callback)
        return found[0] if found else None


def route_map(urlconf: str | None = None) -> RouteMap:
    """The route map of ``urlconf`` (``ROOT_URLCONF`` by default; a request's own
    ``request.urlconf`` when it has one), built on first use and kept with Django's cached
    resolver, so ``clear_url_caches()`` and a changed ``ROOT_URLCONF`` rebuild it.

    Not the thread's ``get_urlconf()``: reading that thread-local costs more than the whole
    policy lookup, and the adapters know the request's URLconf."""
    resolver = get_resolver(urlconf)
    found: RouteMap | None = resolver.__dict__.get(_MAP_ATTRIBUTE)
    if found is None:
        found = RouteMap.build(resolver.url_patterns)
        resolver.__dict__[_MAP_ATTRIBUTE] = found
    entry = _DECORATIONS.get(urlconf)
    if entry is None or entry[0] is not found:
        _DECORATIONS[urlconf] = (found, {**dict.fromkeys(found.by_callback), **found.decorations})
    return found


_DECORATIONS: dict[str | None, tuple[RouteMap, dict[Any, Decorations | None]]] = {}
"""Per URLconf name, its map and the decorations of every callback in it (``None``:
undecorated): the per-request lookup is two dict accesses. Refilled when the map changes,
emptied when ``ROOT_URLCONF`` changes."""


def decorations_for(callback: Any, urlconf: str | None = None) -> Decorations | None:
    """How URLs reaching ``callback`` differ from its canonical path (``None``: they do not)."""
    entry = _DECORATIONS.get(urlconf)
    if entry is not None:
        try:
            return entry[1][callback]
        except KeyError:
            pass
    return route_map(urlconf).decorations.get(callback)


on_reload(_DECORATIONS.clear, settings=("ROOT_URLCONF",))


# -- reading URL patterns -------------------------------------------------------------------


@dataclass(eq=False)
class _Raw:
    """One URL pattern, read: its forms (one, or two for an optional slash)."""

    forms: list[list[_Token]]
    name: str | None
    namespaces: tuple[str, ...]
    callback: Any
    locale: LocalePrefixPattern | None
    regex: str
    fmt: str | None
    readable: bool
    extra: list[_Raw] = field(default_factory=list)

    def key(self) -> tuple[Any, str | None, str]:
        return (self.callback, self.name, self.canonical_text())

    def canonical_tokens(self) -> list[_Token]:
        """The first form; for a format variant, cut before its suffix (``.<format>/?``)."""
        tokens = list(self.forms[0])
        if self.fmt is not None:
            cut = next(i for i, t in enumerate(tokens) if isinstance(t, _Param) and t.fmt)
            tokens = tokens[:cut]
            if tokens and isinstance(tokens[-1], str) and tokens[-1].endswith("."):
                tokens[-1] = tokens[-1][:-1]
        return tokens

    def canonical_text(self) -> str:
        """Canonical form without its trailing slash: the key format variants join on."""
        if not self.readable:
            return self.regex
        return _text(self.canonical_tokens(), lambda p: f"<{p.name}>").rstrip("/")

    def endpoint(self) -> tuple[Endpoint, Decorations | None]:
        entries = [self, *self.extra]
        tokens = self.canonical_tokens()
        if self.fmt is not None and not any(e.fmt is None for e in entries):
            tokens = _with_slash(tokens)  # only suffixed routes: assume Django's slash
        written = _text(tokens, lambda p: p.display) if self.readable else self.regex
        variants: list[str] = []
        for entry in entries:
            for form in entry.forms:
                text = _text(form, lambda p: p.display) if entry.readable else entry.regex
                if text != written and text not in variants:
                    variants.append(text)
        variants = _collapse_slashes(variants)
        if self.locale is not None:
            written = "/<language>" + written
            variants = ["/<language>" + v for v in variants]
        trailing = _text(tokens, lambda p: "x").endswith("/")
        optional = any(len(e.forms) > 1 for e in entries)
        fmt = next((e.fmt for e in entries if e.fmt is not None), None)
        decorations = None
        if fmt is not None or optional or self.locale is not None:
            decorations = Decorations(fmt, optional, trailing, self.locale)
        view_class = _view_class(self.callback)
        actions = _actions(self.callback)
        initkwargs = getattr(self.callback, "initkwargs", None) or {}
        endpoint = Endpoint(
            written=written,
            pattern=_glob(tokens) if self.readable else None,
            sample=_text(tokens, lambda p: SENTINEL) if self.readable else None,
            variants=tuple(variants),
            name=self.name,
            namespaces=self.namespaces,
            callback=self.callback,
            view_class=view_class,
            actions=actions,
            methods=_methods(view_class, actions),
            family=_family(self.callback, view_class, actions, initkwargs),
            detail=initkwargs.get("detail") if actions else None,
        )
        return endpoint, decorations


def _collapse_slashes(variants: list[str]) -> list[str]:
    """``/a.<format>/`` and ``/a.<format>`` as one ``/a.<format>[/]``."""
    out: list[str] = []
    for variant in variants:
        if variant.endswith("/") and variant[:-1] in variants:
            out.append(variant[:-1] + "[/]")
        elif variant + "/" not in variants:
            out.append(variant)
    return out


def _walk(
    patterns: Iterable[Any],
    prefix: tuple[list[_Token], ...] | tuple[()],
    namespaces: tuple[str, ...],
    locale: LocalePrefixPattern | None,
    regex: str = "",
    readable: bool = True,
) -> Iterator[_Raw]:
    """Every URLPattern below ``patterns``, depth first, in resolution order."""
    prefixes: list[list[_Token]] = list(prefix) or [["/"]]
    for entry in patterns:
        piece = entry.pattern
        here_regex = regex + str(piece)
        here_readable = readable
        here_locale = locale
        if isinstance(piece, LocalePrefixPattern):
            forms: list[list[_Token]] = [[]]
            here_locale = piece
            here_regex = regex + "<language>/"
        else:
            try:
                forms = _read(piece)
            except _Unreadable:
                forms, here_readable = [[]], False
        joined = [p + f for p in prefixes for f in forms]
        if isinstance(entry, URLResolver):
            extra = (entry.namespace,) if entry.namespace else ()
            yield from _walk(
                entry.url_patterns,
                tuple(joined),
                namespaces + extra,
                here_locale,
                here_regex,
                here_readable,
            )
        elif isinstance(entry, URLPattern):
            fmt = next((t.name for f in joined for t in f if isinstance(t, _Param) and t.fmt), None)
            yield _Raw(
                forms=joined,
                name=entry.name,
                namespaces=namespaces,
                callback=entry.callback,
                locale=here_locale,
                regex="/" + here_regex.replace("^", ""),
                fmt=fmt,
                readable=here_readable,
            )


def _read(piece: Any) -> list[list[_Token]]:
    """The forms of one pattern piece, the canonical one (with its slash) first."""
    if isinstance(piece, RoutePattern):
        return [_read_route(str(piece))]
    if isinstance(piece, RegexPattern):
        return _read_regex(str(piece))
    raise _Unreadable(str(piece))


def _read_route(route: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    for match in _CONVERTER.finditer(route):
        if match.start() > position:
            tokens.append(route[position : match.start()])
        kind = match.group("kind") or "str"
        name = match.group("name")
        fmt = kind.startswith("drf_format_suffix")
        # DRF's format-suffix converter matches the dot and an optional slash too.
        display = f".<{name}>" if fmt else match.group(0)
        tokens.append(_Param(name, display, slash=kind == "path", fmt=fmt))
        position = match.end()
    if position < len(route):
        tokens.append(route[position:])
    return tokens


def _format_kwarg() -> str:
    try:
        from rest_framework.settings import api_settings
    except ImportError:  # pragma: no cover - DRF is a dependency
        return "format"
    return str(api_settings.FORMAT_SUFFIX_KWARG)


def _read_regex(regex: str) -> list[list[_Token]]:
    """Literals, escapes, groups and a final ``/?``: what ``path()``-less routers write."""
    text = regex.removeprefix("^")
    for end in ("$", r"\Z"):
        if text.endswith(end) and not text.endswith("\\" + end):
            text = text.removesuffix(end)
            break
    tokens: list[_Token] = []
    optional_slash = False
    i = 0
    unnamed = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _ESCAPABLE:
                raise _Unreadable(regex)
            tokens.append(text[i + 1])
            i += 2
        elif char == "(":
            close = _group_end(text, i)
            body = text[i + 1 : close]
            if body.startswith("?P<"):
                name, _, inner = body[3:].partition(">")
            elif body.startswith("?"):
                raise _Unreadable(regex)
            else:
                name, inner = f"_{unnamed}", body
                unnamed += 1
            tokens.append(
                _Param(
                    name,
                    f"<{name}>",
                    slash=_can_match_slash(inner),
                    fmt=name == _format_kwarg() and _after_dot(tokens),
                )
            )
            i = close + 1
            if i < len(text) and text[i] in "?*+{":
                raise _Unreadable(regex)
        elif char == "?" and i == len(text) - 1 and tokens and tokens[-1] == "/":
            tokens.pop()
            optional_slash = True
            i += 1
        elif char in ".^$*+?{}[]|":
            raise _Unreadable(regex)
        else:
            tokens.append(char)
            i += 1
    merged = _merge_literals(tokens)
    if optional_slash:
        return [_with_slash(merged), merged]
    return [merged]


def _after_dot(tokens: list[_Token]) -> bool:
    return bool(tokens) and tokens[-1] == "."


def _group_end(text: str, start: int) -> int:
    depth = 0
    i = start
    in_class = False
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Unreadable(text)


def _can_match_slash(inner: str) -> bool:
    try:
        compiled = re.compile(inner)
    except re.error:
        return True  # unknown: assume the wider match
    return any(compiled.fullmatch(sample) for sample in _SLASH_SAMPLES)


def _merge_literals(tokens: list[_Token]) -> list[_Token]:
    out: list[_Token] = []
    for token in tokens:
        if isinstance(token, str) and out and isinstance(out[-1], str):
            out[-1] += token
        else:
            out.append(token)
    return out


def _with_slash(tokens: list[_Token]) -> list[_Token]:
    if tokens and isinstance(tokens[-1], str):
        return [*tokens[:-1], tokens[-1] + "/"]
    return [*tokens, "/"]


def _text(tokens: Iterable[_Token], param: Any) -> str:
    return "".join(t if isinstance(t, str) else param(t) for t in tokens)


def _glob(tokens: list[_Token]) -> str:
    """Policy syntax: a segment holding a parameter is ``*`` (``**`` if it may hold ``/``)."""
    marker = "\x01"
    text = _text(tokens, lambda p: marker + ("2" if p.slash else "1") + marker)
    segments = []
    for segment in text.split("/"):
        if marker in segment:
            segments.append("**" if f"{marker}2{marker}" in segment else "*")
        else:
            segments.append(segment)
    return "/".join(segments)


# -- views ----------------------------------------------------------------------------------


def _view_class(callback: Any) -> type | None:
    for attribute in ("cls", "view_class"):
        owner = getattr(callback, attribute, None)
        if isinstance(owner, type):
            return owner
    return None


def _actions(callback: Any) -> dict[str, str]:
    actions = getattr(callback, "actions", None)
    if not isinstance(actions, Mapping):
        return {}
    return {str(m).upper(): str(a) for m, a in actions.items() if str(m).upper() in METHODS}


def _methods(view_class: type | None, actions: Mapping[str, str]) -> tuple[str, ...]:
    if actions:
        return tuple(m for m in METHODS if m in actions)
    if view_class is None:
        return METHODS
    allowed = {str(m).upper() for m in getattr(view_class, "http_method_names", ())}
    return tuple(m for m in METHODS if m in allowed and hasattr(view_class, m.lower()))


def _family(
    callback: Any,
    view_class: type | None,
    actions: Mapping[str, str],
    initkwargs: Mapping[str, Any],
) -> tuple[Any, ...]:
    if actions and view_class is not None:
        return ("viewset", view_class, initkwargs.get("basename"))
    if view_class is not None:
        return ("view", view_class)
    return ("function", callback)
