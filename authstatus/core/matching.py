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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = ["Matcher", "PatternError", "Rule", "normalize_methods", "validate_pattern"]

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
    return frozenset(result)


@dataclass(frozen=True, slots=True)
class Rule(Generic[T]):
    """One pattern with the value it resolves to."""

    pattern: str
    value: T
    methods: frozenset[str] = frozenset()
    priority: int = 0
    rank: int = 0


def _specificity(segments: tuple[str, ...]) -> tuple[int, ...]:
    # 3 literal, 2 '*', 1 '**'; a trailing 0 makes a longer pattern beat its own prefix.
    return (*(1 if s == ANY else 2 if s == ONE else 3 for s in segments), 0)


@dataclass(slots=True, eq=False)  # identity: nodes are members of the live set
class _Node(Generic[T]):
    literal: dict[str, _Node[T]] = field(default_factory=dict)
    one: _Node[T] | None = None
    any: _Node[T] | None = None
    rules: list[tuple[tuple[int, ...], Rule[T]]] = field(default_factory=list)
    swallows: bool = False
    """Reached through ``**``: may consume any segment and stay where it is."""
    closure: tuple[_Node[T], ...] = ()
    """This node and the ``**`` nodes below it without consuming a segment (``**`` may match
    zero segments), set once the trie is built."""


class Matcher(Generic[T]):
    """An immutable, compiled set of rules."""

    MEMO_SIZE = 4096
    """Lookups remembered per matcher. Paths are client-controlled and unbounded, so the memo
    is emptied when full rather than allowed to grow."""

    def __init__(self, rules: Iterable[Rule[T]]) -> None:
        self._root: _Node[T] = _Node()
        self._count = 0
        self._memo: dict[tuple[str, str], Rule[T] | None] = {}
        for rule in rules:
            segments = validate_pattern(rule.pattern)
            node = self._root
            for segment in segments:
                if segment == ANY:
                    node.any = node.any or _Node(swallows=True)
                    node = node.any
                elif segment == ONE:
                    node.one = node.one or _Node()
                    node = node.one
                else:
                    node = node.literal.setdefault(segment, _Node())
            node.rules.append((_specificity(segments), rule))
            self._count += 1
        _close(self._root)

    def __len__(self) -> int:
        return self._count

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
        # The live set, as a dict for its order and O(1) membership: a node can be entered
        # from its parent and, through '**', from itself in the same step.
        live = dict.fromkeys(self._root.closure)
        for segment in path[1:].split("/"):
            step: dict[_Node[T], None] = {}
            for node in live:
                child = node.literal.get(segment)
                if child is not None:
                    for entered in child.closure:
                        step[entered] = None
                if node.one is not None and segment:
                    for entered in node.one.closure:
                        step[entered] = None
                if node.swallows:
                    step[node] = None
            if not step:
                return None
            live = step
        method = method.upper()
        best: tuple[tuple[object, ...], Rule[T]] | None = None
        for node in live:
            for specificity, rule in node.rules:
                if rule.methods and method not in rule.methods:
                    continue
                key = (specificity, bool(rule.methods), rule.rank, rule.priority, rule.pattern)
                if best is None or key > best[0]:
                    best = (key, rule)
        return None if best is None else best[1]


def _close(root: _Node[T]) -> None:
    """Set every node's :attr:`_Node.closure` (iteratively: patterns may be deep)."""
    stack = [root]
    while stack:
        node = stack.pop()
        chain = [node]
        while chain[-1].any is not None:
            chain.append(chain[-1].any)
        node.closure = tuple(chain)
        stack.extend(node.literal.values())
        stack.extend(n for n in (node.one, node.any) if n is not None)
