"""Load an access token, with its user and application, in one query compiled once.

``AccessToken.objects.select_related("user", "application").filter(token_checksum=…)`` is one
query, but building it costs far more than running it: Django compiles the SQL of some forty
columns (token, user and application) and works out their converters on every call — about
0.3 ms, several times the cost of the indexed lookup itself on SQLite. :class:`TokenLoader`
lets Django compile that exact queryset once per database connection and keeps what its
``ModelIterable`` would compute per call (the SQL, the converters, the related-object
populators); each lookup then executes the SQL through Django's cursor (so query logging,
``CaptureQueriesContext``, execute wrappers and Django's checks see it as any query) and builds
the instances as ``ModelIterable`` does: ``Model.from_db`` and Django's related populators.

It relies on the compiler's ``select``/``klass_info``/``get_converters`` and
``get_related_populators``, which Django's own iterables use. If preparing it fails (a Django
whose internals differ), :func:`load` falls back to the plain queryset, logged once; the
``PREPARED_TOKEN_QUERY`` setting turns the prepared statement off altogether. The test suite
compares the two field by field on every supported Django (CI's version matrix), and
``make bench`` measures both.

The statement is compiled once per database alias. Each connection then gets a copy whose
backend converters are bound to that connection's operations: under ASGI every request's
sync code runs in a thread of its own, with a connection of its own, and compiling the
statement per connection would cost about a millisecond per request.

On SQLite the statement is kept with a named parameter: Django's SQLite cursor rewrites
``%s`` placeholders with a regular expression over the whole statement on every execution
(some 2,400 characters here), and formats a named one instead, for a third of the cost of
executing the lookup.
"""

from __future__ import annotations

import logging
import threading
import types
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, router

from authstatus.conf import app_settings, on_reload
from authstatus.contrib.oauth2_provider.authtime import RELATED_NAME

__all__ = ["TokenLoader", "load"]

logger = logging.getLogger("authstatus")

# The user, the application and (RFC 9470 step-up) the row of the token's authentication time:
# one LEFT JOIN on a unique column, no query of its own.
RELATED = ("user", "application", RELATED_NAME)
_SENTINEL = "\x00authstatus-token-checksum\x00"


def _queryset(model: Any, db: str) -> Any:
    return model.objects.using(db).select_related(*RELATED).filter(token_checksum=_SENTINEL)[:1]


