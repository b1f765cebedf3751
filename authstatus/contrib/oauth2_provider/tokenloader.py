"""Load an access token, with its user and application, in one query compiled once.

``AccessToken.objects.select_related("user", "application").filter(token_checksum=…)`` is one
query, but building it costs far more than running it: Django compiles the SQL of some forty
columns (token, user and application) and works out their converters on every call — about
0.3 ms, several times the cost of the indexed lookup itself on SQLite. :class:`TokenLoader`
lets Django compile that exact queryset once per database connection and keeps what its
``ModelIterable`` would compute per call (the SQL, the converters, the related-object
populators); each lookup then only executes the SQL and builds the same model instances
Django would. It executes through Django's cursor when anything may observe the query (query
logging, ``CaptureQueriesContext``, execute wrappers), else on the driver's cursor with the
checks and error translation of Django's (:meth:`TokenLoader._fetch`).

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

The instances are built as ``Model.from_db`` builds them, without its per-field ``setattr``
calls, when that is provably the same (:class:`_Builder`): the model keeps Django's own
``__init__``, ``from_db`` and ``__setattr__``, every concrete field's attribute is Django's
plain deferred-attribute descriptor, and no ``pre_init``/``post_init`` receiver is connected
for it (checked on every lookup). Otherwise ``from_db`` runs, signals and all. SQLite's
datetime and boolean converters, which Django's SQLite cursor has already turned into
``datetime``/``bool`` objects, are applied in one pass with the setting and time zone read
once per lookup; any other value goes through Django's converter.

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
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connections, router
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

from authstatus.conf import app_settings, on_reload
from authstatus.contrib.oauth2_provider.authtime import RELATED_NAME

__all__ = ["TokenLoader", "load"]

logger = logging.getLogger("authstatus")

# The user, the application and (RFC 9470 step-up) the row of the token's authentication time:
# one LEFT JOIN on a unique column, no query of its own.
RELATED = ("user", "application", RELATED_NAME)
_SENTINEL = "\x00authstatus-token-checksum\x00"
# What the driver's-cursor path (TokenLoader._fetch) uses of the connection, besides the
# driver's connection: checked when the statement is prepared.
DRIVER_PATH = (
    "execute_wrappers",
    "queries_logged",
    "close_if_health_check_failed",
    "ensure_connection",
    "validate_thread_sharing",
    "validate_no_broken_transaction",
    "wrap_database_errors",
    "create_cursor",
)
_combine = datetime.combine


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
        # The statement as the driver takes it, and how to get the driver's cursor; None: on
        # Django's cursor only (a backend whose cursor does more than pass the SQL through,
        # or a Django whose connection lacks a method the driver's path calls).
        self.driver_sql = self.sql
        self.driver_cursor: Callable[[Any], Any] | None = None
        usable = all(hasattr(connection, name) for name in DRIVER_PATH)
        if usable and connection.vendor == "sqlite" and self.names is not None:
            # What SQLiteCursorWrapper.execute() would pass to sqlite3: ":p0" placeholders.
            self.driver_sql = self.sql % {name: f":{name}" for name in self.names}
            self.driver_cursor = _sqlite_cursor
        elif usable and connection.vendor == "postgresql":
            # Django's PostgreSQL cursor hands the statement and parameters to the driver's
            # cursor (psycopg or psycopg2) unchanged; create_cursor() sets its time zone.
            self.driver_cursor = _backend_cursor
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
        self.width = compiler.col_count
        self.ops: Any = connection.ops
        self._split_converters()
        self.build = _Builder.maybe(self.model, self.init_list)
        self.related = _related_plan(self.populators)
        # Every builder of the row, for the per-lookup signal check; empty: use from_db.
        self.builders: list[_Builder] = []
        if self.build is not None and self.related is not None:
            self.builders = [self.build, *_builders(self.related)]

    def _split_converters(self) -> None:
        """SQLite's datetime and boolean converters apart (see the module docstring)."""
        self.datetimes: list[int] = []
        self.booleans: list[int] = []
        self.others: list[tuple[int, Sequence[Callable[..., Any]], Any]] = []
        if self.ops.connection.vendor != "sqlite":
            self.others = list(self.converters)
            return
        # Imported only on SQLite: the backend (which imports it) is loaded by then.
        from django.db.backends.sqlite3.operations import DatabaseOperations as SQLiteOps

        for pos, convs, expression in self.converters:
            func = getattr(convs[0], "__func__", None) if len(convs) == 1 else None
            bound_here = len(convs) == 1 and getattr(convs[0], "__self__", None) is self.ops
            if bound_here and func is SQLiteOps.convert_datetimefield_value:
                self.datetimes.append(pos)
            elif bound_here and func is SQLiteOps.convert_booleanfield_value:
                self.booleans.append(pos)
            else:
                self.others.append((pos, convs, expression))

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
        copy.others = [
            (pos, [_bound(c, self.ops, connection.ops) for c in convs], expression)
            for pos, convs, expression in self.others
        ]
        return copy

    def __call__(self, checksum: str, connection: Any = None) -> Any | None:
        """The instance for ``checksum`` or ``None``; ``connection`` is ``connections[db]``
        when the caller has it (looking it up costs a context-local read)."""
        params = self.template.copy()
        params[self.slot] = checksum
        if connection is None:
            connection = connections[self.db]
        row = self._fetch(params, connection)
        if row is None:
            return None
        values = list(row)
        self._convert(values, connection)
        fields = values[self.start : self.end]
        if self.builders and self._fit():
            obj = self.builders[0](self.db, fields, self.fetch_mode)
            if self.fetch_mode is not None and self.fetch_mode.track_peers:
                obj._state.peers = [weakref.ref(obj)]
            for related in self.related or ():
                related.populate(values, obj, self.db, self.fetch_mode)
            return obj
        if self.fetch_mode is None:
            obj = self.model.from_db(self.db, self.init_list, fields)
        else:
            obj = self.model.from_db(self.db, self.init_list, fields, fetch_mode=self.fetch_mode)
            if self.fetch_mode.track_peers:
                obj._state.peers = [weakref.ref(obj)]
        for populator in self.populators:
            populator.populate(values, obj)
        return obj

    def _fit(self) -> bool:
        """Whether every builder fits now (:meth:`_Builder.fits`); with no ``pre_init`` or
        ``post_init`` receiver for any model (the common case), without asking each."""
        if not pre_init.receivers and not post_init.receivers:
            return True
        return all(b.fits() for b in self.builders)

    def _fetch(self, params: Any, connection: Any) -> Any:
        """The row for ``params``, or ``None``.

        Through Django's cursor whenever something may observe the query: an execute wrapper
        (``connection.execute_wrapper()``, as django-debug-toolbar installs) or query logging
        (``DEBUG``, ``CaptureQueriesContext``, ``assertNumQueries``). Otherwise on the
        driver's own cursor (:attr:`driver_cursor`), after the checks Django's ``cursor()``
        and ``execute()`` make, in their order, and with its error translation: the health
        check (``CONN_HEALTH_CHECKS``), the connection (refused on an event loop, as Django
        refuses it), the thread sharing, a broken ``atomic`` block; a driver error is raised
        as Django's (``django.db.DatabaseError`` and its subclasses). What this leaves out is
        Django's two wrapper objects and, on SQLite, its placeholder rewrite: ``make bench``
        measures them (its *token lookup on Django's cursor* row).
        """
        driver_cursor = self.driver_cursor
        if driver_cursor is None or connection.execute_wrappers or connection.queries_logged:
            with connection.cursor() as cursor:
                cursor.execute(self.sql, params)
                return cursor.fetchone()
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        connection.validate_thread_sharing()
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors:
            cursor = driver_cursor(connection)
            try:
                cursor.execute(self.driver_sql, params)
                return cursor.fetchone()
            finally:
                cursor.close()

    def _convert(self, values: list[Any], connection: Any) -> None:
        """Django's converters over ``values``, in place (what ``ModelIterable`` applies)."""
        if self.datetimes:
            ops = connection.ops
            aware = settings.USE_TZ
            tz = ops.connection.timezone if aware else None
            for pos in self.datetimes:
                value = values[pos]
                if value.__class__ is datetime and value.tzinfo is None:
                    if aware:
                        # timezone.make_aware(): value.replace(tzinfo=tz), fold kept. combine()
                        # builds the same datetime for a third of replace()'s cost, which
                        # parses nine keyword arguments.
                        values[pos] = _combine(value, value.time(), tz)
                elif value is not None:
                    values[pos] = ops.convert_datetimefield_value(value, None, connection)
        if self.booleans:
            ops = connection.ops
            for pos in self.booleans:
                value = values[pos]
                if value.__class__ is not bool:
                    values[pos] = ops.convert_booleanfield_value(value, None, connection)
        for pos, convs, expression in self.others:
            value = values[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            values[pos] = value


class _Builder:
    """Builds an instance of ``model`` exactly as ``model.from_db(db, attnames, values)`` does,
    for a model where that is provably only filling ``__dict__`` (see the module docstring).
    """

    def __init__(self, model: Any, attnames: list[str]) -> None:
        self.model = model
        self.attnames = attnames
        # ForeignKeyDeferredAttribute.__set__ on a new instance creates the (empty) related
        # object cache when the value is not None: so does this.
        self.foreign = [
            i
            for i, name in enumerate(attnames)
            if type(_class_attr(model, name)) is not DeferredAttribute
        ]

    @classmethod
    def maybe(cls, model: Any, attnames: list[str]) -> _Builder | None:
        """A builder, or ``None`` when ``from_db`` may do more than fill ``__dict__``."""
        concrete = [f.attname for f in model._meta.concrete_fields]
        if attnames != concrete or model._meta.abstract:
            return None
        if (
            model.__init__ is not Model.__init__
            or getattr(model.from_db, "__func__", None) is not getattr(Model.from_db, "__func__", 0)
            or model.__setattr__ is not object.__setattr__
            or model.__new__ is not object.__new__
        ):
            return None
        # Model.__init__ ends with super().__init__(): nothing after Model may define one.
        mro = model.__mro__
        if any("__init__" in k.__dict__ for k in mro[mro.index(Model) + 1 : -1]):
            return None
        allowed = (DeferredAttribute, ForeignKeyDeferredAttribute)
        if any(type(_class_attr(model, name)) not in allowed for name in attnames):
            return None
        return cls(model, attnames)

    def fits(self) -> bool:
        """Whether no ``pre_init``/``post_init`` receiver is connected for the model now."""
        # An empty receivers list (no receiver for any model: the common case) is all
        # Signal.send() looks at first too; has_listeners() is exact but costs a few µs.
        return (not pre_init.receivers or not pre_init.has_listeners(self.model)) and (
            not post_init.receivers or not post_init.has_listeners(self.model)
        )

    def __call__(self, db: str, values: Sequence[Any], fetch_mode: Any = None) -> Any:
        state = ModelState()
        for i in self.foreign:
            if values[i] is not None:
                state.fields_cache = {}
                break
        state.adding = False
        state.db = db
        if fetch_mode is not None:
            state.fetch_mode = fetch_mode
        obj = object.__new__(self.model)
        data = obj.__dict__
        data["_state"] = state
        data.update(zip(self.attnames, values, strict=True))
        return obj


class _Related:
    """``RelatedPopulator.populate`` with :class:`_Builder` (same order, same setters)."""

    def __init__(self, populator: Any, build: _Builder, children: list[_Related]) -> None:
        self.start, self.end = populator.cols_start, populator.cols_end
        self.pk_idx = populator.pk_idx
        self.local_setter = populator.local_setter
        self.remote_setter = populator.remote_setter
        self.build = build
        self.children = children

    def populate(self, row: list[Any], from_obj: Any, db: str, fetch_mode: Any) -> None:
        data = row[self.start : self.end]
        if data[self.pk_idx] is None:
            obj = None
        else:
            obj = self.build(db, data, fetch_mode)
            if fetch_mode is not None and fetch_mode.track_peers:
                obj._state.peers = [weakref.ref(obj)]
            for child in self.children:
                child.populate(row, obj, db, fetch_mode)
        self.local_setter(from_obj, obj)
        if obj is not None:
            self.remote_setter(obj, from_obj)


def _related_plan(populators: Sequence[Any]) -> list[_Related] | None:
    """:class:`_Related` for each of Django's populators, or ``None`` (use Django's)."""
    out = []
    for populator in populators:
        if getattr(populator, "reorder_for_init", True) is not None:
            return None
        build = _Builder.maybe(populator.model_cls, populator.init_list)
        children = _related_plan(populator.related_populators)
        if build is None or children is None:
            return None
        out.append(_Related(populator, build, children))
    return out


def _builders(related: list[_Related]) -> list[_Builder]:
    out = []
    for r in related:
        out.append(r.build)
        out.extend(_builders(r.children))
    return out


def _class_attr(model: Any, name: str) -> Any:
    for klass in model.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


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


def _sqlite_cursor(connection: Any) -> Any:
    # A plain sqlite3 cursor: rows and their converters are the connection's, the same as
    # through Django's SQLiteCursorWrapper, whose only work is the placeholder rewrite.
    return connection.connection.cursor()


def _backend_cursor(connection: Any) -> Any:
    return connection.create_cursor()


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
