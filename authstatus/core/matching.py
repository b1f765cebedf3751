"""Policy patterns compiled into one matcher: ``(method, path) -> rule``.

Pattern syntax (over ``request.path_info``): a path of ``/``-separated segments where a
segment is a literal, ``*`` (exactly one non-empty segment) or ``**`` (any number of segments,
zero included). Patterns start with ``/``; a trailing ``/`` is significant, as it is in Django
URLs (``/api/notes/*/`` matches ``/api/notes/7/``, not ``/api/notes/7``).

Precedence, most specific first (DESIGN.md): segment by segment from the left, a literal beats
``*`` beats ``**``, and a longer literal path beats a shorter one; then an explicit method list
beats "all methods"; then the rule's ``rank`` (the caller's source order: database policies
override settings policies of equal specificity); then the higher ``priority``; then the
pattern text, so the choice is deterministic.

The rules are compiled into a segment trie, so the cost of a lookup depends on the depth of
the path and the wildcards along it, not on the number of rules. A lookup walks the trie as a
nondeterministic automaton: it carries the *set* of trie nodes the path so far can be at, one
segment at a time, and a ``**`` node is a state that may consume any segment and stay. Each
node is entered at most once per segment, so a lookup costs O(segments x trie nodes) whatever
the pattern — never exponential in the number of ``**`` (trying every split point of each
``**`` would be).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = [
    "Matcher",
    "PatternError",
    "Rule",
    "intern_set",
    "normalize_methods",
    "validate_pattern",
]

T = TypeVar("T")

ONE = "*"
ANY = "**"

# RFC 9110 §5.6.2 tchar, for method names (§9.1: method = token).
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class PatternError(ValueError):
    """A pattern or method list that cannot be compiled; the message says why."""


def validate_pattern(pattern: str) -> tuple[str, ...]:
    """Return the segments of ``pattern`` or raise :class:`PatternError`."""
    if not pattern.startswith("/"):
        raise PatternError("A path pattern must start with '/'.")
    if any(ch.isspace() or ord(ch) < 0x20 or ch == "\x7f" for ch in pattern):
        raise PatternError("A path pattern cannot contain whitespace or control characters.")
    if "?" in pattern or "#" in pattern:
        raise PatternError("A path pattern matches the path only; remove the '?' or '#' part.")
    segments = tuple(pattern[1:].split("/"))
    for segment in segments:
        if "*" in segment and segment not in (ONE, ANY):
            raise PatternError(
                f"'{segment}': a wildcard must be a whole segment, '*' (one segment) or "
                "'**' (any number of segments)."
            )
    return segments


def normalize_methods(methods: str | Iterable[str]) -> frozenset[str]:
    """Upper-cased method names; ``GET`` implies ``HEAD`` (RFC 9110 §9.3.2). Empty: all."""
    names = methods.split() if isinstance(methods, str) else list(methods)
    result = set()
    for name in names:
        upper = name.strip().upper()
        if not upper or not set(upper) <= _TCHAR:
            raise PatternError(f"'{name}' is not an HTTP method name.")
        result.add(upper)
    if "GET" in result:
        result.add("HEAD")
    return intern_set(result)


_INTERNED: dict[frozenset[str], frozenset[str]] = {frozenset(): frozenset()}
_INTERNED_MAX = 4096


def intern_set(items: Iterable[str]) -> frozenset[str]:
    """``frozenset(items)``, shared with every equal set interned before: policies repeat a
    few sets (no methods, ``GET HEAD``, no scopes), and 100,000 rules would otherwise hold
    500,000 frozensets of 216 bytes each, every one visited by the garbage collector."""
    found = frozenset(items)
    shared = _INTERNED.get(found)
    if shared is not None:
        return shared
    if len(_INTERNED) < _INTERNED_MAX:
        _INTERNED[found] = found
    return found


@dataclass(frozen=True, slots=True)
class Rule(Generic[T]):
    """One pattern with the value it resolves to."""

    pattern: str
    value: T
    methods: frozenset[str] = frozenset()
    priority: int = 0
    rank: int = 0


_SPECIFICITIES: dict[tuple[int, ...], tuple[int, ...]] = {}


def _specificity(segments: tuple[str, ...]) -> tuple[int, ...]:
    # 3 literal, 2 '*', 1 '**'; a trailing 0 makes a longer pattern beat its own prefix.
    found = (*(1 if s == ANY else 2 if s == ONE else 3 for s in segments), 0)
    return _SPECIFICITIES.setdefault(found, found) if len(_SPECIFICITIES) < 4096 else found


V = TypeVar("V")

# Chunks of 2**_BITS items (see _Chunks).
_BITS = 10
_MASK = (1 << _BITS) - 1


class _Chunks(Generic[V]):
    """A list kept in chunks of ``2**_BITS`` items. :meth:`copy` shares every chunk, and
    writing to the copy copies only the chunk written: :meth:`Matcher.rebuilt` then allocates
    in proportion to what changed, not to the whole trie. A young list of 300,000 items is
    visited item by item by the next garbage collections (holding the GIL): that, not the
    copying, is what a rebuild of 100,000 policies would otherwise stall requests with."""

    __slots__ = ("chunks", "length", "owned")

    def __init__(self, flat: list[V]) -> None:
        size = 1 << _BITS
        self.chunks: list[list[V]] = [flat[i : i + size] for i in range(0, len(flat), size)]
        if not self.chunks:
            self.chunks.append([])
        self.length = len(flat)
        self.owned: set[int] | None = None
        """Chunks this copy may write in place (``None``: every one: not a copy)."""

    def copy(self) -> _Chunks[V]:
        new: _Chunks[V] = _Chunks([])
        new.chunks = list(self.chunks)
        new.length = self.length
        new.owned = set()
        return new

    def __iter__(self) -> Iterator[V]:
        return itertools.chain.from_iterable(self.chunks)

    def get(self, i: int) -> V:
        return self.chunks[i >> _BITS][i & _MASK]

    def set(self, i: int, value: V) -> None:
        self._own(i >> _BITS)[i & _MASK] = value

    def append(self, value: V) -> None:
        chunk = self.length >> _BITS
        if chunk == len(self.chunks):
            self.chunks.append([])
            if self.owned is not None:
                self.owned.add(chunk)
        self._own(chunk).append(value)
        self.length += 1

    def _own(self, chunk: int) -> list[V]:
        if self.owned is not None and chunk not in self.owned:
            self.chunks[chunk] = list(self.chunks[chunk])
            self.owned.add(chunk)
        return self.chunks[chunk]


class Matcher(Generic[T]):
    """An immutable, compiled set of rules."""

    MEMO_SIZE = 4096
    """Lookups remembered per matcher. Paths are client-controlled and unbounded, so the memo
    is emptied when full rather than allowed to grow."""

    def __init__(self, rules: Iterable[Rule[T]]) -> None:
        # The trie as parallel arrays indexed by node number (0 is the root), not one object
        # per node: at 100,000 policies the garbage collector then tracks two objects per rule
        # (the rule, its value) instead of a dozen. A full collection visits every tracked
        # object while holding the GIL, so this bounds how long a rebuild on another thread
        # can stall a request. Dicts of str -> int and tuples of ints are not tracked.
        literal: list[dict[str, int] | None] = [None]
        one: list[int] = [-1]
        any_: list[int] = [-1]
        swallows: list[bool] = [False]
        node_rules: list[list[int]] = [[]]
        found: list[Rule[T] | None] = []
        specificity: list[tuple[int, ...]] = []
        terminal: list[int] = []

        def new(swallow: bool = False) -> int:
            literal.append(None)
            one.append(-1)
            any_.append(-1)
            swallows.append(swallow)
            node_rules.append([])
            return len(one) - 1

        for rule in rules:
            segments = validate_pattern(rule.pattern)
            node = 0
            for segment in segments:
                if segment == ANY:
                    if any_[node] < 0:
                        any_[node] = new(swallow=True)
                    node = any_[node]
                elif segment == ONE:
                    if one[node] < 0:
                        one[node] = new()
                    node = one[node]
                else:
                    children = literal[node]
                    if children is None:
                        children = literal[node] = {}
                    child = children.get(segment)
                    if child is None:
                        child = children[segment] = new()
                    node = child
            node_rules[node].append(len(found))
            found.append(rule)
            specificity.append(_specificity(segments))
            terminal.append(node)
        self._literal = _Chunks(literal)
        self._one = _Chunks(one)
        self._any = _Chunks(any_)
        self._swallows = _Chunks(swallows)
        """Reached through ``**``: may consume any segment and stay where it is."""
        self._node_rules = _Chunks([tuple(indices) for indices in node_rules])
        self._rules = _Chunks(found)
        """By index; ``None`` where :meth:`rebuilt` removed a rule."""
        self._specificity = _Chunks(specificity)
        self._terminal = _Chunks(terminal)
        """The node each rule is attached to."""
        self._closure = _Chunks([self._chain(n) for n in range(len(one))])
        """Each node and the ``**`` nodes below it without consuming a segment (``**`` may
        match zero segments)."""
        self._count = len(found)
        self._memo: dict[tuple[str, str], Rule[T] | None] = {}

    def _chain(self, node: int) -> tuple[int, ...]:
        chain = [node]
        while (below := self._any.get(chain[-1])) >= 0:
            chain.append(below)
        return tuple(chain)

    def __len__(self) -> int:
        return self._count

    def rebuilt(self, rules: Iterable[Rule[T]]) -> Matcher[T]:
        """A new matcher equal to ``Matcher(rules)``, sharing this one's structure for the
        rules (the same objects) it already holds: its cost is that of the rules added or
        removed, not of all of them (copy-on-write; this matcher is not changed, so threads
        may keep using it). Falls back to a full compile when most rules changed, or when
        rules kept from this matcher are not in the same relative order (ties between equal
        rules resolve by order)."""
        rules = list(rules)
        index_of = {id(rule): i for i, rule in enumerate(self._rules) if rule is not None}
        kept: set[int] = set()
        added: list[Rule[T]] = []
        last = -1
        for rule in rules:
            i = index_of.get(id(rule))
            if i is None or i in kept:
                added.append(rule)
                continue
            if i < last:
                return Matcher(rules)
            last = i
            kept.add(i)
        removed = [i for i in index_of.values() if i not in kept]
        holes = self._rules.length - self._count + len(removed)
        if len(added) + len(removed) > len(rules) // 4 or holes > len(rules):
            return Matcher(rules)
        for rule in added:
            validate_pattern(rule.pattern)  # before anything is copied: fail as Matcher()
        new: Matcher[T] = Matcher(())
        new._literal = self._literal.copy()
        new._one = self._one.copy()
        new._any = self._any.copy()
        new._swallows = self._swallows.copy()
        new._node_rules = self._node_rules.copy()
        new._closure = self._closure.copy()
        new._rules = self._rules.copy()
        new._specificity = self._specificity.copy()
        new._terminal = self._terminal.copy()
        new._count = len(rules)
        touched: set[int] = set()
        for i in removed:
            node = new._terminal.get(i)
            new._node_rules.set(node, tuple(x for x in new._node_rules.get(node) if x != i))
            new._rules.set(i, None)
            touched.add(node)
        copied: set[int] = set()  # nodes whose literal dict is this matcher's own already
        for rule in added:
            touched.add(new._attach(rule, copied))
        position = {id(rule): p for p, rule in enumerate(rules)}
        for node in touched:
            new._node_rules.set(
                node,
                tuple(
                    sorted(new._node_rules.get(node), key=lambda i: position[id(new._rules.get(i))])
                ),
            )
        return new

    def _attach(self, rule: Rule[T], copied: set[int]) -> int:
        """Add ``rule`` to a matcher made by :meth:`rebuilt` (its arrays are copies, its
        literal dicts shared until copied); returns the node it is attached to."""
        segments = validate_pattern(rule.pattern)
        node = 0
        run = [0]  # the node entered last by a literal or '*', then the '**' nodes after it
        for segment in segments:
            if segment == ANY:
                if self._any.get(node) < 0:
                    self._any.set(node, self._new_node(swallows=True))
                    for entered in run:  # their closures now reach one node further
                        self._closure.set(entered, self._chain(entered))
                node = self._any.get(node)
                run.append(node)
                continue
            if segment == ONE:
                if self._one.get(node) < 0:
                    self._one.set(node, self._new_node())
                node = self._one.get(node)
            else:
                children = self._literal.get(node)
                if children is None or node not in copied:
                    children = {} if children is None else dict(children)
                    self._literal.set(node, children)
                    copied.add(node)
                child = children.get(segment)
                if child is None:
                    child = children[segment] = self._new_node()
                node = child
            run = [node]
        index = self._rules.length
        self._rules.append(rule)
        self._specificity.append(_specificity(segments))
        self._terminal.append(node)
        self._node_rules.set(node, (*self._node_rules.get(node), index))
        return node

    def _new_node(self, swallows: bool = False) -> int:
        node = self._one.length
        self._literal.append(None)
        self._one.append(-1)
        self._any.append(-1)
        self._swallows.append(swallows)
        self._node_rules.append(())
        self._closure.append((node,))
        return node

    def match(self, method: str, path: str) -> Rule[T] | None:
        """The most specific rule for ``method`` and ``path``, or ``None``."""
        key = (method, path)
        try:
            return self._memo[key]
        except KeyError:
            pass
        found = self._match(method, path)
        if len(self._memo) >= self.MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = found
        return found

    def _match(self, method: str, path: str) -> Rule[T] | None:
        if not path.startswith("/"):
            return None
        bits, mask = _BITS, _MASK
        literal, one = self._literal.chunks, self._one.chunks
        swallows, closure = self._swallows.chunks, self._closure.chunks
        # The live set, as a dict for its order and O(1) membership: a node can be entered
        # from its parent and, through '**', from itself in the same step.
        live = dict.fromkeys(closure[0][0])
        for segment in path[1:].split("/"):
            step: dict[int, None] = {}
            for node in live:
                high, low = node >> bits, node & mask
                children = literal[high][low]
                if children is not None:
                    child = children.get(segment)
                    if child is not None:
                        for entered in closure[child >> bits][child & mask]:
                            step[entered] = None
                below = one[high][low]
                if segment and below >= 0:
                    for entered in closure[below >> bits][below & mask]:
                        step[entered] = None
                if swallows[high][low]:
                    step[node] = None
            if not step:
                return None
            live = step
        method = method.upper()
        best: tuple[tuple[object, ...], Rule[T]] | None = None
        for node in live:
            for index in self._node_rules.get(node):
                rule = self._rules.get(index)
                if rule is None:  # never: a removed rule leaves no index in a node
                    continue
                if rule.methods and method not in rule.methods:
                    continue
                key = (
                    self._specificity.get(index),
                    bool(rule.methods),
                    rule.rank,
                    rule.priority,
                    rule.pattern,
                )
                if best is None or key > best[0]:
                    best = (key, rule)
        return None if best is None else best[1]