class TokenLoader:
    """The prepared lookup of ``model`` by ``token_checksum`` on one database connection."""

    def __init__(self, model: Any, db: str) -> None:
        from django.db.models.query import get_related_populators

        queryset = _queryset(model, db)
        compiler = queryset.query.get_compiler(using=db)
        sql, params = compiler.as_sql()
        positions = [i for i, p in enumerate(params) if p == _SENTINEL]
        if len(positions) != 1:
            raise RuntimeError("the token lookup's parameters are not as expected")
        self.db = db
        connection = connections[db]
        self.sql: str = sql
        self.names: list[str] | None = None
        if connection.vendor == "sqlite" and "%%" not in sql:
            self.sql, self.names = _named(sql, len(params))
        # The parameters as they are executed (a list, or a dict on SQLite) and where in them
        # the checksum goes: each lookup copies them and sets that one.
        self.template: Any = (
            list(params) if self.names is None else dict(zip(self.names, params, strict=True))
        )
        self.slot: Any = positions[0] if self.names is None else self.names[positions[0]]
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.model = klass_info["model"]
        self.init_list = [f[0].target.attname for f in select[self.start : self.end]]
        converters = compiler.get_converters([s[0] for s in select[: compiler.col_count]])
        self.converters: list[tuple[int, Sequence[Callable[..., Any]], Any]] = [
            (pos, convs, expression) for pos, (convs, expression) in converters.items()
        ]
        # Django 6.0 added fetch modes: the queryset's mode goes to every instance it builds.
        self.fetch_mode: Any = getattr(queryset, "_fetch_mode", None)
        populators: Any = get_related_populators  # its signature differs across versions
        if self.fetch_mode is None:
            self.populators = populators(klass_info, select, db)
        else:
            self.populators = populators(klass_info, select, db, self.fetch_mode)
        self.ops: Any = connection.ops

    def on(self, connection: Any) -> TokenLoader:
        """This statement for ``connection``: a copy whose backend converters (bound methods
        of the operations of the connection it was prepared on) are bound to ``connection``'s
        operations. Field converters do not depend on the connection."""
        if connection.ops is self.ops:
            return self
        copy = object.__new__(TokenLoader)
        copy.__dict__.update(self.__dict__)
        copy.ops = connection.ops
        copy.converters = [
            (pos, [_bound(c, self.ops, connection.ops) for c in convs], expression)
            for pos, convs, expression in self.converters
        ]
        return copy

    def __call__(self, checksum: str, connection: Any = None) -> Any | None:
        """The instance for ``checksum`` or ``None``; ``connection`` is ``connections[db]``
        when the caller has it (looking it up costs a context-local read)."""
        params = self.template.copy()
        params[self.slot] = checksum
        if connection is None:
            connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for pos, convs, expression in self.converters:  # as SQLCompiler.apply_converters
            value = values[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            values[pos] = value
        fields = values[self.start : self.end]
        if self.fetch_mode is None:
            obj = self.model.from_db(self.db, self.init_list, fields)
        else:
            obj = self.model.from_db(self.db, self.init_list, fields, fetch_mode=self.fetch_mode)
            if self.fetch_mode.track_peers:
                obj._state.peers = [weakref.ref(obj)]
        for populator in self.populators:
            populator.populate(values, obj)
        return obj


def _named(sql: str, count: int) -> tuple[str, list[str]]:
    """``sql`` with its ``count`` ``%s`` placeholders as ``%(p0)s``… and their names."""
    parts = sql.split("%s")
    if len(parts) != count + 1:
        raise RuntimeError("the token lookup's placeholders are not as expected")
    names = [f"p{i}" for i in range(count)]
    out = parts[0] + "".join(
        f"%({name})s{part}" for name, part in zip(names, parts[1:], strict=True)
    )
    return out, names


def _bound(converter: Any, old: Any, new: Any) -> Any:
    if getattr(converter, "__self__", None) is old:
        return types.MethodType(converter.__func__, new)
    return converter


# The statement, compiled once per (alias, model); None: preparing failed (the queryset is
# used). Then one copy per (connection, model): a connection is per thread, and the backend
# converters Django returns are bound to the connection they were computed for.
_prepared: dict[tuple[str, Any], TokenLoader | None] = {}
_loaders: weakref.WeakKeyDictionary[Any, dict[Any, TokenLoader | None]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def _loader(model: Any, db: str, connection: Any = None) -> TokenLoader | None:
    if connection is None:
        connection = connections[db]
    per_connection = _loaders.get(connection)
    if per_connection is not None and model in per_connection:
        return per_connection[model]
    key = (db, model)
    if key in _prepared:
        prepared = _prepared[key]
    else:
        try:
            prepared = TokenLoader(model, db)
        except Exception:
            logger.warning(
                "authstatus: cannot prepare the one-query token lookup; using the queryset",
                exc_info=True,
            )
            prepared = None
        _prepared[key] = prepared
    loader = None if prepared is None else prepared.on(connection)
    with _lock:
        _loaders.setdefault(connection, {})[model] = loader
    return loader


on_reload(_prepared.clear, settings=("DATABASES",))


def load(model: Any, checksum: str) -> Any | None:
    """The ``model`` instance whose ``token_checksum`` is ``checksum``, with ``user``,
    ``application`` and its authentication row loaded, or ``None``. Exactly one query."""
    db = router.db_for_read(model)
    if app_settings.PREPARED_TOKEN_QUERY:
        connection = connections[db]
        loader = _loader(model, db, connection)
        if loader is not None:
            return loader(checksum, connection)
    return model.objects.using(db).select_related(*RELATED).filter(token_checksum=checksum).first()
