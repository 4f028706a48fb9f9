"""`rubric diff OLD NEW`: what changed between two versions of a rubric.

It reports structural changes (fields, enum values, criteria, decisions and their
arms, rules, escalations, examples — by name; unnamed arms by position and content),
semantic changes (`semantic.compare`: equivalent / narrower / broader / changed with
witnesses) and, with data, every record whose findings differ between the versions.
"""
from __future__ import annotations

import errno
import hashlib
import os
import posixpath
import re
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from rubricdsl.language import ir
from rubricdsl.engine.codegen import Compiled, compile_rubric
from rubricdsl.language.imports import Files, Refused
from rubricdsl.language.load import RubricFileError, compile_text, decode_rubric, read_rubric_file
from rubricdsl.language.walk import fold
from rubricdsl.core.paths import path_text
from rubricdsl.core.source import normalize_text


class DiffError(Exception):
    """A side of the diff cannot be read or compiled."""


@dataclass
class SideText:
    """One side as read: its display name, text and sha256 (of its bytes); for a side
    read from git, where its imports are read (`files`, at the same revision) and the
    directory they are relative to (`base`, inside the repository)."""

    name: str
    text: str
    sha256: str
    files: Files | None = None
    base: str | None = None


def read_side(spec: str) -> SideText:
    """PATH, or REV:PATH read through git (with the files it imports, at REV)."""
    if os.path.exists(spec):
        try:
            text, sha = read_rubric_file(spec)
        except RubricFileError as e:
            raise DiffError(str(e)) from None
        return SideText(spec, text, sha)
    parts = _split_revision(spec)
    if parts is None:
        raise DiffError(f"{_shown(spec)}: no such file")
    return _read_revision(spec, *parts)


