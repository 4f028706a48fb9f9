"""The typed decoder of JSONL lines: read only what a rubric's checker reads.

Most of a record's bytes are text that no field of the rubric reads, and most records
have no finding. For a rubric whose fields all sit at paths of object keys, `fast_path`
builds a msgspec decoder whose type holds only those paths: one `Struct` per object on
the way (a dotted path is a nested Struct), keys no field reads skipped without building
a value, and each field typed by its declared type, so that the decoder itself checks
the values (in C):

- text: a string; bool: true or false; enum: one of its values; set: a list of strings
  (whether they are distinct values of the set, the checker says);
- int, scale: an integer of 64 bits in the field's range (not 3.0: the checker reads it
  as 3, the decoder leaves it to the general path); number: such an integer or a finite
  double in the range;
- a field that may be missing (optional, `required when`) may be absent or null; any
  other must be there, and so must each object on its path.

A line the decoder reads is a record whose fields are all valid: its checks run in
`check`, the rubric's checker generated to read those Structs
(`codegen.compile_fast_check`), and when they find nothing the record is done; when they
find something, orjson reads the line again for the values its findings show, and the
typed check's findings are the record's (they are the general checker's, the values
being the same). Every other line (one the decoder rejects: an invalid or missing value,
a number beyond 64 bits or a double, an array where an object belongs, a lone surrogate,
text that is not JSON...; a line with bytes that are not UTF-8 in a key no field reads,
which the decoder skips without looking) takes the general path, orjson and the strict
re-read, which gives the findings. So the typed decoder says "nothing to report" only
where the general path finds nothing, and its findings are the general path's.

With arm counts (`rubric check --report`), `check_count` counts each record the decoder
reads, once; the lines it does not read are counted by the general path. For item
checks, a decoder that also reads the record's item and annotator (each a string or an
integer, as `findings.id_text` shows it; anything else takes the general path) gives
each record's row with its findings (`check_row`). Judgments (`each`), counts by
annotator with item checks, and arm counts with item checks take the general path for
every line.

Without msgspec (or for a rubric the decoder cannot describe: paths with indexes,
selectors or `@`, a path read by two fields, a path that is both a value and an
object, a path of more than 64 keys), there is no fast path.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Callable

from rubricdsl.engine.codegen import Compiled, compile_fast_check

# the Python types of orjson's numbers: 64-bit integers, finite doubles
_I64 = (-(1 << 63), (1 << 63) - 1)  # msgspec bounds integers to int64; larger ones take the general path
_DBL = 1.7976931348623157e308
_EXACT = 1 << 53  # integers a double holds exactly
_ORJSON_DEPTH = 1024  # arrays and objects orjson reads nested
_STEPS = 64  # the longest path the typed decoder reads


@dataclass
class FastPath:
    """A rubric's typed decoder: `decode(line)` gives a Struct or raises one of `errors`;
    `check` is the rubric's checker over that Struct (None or a list, as `Compiled.check`);
    `utf8(line)` whether a line that is not ASCII is UTF-8 (the decoder does not look at
    the bytes of what it skips); `check_count`, for a rubric compiled with
    `all_decides=True`, the checker that also counts arms (as `Compiled.check_count`,
    into the same dicts), else None; `annotator(struct)`, for the decoder built to read
    it, the record's annotator as `findings.id_text` gives it."""

    decode: Callable[[bytes], Any]
    errors: tuple[type[BaseException], ...]
    check: Callable[[Any], Any]
    utf8: Callable[[bytes], bool]
    check_count: Callable[[Any], Any] | None = None
    annotator: Callable[[Any], str | None] | None = None
    item: Callable[[Any], str | None] | None = None


