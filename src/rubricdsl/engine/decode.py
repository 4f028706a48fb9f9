"""The typed decoder of JSONL lines: read only what a rubric's checker reads.

Most of a record's bytes are text that no field of the rubric reads, and most records
have no finding. For a rubric whose fields all sit at paths of object keys, `fast_path`
builds a msgspec decoder whose type holds only those paths: one `Struct` per object on
the way (a dotted path is a nested Struct), keys no field reads are skipped without
building a value, and each field's value is typed by its declared type, loosely enough
to hold every value the general path would give it, and no other:

- text, enum: a string; bool: true or false; a set: a list of strings;
- int, scale, number: an integer of 64 bits or a finite double, as orjson reads them.

Anything else (a string where a number belongs, an array where an object belongs, an
integer beyond 64 bits, a number beyond a double, a lone surrogate, text that is not
JSON) makes the decoder reject the line. A line it reads goes through `check`, the
rubric's checker generated to read those Structs (`codegen.compile_fast_check`); when
it finds nothing, the record is done. Every other line (rejected, with a finding, or
holding bytes that are not UTF-8 in a key no field reads, which the decoder skips
without looking) takes the general path, orjson and the strict re-read, which gives
the findings: the typed decoder only ever says "nothing to report", and says it only
where the general path finds nothing.

Without msgspec (or for a rubric the decoder cannot describe: paths with indexes,
selectors or `@`, a path that is both a value and an object), there is no fast path.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from rubricdsl.engine.codegen import Compiled, compile_fast_check

# the Python types of orjson's numbers: 64-bit integers, finite doubles
_I64 = (-(1 << 63), (1 << 63) - 1)  # msgspec bounds integers to int64; larger ones take the general path
_DBL = 1.7976931348623157e308


@dataclass
class FastPath:
    """A rubric's typed decoder: `decode(line)` gives a Struct or raises one of `errors`;
    `check` is the rubric's checker over that Struct (None or a list, as `Compiled.check`);
    `utf8(line)` whether a line that is not ASCII is UTF-8 (the decoder does not look at
    the bytes of what it skips)."""

    decode: Callable[[bytes], Any]
    errors: tuple[type[BaseException], ...]
    check: Callable[[Any], Any]
    utf8: Callable[[bytes], bool]


def fast_path(compiled: Compiled) -> FastPath | None:
    """The typed decoder of `compiled`'s rubric, built once (kept on `compiled`); None
    without msgspec or when the rubric's paths are not all object keys."""
    got = compiled.fast
    if got is None:
        got = compiled.fast = _build(compiled) or False
    return got or None


def paths_tree(fields: list[Any]) -> dict | None:
    """The keys the fields read, as a tree: key -> subtree (an object read through) or
    the kinds of the fields read there (a set of kinds). None when a path holds an index,
    a selector or `@`, or is both a value and an object read through."""
    root: dict = {}
    for f in fields:
        path = f.path
        if not path or not all(s.__class__ is str for s in path):
            return None
        node = root
        for step in path[:-1]:
            node = node.setdefault(step, {})
            if node.__class__ is not dict:
                return None
        leaf = node.setdefault(path[-1], set())
        if leaf.__class__ is not set:
            return None
        leaf.add(f.type.kind)
    return root


def _build(compiled: Compiled) -> FastPath | None:
    tree = paths_tree(compiled.rubric.fields)
    if tree is None:
        return None
    try:
        import msgspec  # noqa: PLC0415  (only for checking: `rubric --help` does not load it)
    except ImportError:
        return None
    from typing import Annotated  # noqa: PLC0415

    num = (Annotated[int, msgspec.Meta(ge=_I64[0], le=_I64[1])]
           | Annotated[float, msgspec.Meta(ge=-_DBL, le=_DBL)])
    by_kind: dict[str, Any] = {"text": str, "enum": str, "bool": bool, "set": list[str],
                               "int": num, "scale": num, "number": num}
    attrs: dict[tuple[str, ...], str] = {}  # path -> attribute of its parent's Struct
    empties: dict[tuple[str, ...], Any] = {}  # path of an object -> its Struct with nothing read
    count = [0]

    def struct(node: dict, at: tuple[str, ...]) -> Any:
        fields = []
        rename = {}
        for k, (key, sub) in enumerate(node.items()):
            attr = f"k{k}"
            attrs[at + (key,)] = attr
            rename[attr] = key
            if sub.__class__ is dict:
                typ = struct(sub, at + (key,))
            else:
                types = {by_kind.get(kind) for kind in sub}
                if len(types) != 1 or None in types:
                    raise _Unfit
                typ = types.pop()
            fields.append((attr, typ | None, None))
        count[0] += 1
        cls = msgspec.defstruct(f"Record{count[0]}", fields, rename=rename, gc=False)
        empties[at] = cls()
        return cls

    try:
        top = struct(tree, ())
        decoder = msgspec.json.Decoder(top)
    except (_Unfit, TypeError, ValueError):
        return None
    check = compile_fast_check(compiled.rubric, attrs, empties)
    # RecursionError: nested deeper than the interpreter's stack allows
    return FastPath(decoder.decode, (msgspec.DecodeError, RecursionError), check, is_utf8)


def is_utf8(line: bytes) -> bool:
    """Whether `line` is UTF-8 (surrogates, which UTF-8 cannot hold, are not)."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class _Unfit(Exception):
    """Fields of different declared types at one path: no one type holds them."""