# ---- REV:PATH --------------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _shown(text: str) -> str:
    """A spec as a message prints it: control characters made visible."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _split_revision(spec: str) -> tuple[str, str] | None:
    """(REV, PATH) of REV:PATH, split where git splits it: at the first `:` outside
    `{...}` (`main@{2 days ago}:r.rubric`); None when there is no such `:`."""
    depth = 0
    for i, c in enumerate(spec):
        if c == "{":
            depth += 1
        elif c == "}" and depth:
            depth -= 1
        elif c == ":" and not depth:
            return spec[:i], spec[i + 1:]
    return None


class _Git:
    """git, run with arguments that are data: a revision never starts with `-` and
    `--end-of-options` ends git's options before it; object names go to `git cat-file
    --batch` on its standard input, never on its command line."""

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def run(self, args: list[str], data: bytes = b"") -> subprocess.CompletedProcess:
        try:
            return subprocess.run(["git", *args], input=data, capture_output=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise DiffError(f"{_shown(self.spec)}: cannot run git: {e}") from None

    def object(self, tree: str, path: str) -> tuple[str, bytes]:
        """(kind, bytes) of PATH in TREE, symbolic links inside the repository followed:
        kind is `blob`, `tree`, `missing`, `symlink` (a link out of the repository) or
        another git object kind."""
        proc = self.run(["cat-file", "--batch", "--follow-symlinks"], f"{tree}:{path}\n".encode("utf-8"))
        head, _, rest = proc.stdout.partition(b"\n")
        words = head.split()
        if proc.returncode != 0 or not words:
            raise DiffError(f"{_shown(self.spec)}: git cannot read {_shown(path)}")
        if words[-1] == b"missing" or words[0] in (b"dangling", b"notdir"):
            return "missing", b""
        if words[0] in (b"symlink", b"loop"):
            return words[0].decode("ascii"), b""
        size = int(words[-1]) if len(words) == 3 and words[-1].isdigit() else 0
        return words[1].decode("ascii", "replace") if len(words) == 3 else "unknown", rest[:size]


def _read_revision(spec: str, rev: str, path: str) -> SideText:
    """REV:PATH, read with git. PATH is relative to the repository's top directory, or
    to the current directory when it starts with `./` or `../` (as git reads it)."""
    if not rev or rev.startswith("-"):
        raise DiffError(f"{_shown(spec)}: no such file, and not REV:PATH (a git revision does not start with `-`)")
    if _CONTROL.search(spec):
        raise DiffError(f"{_shown(spec)}: no such file, and REV:PATH holds a control character")
    git = _Git(spec)
    top = git.run(["rev-parse", "--show-prefix"])
    if top.returncode != 0:
        raise DiffError(f"{_shown(spec)}: no such file, and not in a git repository (REV:PATH is read with git)")
    prefix = top.stdout.decode("utf-8", "surrogateescape").strip("\n")
    found = git.run(["rev-parse", "--verify", "--quiet", "--end-of-options", rev + "^{tree}"])
    tree = found.stdout.decode("ascii", "replace").strip()
    if found.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", tree):
        raise DiffError(f"{_shown(spec)}: `{_shown(rev)}` is not a revision of this repository")
    relative = path in (".", "..") or path.startswith(("./", "../"))
    where = posixpath.normpath(prefix + path) if relative else posixpath.normpath(path or ".")
    if where == ".." or where.startswith(("../", "/")):
        raise DiffError(f"{_shown(spec)}: {_shown(path)} is outside the repository")
    files = _Revision(git, tree, rev, where)
    try:
        data = files.read(where)
    except IsADirectoryError:
        raise DiffError(f"{_shown(spec)}: is a directory, not a rubric file") from None
    except FileNotFoundError:
        hint = (" (PATH is relative to the repository's top directory, `./PATH` to the current one)"
                if prefix and not relative else "")
        raise DiffError(f"{_shown(spec)}: no such file at {_shown(rev)}{hint}") from None
    except OSError as e:
        raise DiffError(f"{_shown(spec)}: cannot read: {e.strerror}") from None
    try:
        text = decode_rubric(data, _shown(spec))
    except RubricFileError as e:
        raise DiffError(str(e)) from None
    return SideText(spec, text, hashlib.sha256(data).hexdigest(), files, posixpath.dirname(where) or ".")


class _Revision(Files):
    """The files of one git revision, for the imports of a rubric read from it: a path
    is relative to the repository's top directory and never leaves it."""

    def __init__(self, git: _Git, tree: str, rev: str, main: str) -> None:
        super().__init__()
        self.git = git
        self.tree = tree
        self.rev = rev
        self.main = main

    def key(self, path: str) -> str:
        return posixpath.normpath(path.replace(os.sep, "/"))

    def name(self, path: str) -> str:
        return f"{_shown(self.rev)}:{self.key(path)}"

    def read(self, path: str) -> bytes:
        where = self.key(path)
        if where == ".." or where.startswith(("../", "/")):
            raise Refused(f"{where} is outside the repository, and the rubric is read from git revision "
                          f"`{_shown(self.rev)}`",
                          "an import of a rubric read from git stays inside the repository")
        if _CONTROL.search(where):  # refused at the import already (`path_problem`)
            raise Refused("the path holds a control character", "write the file's path as it is")
        kind, data = self.git.object(self.tree, where)
        if kind == "blob":
            return data
        if kind == "missing":
            raise FileNotFoundError(errno.ENOENT, "no such file", where)
        if kind == "tree":
            raise IsADirectoryError(errno.EISDIR, "is a directory", where)
        if kind == "symlink":
            raise OSError(0, "a symbolic link out of the repository")
        if kind == "loop":
            raise OSError(0, "a loop of symbolic links")
        raise OSError(0, "not a regular file")


@dataclass
class Change:
    what: str  # field | enum_value | criterion | decide | arm | rule | escalation | example | header
    name: str
    change: str  # added | removed | changed
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "structural", "what": self.what, "name": self.name, "change": self.change,
                "detail": self.detail}


def _expr(e: Any) -> str:
    """A stable text of an IR expression, for comparing conditions."""
    return "true" if e is None else fold(e, _expr_text)


def _expr_text(e: Any, args: list[str]) -> str:
    """The text of one node, given the texts of its children."""
    if e is None:
        return "true"
    if isinstance(e, ir.FieldRef):
        return e.field.name
    if isinstance(e, ir.LetRef):
        return e.let.name
    if isinstance(e, ir.Const):
        v = e.value
        if isinstance(v, frozenset):
            return "{" + ", ".join(sorted(map(str, v))) + "}"
        return repr(v)
    if isinstance(e, ir.Op):
        rx = f" /{e.regex.source}/" if e.regex is not None else ""
        return f"{e.op}({', '.join(args)}){rx}"
    if isinstance(e, ir.Agg):
        arg = e.field.name if e.field is not None else args[0] if args else ""
        return f"{e.kind}({arg})"
    return str(e)


class _Shown:
    """How a change shows a condition: as its rubric wrote it (the text its span covers in
    that version's file, lines joined), else, for a condition with no text to show (a
    comment inside it, or no file), as `_expr` writes it."""

    def __init__(self, old_text: str | None, new_text: str | None) -> None:
        self.texts = (old_text, new_text)

    def old(self, e: Any) -> str:
        return self._text(e, self.texts[0])

    def new(self, e: Any) -> str:
        return self._text(e, self.texts[1])

    @staticmethod
    def _text(e: Any, text: str | None) -> str:
        span = getattr(e, "span", None)
        if e is None or span is None or text is None or not 0 <= span.start < span.end <= len(text):
            return _expr(e)
        got = text[span.start:span.end]
        if "\n" in got:
            if "#" in got:  # a comment inside the condition: not shown as code
                return _expr(e)
            got = _LINE_BREAK.sub(" ", got)
        return got


_LINE_BREAK = re.compile(r"[ \t]*\r?\n\s*")


# ---- structural changes, one construct at a time ----------------------------------------------

_ORDER = {"header": 0, "record": 0.5, "field": 1, "enum_value": 2, "criterion": 3, "decide": 4, "arm": 5, "consensus": 6,
          "rule": 7, "escalation": 8, "example": 9}


def structural(old: ir.RubricIR, new: ir.RubricIR, texts: tuple[str | None, str | None] = (None, None)
               ) -> list[Change]:
    """The changes between two versions, by construct and name. `texts`: the text of each
    version's file (as parsed, `normalize_text`), so that a changed condition is shown
    as written; without them, in the IR's notation."""
    show = _Shown(*texts)
    out = (_header(old, new) + _record(old, new, show) + _fields(old, new, show) + _criteria(old, new, show)
           + _decides(old, new, show) + _consensus(old, new) + _rules(old, new, show) + _escalations(old, new, show)
           + _examples(old, new))
    return sorted(out, key=lambda c: (_ORDER[c.what], c.name, c.change))


def _header(old: ir.RubricIR, new: ir.RubricIR) -> list[Change]:
    out = []
    if old.name != new.name:
        out.append(Change("header", "name", "changed", f"{old.name} -> {new.name}"))
    if old.version != new.version:
        out.append(Change("header", "version", "changed", f"{old.version} -> {new.version}"))
    return out


# the lines of the `record` block, as (name, what the IR holds)
_RECORD_LINES = (("id", "record_id"), ("item", "record_item"), ("annotator", "record_annotator"),
                 ("each", "record_each"), ("judgment", "record_judgment"))


def _record(old: ir.RubricIR, new: ir.RubricIR, show: _Shown) -> list[Change]:
    """The `record` block's lines: where the id, item, annotator, list of judgments and
    judgment name are read, the paths `show` gives findings as context, and `skip when`
    (which judgments are checked at all)."""
    out = []
    for name, attr in _RECORD_LINES:
        a, b = getattr(old, attr), getattr(new, attr)
        if a != b:
            change = "added" if a is None else "removed" if b is None else "changed"
            shown = {"added": path_text(b or ()), "removed": path_text(a or ())}.get(
                change, f"{path_text(a or ())} -> {path_text(b or ())}")
            out.append(Change("record", name, change, shown))
    a_show, b_show = [p for _, p in old.record_show], [p for _, p in new.record_show]
    if a_show != b_show:  # the paths and their order: the order of each finding's `context`
        change = "added" if not a_show else "removed" if not b_show else "changed"
        text_a = ", ".join(path_text(p) for p in a_show)
        text_b = ", ".join(path_text(p) for p in b_show)
        shown = {"added": text_b, "removed": text_a}.get(change, f"{text_a} -> {text_b}")
        out.append(Change("record", "show", change, shown))
    a_skip, b_skip = old.record_skip, new.record_skip
    if (a_skip is None) != (b_skip is None) or (a_skip is not None and _expr(a_skip) != _expr(b_skip)):
        change = "added" if a_skip is None else "removed" if b_skip is None else "changed"
        shown = {"added": show.new(b_skip), "removed": show.old(a_skip)}.get(
            change, f"{show.old(a_skip)} -> {show.new(b_skip)}")
        out.append(Change("record", "skip when", change, shown))
    return out


def _matched(what: str, olds: list, news: list, key: Callable[[Any], str],
             detail: Callable[[Any], str] = lambda x: "") -> tuple[list[Change], list[tuple[str, Any, Any]]]:
    """The constructs only one version has (removed, added), and the pairs (name, old,
    new) of those both have, by name."""
    o = {key(x): x for x in olds}
    n = {key(x): x for x in news}
    out = [Change(what, k, "removed", detail(o[k])) for k in o.keys() - n.keys()]
    out += [Change(what, k, "added", detail(n[k])) for k in n.keys() - o.keys()]
    return out, [(k, o[k], n[k]) for k in sorted(o.keys() & n.keys())]


def _fields(old: ir.RubricIR, new: ir.RubricIR, show: _Shown) -> list[Change]:
    out, pairs = _matched("field", old.fields, new.fields, lambda f: f.name, lambda f: f"{f.kind} {f.type.describe()}")
    for n, a, b in pairs:
        if a.type.enum is not None and b.type.enum is not None and a.type.kind == b.type.kind:
            out += _enum_values(n, a, b)
        elif a.type.describe() != b.type.describe():
            out.append(Change("field", n, "changed", f"type: {a.type.describe()} -> {b.type.describe()}"))
        if a.kind != b.kind:
            out.append(Change("field", n, "changed", f"{a.kind} -> {b.kind}"))
        if a.path != b.path:
            out.append(Change("field", n, "changed", f"path: {a.path_text} -> {b.path_text}"))
        if (a.optional, _expr(a.required_when)) != (b.optional, _expr(b.required_when)):
            out.append(Change("field", n, "changed", "presence: " + _presence(a, show.old) + " -> "
                              + _presence(b, show.new)))
    return out


def _enum_values(n: str, a: ir.FieldIR, b: ir.FieldIR) -> list[Change]:
    """Values removed and added, and a change of order where order counts."""
    assert a.type.enum is not None and b.type.enum is not None
    old, new = a.type.enum, b.type.enum
    was, now = set(old.values), set(new.values)  # an enum may hold many thousand values: no scans
    out = [Change("enum_value", f"{n}.{v}", "removed") for v in old.values if v not in now]
    out += [Change("enum_value", f"{n}.{v}", "added") for v in new.values if v not in was]
    if old.ordered != new.ordered or (
            old.ordered and [v for v in old.values if v in now] != [v for v in new.values if v in was]):
        out.append(Change("field", n, "changed", f"order: {a.type.describe()} -> {b.type.describe()}"))
    return out


def _criteria(old: ir.RubricIR, new: ir.RubricIR, show: _Shown) -> list[Change]:
    out, pairs = _matched("criterion", old.criteria, new.criteria, lambda c: c.name)
    for n, a, b in pairs:
        if _expr(a.applies) != _expr(b.applies):
            out.append(Change("criterion", n, "changed", "applies when: " + show.old(a.applies) + " -> "
                              + show.new(b.applies)))
    return out


def _decides(old: ir.RubricIR, new: ir.RubricIR, show: _Shown) -> list[Change]:
    out, pairs = _matched("decide", old.decides, new.decides, lambda d: d.label.name)
    for n, a, b in pairs:
        if a.first != b.first:
            out.append(Change("decide", n, "changed", f"first: {a.first} -> {b.first}"))
        out += _arms(n, a, b, show)
    return out


def _consensus(old: ir.RubricIR, new: ir.RubricIR) -> list[Change]:
    out, pairs = _matched("consensus", old.consensus, new.consensus, lambda c: c.label.name)
    for n, a, b in pairs:
        parts = [f"min {what} {x} -> {y}" for what, x, y in (("annotators", a.min_annotators, b.min_annotators),
                                                             ("agreement", a.min_agreement, b.min_agreement)) if x != y]
        if parts:
            out.append(Change("consensus", n, "changed", ", ".join(parts)))
    return out


def _rules(old: ir.RubricIR, new: ir.RubricIR, show: _Shown) -> list[Change]:
    """Rules by name, per record and per item alike (a rule moved between them is changed)."""
    def own(a: ir.RuleIR, b: ir.RuleIR) -> list[str]:
        parts = [f"require: {show.old(a.require)} -> {show.new(b.require)}"] if _expr(a.require) != _expr(b.require) \
            else []
        if a.severity != b.severity:
            parts.append(f"severity {a.severity} -> {b.severity}")
        return parts

    return _checks("rule", old.rules + old.item_rules, new.rules + new.item_rules, own, show)


def _escalations(old: ir.RubricIR, new: ir.RubricIR, show: _Shown) -> list[Change]:
    """Escalations by name, per record and per item alike."""
    def own(a: ir.EscalateIR, b: ir.EscalateIR) -> list[str]:
        return [f"target {a.target} -> {b.target}"] if a.target != b.target else []

    return _checks("escalation", old.escalations + old.item_escalations, new.escalations + new.item_escalations, own,
                   show)


def _checks(what: str, olds: list, news: list, own: Callable[[Any, Any], list[str]], show: _Shown) -> list[Change]:
    """Rules or escalations: what changed in each, its own parts (`own`) between its
    `when` and where it stands (criterion, per item)."""
    out, pairs = _matched(what, olds, news, lambda r: r.name)
    for n, a, b in pairs:
        parts = [f"when: {_when(a.when, show.old)} -> {_when(b.when, show.new)}"] if _expr(a.when) != _expr(b.when) \
            else []
        parts += own(a, b)
        if a.criterion != b.criterion:
            parts.append(f"criterion {a.criterion} -> {b.criterion}")
        if a.per_item != b.per_item:
            parts.append("per item" if b.per_item else "per record")
        if parts:
            out.append(Change(what, n, "changed", ", ".join(parts)))
    return out


def _examples(old: ir.RubricIR, new: ir.RubricIR) -> list[Change]:
    out, pairs = _matched("example", old.examples, new.examples, lambda e: e.title)
    for n, a, b in pairs:
        if a.record != b.record or a.expect != b.expect:
            out.append(Change("example", n, "changed"))
    return out


def _presence(f: ir.FieldIR, shown: Callable[[Any], str] = _expr) -> str:
    if f.required_when is not None:
        return "required when " + shown(f.required_when)
    return "optional" if f.optional else "required"


def _when(e: Any, shown: Callable[[Any], str]) -> str:
    """A check's `when`, or `always` for one without."""
    return "always" if e is None else shown(e)


def _arm_key(a: ir.ArmIR) -> tuple:
    return (a.kind, a.name if a.kind == "edge" else "", _expr(a.cond))


def _arms(label: str, a: ir.DecideIR, b: ir.DecideIR, show: _Shown) -> list[Change]:
    """Arms matched by edge name, else by condition, else by position."""
    out: list[Change] = []
    left = list(a.arms)
    right = list(b.arms)
    pairs: list[tuple[ir.ArmIR, ir.ArmIR]] = []
    for x in list(left):
        match = next((y for y in right if _arm_key(y) == _arm_key(x)), None)
        if match is None and x.kind == "edge":
            match = next((y for y in right if y.kind == "edge" and y.name == x.name), None)
        if match is None and x.kind == "otherwise":
            match = next((y for y in right if y.kind == "otherwise"), None)
        if match is not None:
            pairs.append((x, match))
            left.remove(x)
            right.remove(match)
    for x, y in list(zip(sorted(left, key=lambda t: t.number), sorted(right, key=lambda t: t.number))):
        if x.kind == y.kind == "when" and x.number == y.number:
            pairs.append((x, y))
            left.remove(x)
            right.remove(y)
    for x, y in pairs:
        parts = []
        if _expr(x.cond) != _expr(y.cond):
            parts.append(f"condition: {show.old(x.cond)} -> {show.new(y.cond)}")
        if set(x.values) != set(y.values):
            parts.append("values: " + ", ".join(map(_v, x.values)) + " -> " + ", ".join(map(_v, y.values)))
        if parts:
            out.append(Change("arm", f"{label}: {y.name}", "changed", "; ".join(parts)))
    for x in left:
        out.append(Change("arm", f"{label}: {x.name}", "removed", f"when {show.old(x.cond)} -> "
                          + ", ".join(map(_v, x.values))))
    for y in right:
        out.append(Change("arm", f"{label}: {y.name}", "added", f"when {show.new(y.cond)} -> "
                          + ", ".join(map(_v, y.values))))
    return out


def _v(x: Any) -> str:
    return "true" if x is True else "false" if x is False else str(x)


# ---- records -------------------------------------------------------------------------------


def _key(f: dict, shared_rules: frozenset[str] | None = None) -> tuple:
    """What a record's finding says, for comparing versions. Arm names (`arm 3`) are
    positions and change when arms are reordered, so they are not part of it. Rules
    that exist in both versions are compared by name; a rule added, removed, renamed or
    split is compared within the group of such rules of its severity."""
    rule = f.get("rule")
    if (shared_rules is not None and f["kind"] == "violation" and f.get("label") is None
            and rule not in shared_rules):
        rule = "*"
    return (f["kind"], rule, f.get("label"), f.get("target"), f.get("severity"))


@dataclass
class RecordDiff:
    file: str
    line: int
    record: str
    before: list[dict]
    after: list[dict]
    judgment: str | None = None  # with `each`: the judgment whose findings differ

    def to_dict(self) -> dict[str, Any]:
        d = {"file": self.file, "line": self.line, "record": self.record, "before": self.before, "after": self.after}
        if self.judgment is not None:
            d["judgment"] = self.judgment
        return d


@dataclass
class DiffResult:
    old: dict[str, str]
    new: dict[str, str]
    changes: list[Change]
    semantic: list[Any] = field(default_factory=list)
    coverage: list[Any] = field(default_factory=list)  # gaps and overlaps opened or closed (`semantic.CoverageChange`)
    records: list[RecordDiff] = field(default_factory=list)
    records_read: int = 0
    data: bool = False

    def summary(self) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        for r in self.records:
            b = {(f["kind"], f.get("rule"), f.get("label"), f.get("target")) for f in r.before}
            a = {(f["kind"], f.get("rule"), f.get("label"), f.get("target")) for f in r.after}
            bk, ak = {k[0] for k in b}, {k[0] for k in a}
            if "violation" in ak and "violation" not in bk:
                counts["newly_violating"] += 1
            if "violation" in bk and "violation" not in ak:
                counts["no_longer_violating"] += 1
            if "uncovered" in ak and "uncovered" not in bk:
                counts["newly_uncovered"] += 1
            if "ambiguous" in ak and "ambiguous" not in bk:
                counts["newly_ambiguous"] += 1
            if {k for k in a if k[0] == "escalation"} - {k for k in b if k[0] == "escalation"}:
                counts["escalation_added"] += 1
            if {k for k in b if k[0] == "escalation"} - {k for k in a if k[0] == "escalation"}:
                counts["escalation_removed"] += 1
            if "invalid" in ak and "invalid" not in bk:
                counts["newly_invalid"] += 1
        s: dict[str, Any] = {"structural_changes": len(self.changes),
                             "semantic_changes": sum(1 for c in self.semantic if c.status != "equivalent")}
        for k in ("opens gap", "closes gap", "opens overlap", "closes overlap"):
            s[k.replace(" ", "_")] = sum(1 for c in self.coverage if c.change == k and c.witness is not None)
        if self.data:
            s.update({"records": self.records_read, "records_changed": len(self.records)})
            for k in ("newly_violating", "no_longer_violating", "newly_uncovered", "newly_ambiguous",
                      "escalation_added", "escalation_removed", "newly_invalid"):
                s[k] = counts.get(k, 0)
        return s

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new,
                "changes": [c.to_dict() for c in self.changes] + [c.to_dict() for c in self.semantic]
                + [c.to_dict() for c in self.coverage],
                "records": [r.to_dict() for r in self.records], "summary": self.summary()}


class Side:
    """One version of the rubric: its IR, and the checker generated from it when records
    are compared."""

    def __init__(self, rubric: ir.RubricIR, text: str | None = None) -> None:
        self.ir = rubric
        self.text = text  # the file's text as parsed (`normalize_text`), for showing conditions
        self._compiled: Compiled | None = None

    @property
    def compiled(self) -> Compiled:
        if self._compiled is None:
            self._compiled = compile_rubric(self.ir)
        return self._compiled


def compile_side(spec: str) -> Side:
    side = read_side(spec)
    return Side(compile_text(side.text, side.name, side.sha256, base=side.base, reader=side.files),
                normalize_text(side.text))


def diff(old_spec: str, new_spec: str, data: list[str] | None = None, timeout: float | None = None,
         input_format: str = "auto") -> DiffResult:
    """The diff of two versions; `timeout` is the time budget of the semantic comparison,
    in seconds (`budget.DEFAULT_SECONDS` when None); `input_format` says how the `data`
    files are read (`reading.INPUT_FORMATS`)."""
    from rubricdsl.analysis.budget import Budget  # noqa: PLC0415

    budget = Budget(timeout)
    old, new = compile_side(old_spec), compile_side(new_spec)
    res = DiffResult({"name": old.ir.name, "version": old.ir.version, "sha256": old.ir.sha256, "file": old_spec},
                     {"name": new.ir.name, "version": new.ir.version, "sha256": new.ir.sha256, "file": new_spec},
                     structural(old.ir, new.ir, (old.text, new.text)))
    from rubricdsl.analysis.semantic import compare_all  # noqa: PLC0415

    res.semantic, res.coverage = compare_all(old.ir, new.ir, budget)
    if data:
        res.data = True
        _records(old, new, data, res, input_format)
    return res


def _records(old: Side, new: Side, paths: list[str], res: DiffResult, input_format: str = "auto") -> None:
    """Run both rubrics over the same lines and keep the records whose findings differ."""
    from rubricdsl.engine.reading import TableReader, column_types, element_reader, open_data, read_batches  # noqa: PLC0415
    from rubricdsl.engine.runtime import RecordChecker  # noqa: PLC0415

    shared = frozenset(r.name for r in old.ir.rules) & frozenset(r.name for r in new.ir.rules)
    found_b: list[dict] = []
    found_a: list[dict] = []
    before_c = RecordChecker(old.compiled, found_b.append)
    after_c = RecordChecker(new.compiled, found_a.append)
    # a table's cells are converted by the types each version declares
    types_b, types_a = column_types(old.ir.fields), column_types(new.ir.fields)
    def compare(name: str) -> None:
        before, after = _by_judgment(found_b), _by_judgment(found_a)
        found_b.clear()
        found_a.clear()
        for ln, jud in sorted(before.keys() | after.keys(), key=_order):
            b, a = before.get((ln, jud), []), after.get((ln, jud), [])
            if {_key(f, shared) for f in b} != {_key(f, shared) for f in a}:
                rec = (a or b)[0]["record"]
                res.records.append(RecordDiff(name, ln, rec, b, a, jud))

    try:
        for path in paths:
            stream, name, _, _ = open_data(path)
            try:
                reader = element_reader(path, stream, name, input_format)
                if isinstance(reader, TableReader):
                    for line, cells, why in reader.rows():
                        for checker, types in ((before_c, types_b), (after_c, types_a)):
                            value = None if cells is None else reader.record(cells, types)
                            checker.elements(((line, value, why),), name, reader.what)
                        res.records_read += 1
                        compare(name)
                    continue
                if reader is not None:
                    # a JSON array: one element at a time, so that a large export stays a stream
                    what = getattr(reader, "what", None)
                    for element in reader:
                        before_c.elements((element,), name, what)
                        after_c.elements((element,), name, what)
                        res.records_read += 1
                        compare(name)
                    continue
                lineno = 0
                for batch in read_batches(stream, name, lambda: lineno):
                    before_c.lines(batch, name, lineno)
                    last, blank = after_c.lines(batch, name, lineno)
                    res.records_read += last - lineno - blank
                    compare(name)
                    lineno = last
            finally:
                if path != "-":
                    stream.close()
        _item_records(before_c, after_c, res)
    finally:
        before_c.close()  # the items' temporary files go on every way out
        after_c.close()


def _by_judgment(found: list[dict]) -> dict[tuple[int, str | None], list[dict]]:
    """Findings by (line, judgment): with `each`, each judgment of a record flips on its own."""
    out: dict[tuple[int, str | None], list[dict]] = {}
    for f in found:
        out.setdefault((f["line"], f.get("judgment")), []).append(f)
    return out


def _order(key: tuple[int, str | None]) -> tuple:
    """Lines in order; within a line, the record's own findings first, then its
    judgments (numbers by value, names as text)."""
    ln, jud = key
    if jud is None:
        return (ln, 0, 0, "")
    return (ln, 1, int(jud), "") if jud.isdigit() else (ln, 2, 0, jud)


def _item_records(before_c: Any, after_c: Any, res: DiffResult) -> None:
    # items: compared by item, reported at the item's first record
    if before_c.items is None and after_c.items is None:
        return
    found: dict[str, dict[str, list[dict]]] = {"b": {}, "a": {}}
    for side, checker in (("b", before_c), ("a", after_c)):
        checker.finish(lambda f, _d=found[side]: _d.setdefault(f["record"], []).append(f))
    for key in sorted(found["b"].keys() | found["a"].keys(),
                      key=lambda k: ((found["b"].get(k) or found["a"].get(k))[0]["file"],
                                     (found["b"].get(k) or found["a"].get(k))[0]["line"])):
        b, a = found["b"].get(key, []), found["a"].get(key, [])
        if {_key(f) for f in b} != {_key(f) for f in a}:
            first = (a or b)[0]
            res.records.append(RecordDiff(first["file"], first["line"], key, b, a))