def fast_path(compiled: Compiled, annotator: bool = False, rows: bool = False) -> FastPath | None:
    """The typed decoder of `compiled`'s rubric, built once (kept on `compiled`); None
    without msgspec or when the rubric's paths are not all object keys. With
    `annotator`, the decoder that also reads the record's annotator (`FastPath.annotator`);
    None when the rubric names none or its path is not object keys. With `rows` (a
    rubric with item checks, compiled with its row plan), the decoder that also reads
    the record's item (`FastPath.item`) and annotator, whose `check` is `check_row`
    (the findings and the row); None when the rubric names no item, or a path of the
    item or the annotator is not object keys or is a field's.

    None too while the interpreter's recursion limit is above orjson's nesting limit:
    msgspec's limit follows the interpreter's, so the decoder could then read a line
    nested deeper than orjson reads, which the strict re-read (a frame or two deeper
    in the stack) might find too deep."""
    if sys.getrecursionlimit() > _ORJSON_DEPTH:
        return None
    slot = "fast_rows" if rows else "fast_by" if annotator else "fast"
    got = getattr(compiled, slot)
    if got is None:
        got = (_build_rows(compiled) if rows else _build(compiled, annotator)) or False
        setattr(compiled, slot, got)
    return got or None


def paths_tree(fields: list[Any]) -> dict | None:
    """The keys the fields read, as a tree: key -> subtree (an object read through) or
    the field read there. None when a path holds an index, a selector or `@`, is read
    by two fields, is both a value and an object read through, or is longer than
    `_STEPS` (a Struct in a Struct in ...: the general path follows such a path)."""
    root: dict = {}
    for f in fields:
        path = f.path
        if not path or len(path) > _STEPS or not all(s.__class__ is str for s in path):
            return None
        node = root
        for step in path[:-1]:
            node = node.setdefault(step, {})
            if node.__class__ is not dict:
                return None
        if path[-1] in node:
            return None
        node[path[-1]] = f
    return root


def _build(compiled: Compiled, annotator: bool = False) -> FastPath | None:
    tree = paths_tree(compiled.rubric.fields)
    if tree is None:
        return None
    ann_path = compiled.rubric.record_annotator
    if annotator:
        # the annotator's value where the record gives one as text or an integer (what
        # `findings.id_text` shows as they are), else the general path's
        if not _add_annotator(tree, ann_path):
            return None
    built = _decoder(tree)
    if built is None:
        return None
    decoder, msgspec, attrs, empties = built
    counters = compiled.counters if compiled.check_count is not None else None
    check, check_count = compile_fast_check(compiled.rubric, attrs, empties, counters)
    # RecursionError: nested deeper than the interpreter's stack allows; ValueError: text
    # that is not UTF-8 in a string read (UnicodeDecodeError, in older msgspec releases)
    get = _text_getter(attrs, ann_path) if annotator else None
    return FastPath(decoder.decode, (msgspec.DecodeError, ValueError, RecursionError), check, is_utf8, check_count,
                    get)


def _build_rows(compiled: Compiled) -> FastPath | None:
    """The decoder that also reads each record's item and annotator, for item checks."""
    rubric = compiled.rubric
    tree = paths_tree(rubric.fields)
    if tree is None or compiled.plan is None or compiled.check_row is None:
        return None
    item_path, ann_path = rubric.record_item, rubric.record_annotator
    if not _add_annotator(tree, item_path, _ITEM):
        return None
    if ann_path is not None and not _add_annotator(tree, ann_path):
        return None
    built = _decoder(tree)
    if built is None:
        return None
    decoder, msgspec, attrs, empties = built
    check_row, _ = compile_fast_check(rubric, attrs, empties, plan=compiled.plan)
    ann = _text_getter(attrs, ann_path) if ann_path is not None else None
    return FastPath(decoder.decode, (msgspec.DecodeError, ValueError, RecursionError), check_row, is_utf8,
                    annotator=ann, item=_text_getter(attrs, item_path))


def _text_getter(attrs: dict[tuple[str, ...], str], path: Any) -> Callable[[Any], str | None]:
    return _annotator_getter(tuple(attrs[tuple(path[:k + 1])] for k in range(len(path))))


def _decoder(tree: dict) -> tuple[Any, Any, dict[tuple[str, ...], str], dict[tuple[str, ...], Any]] | None:
    """The msgspec decoder of a paths tree, msgspec, the attribute of each path and the
    empty Struct of each object path that may be missing; None without msgspec or when
    no one type holds a path's fields."""
    try:
        import msgspec  # noqa: PLC0415  (only for checking: `rubric --help` does not load it)
    except ImportError:
        return None
    attrs: dict[tuple[str, ...], str] = {}  # path -> attribute of its parent's Struct
    empties: dict[tuple[str, ...], Any] = {}  # path of an object that may be missing -> its empty Struct
    count = [0]

    def struct(node: dict, at: tuple[str, ...]) -> tuple[Any, bool]:
        """The Struct of an object, and whether it must be there (it holds a field that must)."""
        fields = []
        rename = {}
        must = False
        for k, (key, sub) in enumerate(node.items()):
            attr = f"k{k}"
            attrs[at + (key,)] = attr
            rename[attr] = key
            if sub.__class__ is dict:
                typ, required = struct(sub, at + (key,))
            elif sub is _ANNOTATOR or sub is _ITEM:
                typ, required = str | int, False
            else:
                typ, required = _leaf(msgspec, sub), not sub.may_be_missing
            must = must or required
            fields.append((attr, typ) if required else (attr, typ | None, None))
        count[0] += 1
        cls = msgspec.defstruct(f"Record{count[0]}", fields, rename=rename, kw_only=True, gc=False)
        if not must:
            empties[at] = cls()
        return cls, must

    try:
        top, _ = struct(tree, ())
        decoder = msgspec.json.Decoder(top)
    except (_Unfit, TypeError, ValueError, RecursionError):
        return None
    return decoder, msgspec, attrs, empties


_ANNOTATOR = object()  # the annotator's place in a paths tree
_ITEM = object()  # the item's


def _add_annotator(tree: dict, path: Any, marker: object = _ANNOTATOR) -> bool:
    """Put the annotator's path (or with `marker` _ITEM, the item's) in a paths tree:
    False when the rubric names none, its path is not object keys (or too long), or it
    is already in the tree (a field's path, or the annotator's) or crosses a field's."""
    if not path or len(path) > _STEPS or not all(s.__class__ is str for s in path):
        return False
    node = tree
    for step in path[:-1]:
        node = node.setdefault(step, {})
        if node.__class__ is not dict:
            return False
    if path[-1] in node:
        return False
    node[path[-1]] = marker
    return True


def _annotator_getter(attrs: tuple[str, ...]) -> Callable[[Any], str | None]:
    """The annotator of a decoded record, as `findings.id_text` gives it (an object
    on the way that is null or absent: none)."""
    def annotator(rec: Any) -> str | None:
        for a in attrs:
            if rec is None:
                return None
            rec = getattr(rec, a)
        return rec if rec is None or rec.__class__ is str else str(rec)

    return annotator


def _leaf(msgspec: Any, f: Any) -> Any:
    """The type of field `f`'s valid values (see the module's docstring)."""
    from typing import Annotated, Literal  # noqa: PLC0415

    t = f.type
    k = t.kind
    if k == "bool":
        return bool
    if k == "text":
        return str
    if k == "set":
        return list[str]
    if k == "enum":
        if t.enum is None or not t.enum.values or not all(v.__class__ is str for v in t.enum.values):
            raise _Unfit
        return Literal[tuple(t.enum.values)]
    if k not in ("int", "scale", "number"):
        raise _Unfit
    lo, hi = t.lo, t.hi
    for b in (lo, hi):
        # a bound a double does not hold exactly would compare otherwise in C than in Python
        if b is not None and (b.__class__ not in (int, float) or abs(b) > _EXACT):
            raise _Unfit
    ilo = _I64[0] if lo is None else max(math.ceil(lo), _I64[0])
    ihi = _I64[1] if hi is None else min(math.floor(hi), _I64[1])
    if ilo > ihi:
        raise _Unfit
    integer = Annotated[int, msgspec.Meta(ge=ilo, le=ihi)]
    if k != "number":
        return integer
    double = Annotated[float, msgspec.Meta(ge=-_DBL if lo is None else float(lo), le=_DBL if hi is None else float(hi))]
    return integer | double


def is_utf8(line: bytes) -> bool:
    """Whether `line` is UTF-8 (surrogates, which UTF-8 cannot hold, are not)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Unfit(Exception):
    """Fields of different declared types at one path: no one type holds them."""
