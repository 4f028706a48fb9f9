"""Resolution: the declarations of a rubric, checked and built into the IR.

`Checker` walks the top-level declarations (fields and their levels, lets, `required
when`, criteria, decisions, rules, escalations, consensus, the `record` block and
examples) in the order the language's scoping needs; every expression in them goes to
the expression checker (`typecheck.ExprChecker`) with the scope it stands in. Every
problem goes to the sink; the check keeps going so that one run reports all of a
file's errors. The IR is only used when the sink has no errors.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from typing import Any

from rubricdsl.core.diagnostics import Diagnostic, Sink
from rubricdsl.core.paths import judgment_of, put
from rubricdsl.core.severity import SEVERITIES
from rubricdsl.core.source import Span
from rubricdsl.core.values import value_text
from rubricdsl.language import ast
from rubricdsl.language import imports as imp
from rubricdsl.language import ir
from rubricdsl.language.limits import collector_paused, nesting_recursion
from rubricdsl.language.typecheck import ExprChecker, Names, Scope, suggest, values_list
from rubricdsl.language.walk import conditions, fields_read, names_read, walk

BUILTIN_TYPES = ("bool", "int", "number", "text", "enum", "set", "scale")
RECORD_KEYS = ("id", "item", "annotator", "each", "judgment", "show")
ROOT_KEYS = ("id", "item", "each")  # paths from the record's root: no `@`


@dataclasses.dataclass
class _Checks:
    """What the checks pass builds."""

    decides: list[ir.DecideIR] = dataclasses.field(default_factory=list)
    rules: list[ir.RuleIR] = dataclasses.field(default_factory=list)
    escalations: list[ir.EscalateIR] = dataclasses.field(default_factory=list)
    consensus: list[ir.ConsensusIR] = dataclasses.field(default_factory=list)
    item_rules: list[ir.RuleIR] = dataclasses.field(default_factory=list)
    item_escalations: list[ir.EscalateIR] = dataclasses.field(default_factory=list)
    examples: list[ast.Example] = dataclasses.field(default_factory=list)
    first_item_span: Span | None = None


class Checker:
    """The declarations pass: builds the IR of a parsed rubric, declaration by
    declaration, handing each expression to `exprs` (an `ExprChecker`) with its scope."""

    def __init__(self, rubric: ast.Rubric, sink: Sink, source_text: str, sha256: str | None = None,
                 library: imp.Library | None = None, imported: bool = False, base: str | None = None,
                 reader: imp.Files | imp.Reader | None = None) -> None:
        """`library`: what the file's imports bring in (read here when None: `base` is
        the directory imports are relative to, by default the directory of the sink's
        source name, and `reader` reads a file's bytes, `imports.Files`). `imported`: the file is an
        imported one, checked for its types and lets."""
        self.tree = rubric
        self.sink = sink
        self.source_text = source_text
        self.sha256 = sha256 or hashlib.sha256(source_text.encode("utf-8")).hexdigest()
        self.library = library
        self.imported = imported
        self.base = base
        self.reader = reader
        self.types: dict[str, imp.TypeDef] = {}  # the file's own `type` declarations, resolved
        self.field_types: dict[str, imp.TypeDef] = {}  # field -> the named type it is declared with
        self.field_nodes: dict[str, ast.Field] = {}
        # declared names, shared with the expression checker (the same dictionaries)
        self.scope_names = Names()
        self.fields = self.scope_names.fields
        self.lets = self.scope_names.lets
        self.let_nodes = self.scope_names.let_nodes
        self.all_lets = self.scope_names.all_lets
        self.names = self.scope_names.declared  # the shared namespace
        self.exprs = ExprChecker(self.scope_names, sink, source_text)
        self.escalation_targets: dict[str, str] = {}  # escalation name -> its target
        # what error recovery needs (`usable`): fields whose declaration has an error,
        # criteria whose `applies when` has one, and the names read by constructs that
        # were dropped for an error (so that `rubric lint` does not call them unused)
        self.bad_fields: set[str] = set()
        self.bad_criteria: set[str] = set()
        self.dropped_reads: set[str] = set()
        # declarations the parser skipped after a syntax error: their names are known
        # (a reference to one is no new error) and every word in them may be a read
        self.skipped_names, self.skipped_record = _skipped_declarations(source_text, rubric.skipped)
        self.skipped_types = {m.group(1) for start, end in rubric.skipped
                              for m in _SKIPPED_TYPE.finditer(source_text, start, end)}
        self.scope_names.skipped.update(self.skipped_names)
        self._syntax_errors = [d.span for d in sink.items if d.severity == "error"]
        for start, end in rubric.skipped:
            self.dropped_reads.update(_WORD.findall(source_text, start, end))

    # ---- entry ---------------------------------------------------------------

    def run(self) -> ir.RubricIR:
        """The IR of the whole rubric; its problems go to the sink."""
        # the expression checker recurses along nesting (at most MAX_NESTING levels)
        with nesting_recursion(), collector_paused():
            return self._run()

    def _run(self) -> ir.RubricIR:
        self._imports()
        self._types()
        items, criteria, records = self._collect()
        self._declare_all(items)  # fields (visible everywhere) and the shared namespace
        self._levels()
        self._lets(items)
        self._required_when()
        crit_ir, applies = self._criteria(criteria)
        checks = self._checks(items, applies)
        rec = self._record(records)
        rid, item, ann = rec.get("id"), rec.get("item"), rec.get("annotator")
        if checks.first_item_span is not None and item is None and "each" not in rec and not self.skipped_record:
            self.sink.error("RB111", "item checks need to know which records belong to one item",
                            checks.first_item_span,
                            help="name the item in the `record` block: `record { item = PATH  annotator = PATH }`")
        header = self.tree.header
        assert self.library is not None
        files = tuple((path, sha) for path, sha in self.library.files)
        rubric = ir.RubricIR(
            name=header.name if header else "", version=header.version if header else "",
            sha256=imp.combined_sha256(self.sha256, [sha for _, sha in files]), source_name=self.sink.source.name,
            doc=self.tree.doc,
            fields=sorted(self.fields.values(), key=lambda f: f.index), lets=list(self.lets.values()),
            criteria=crit_ir, decides=checks.decides, rules=checks.rules, escalations=checks.escalations,
            examples=[], record_id=rid, record_item=item, record_annotator=ann, consensus=checks.consensus,
            record_each=rec.get("each"), record_judgment=rec.get("judgment"), record_skip=rec.get("skip"),
            record_show=rec.get("show", ()),
            item_rules=checks.item_rules, item_escalations=checks.item_escalations, imports=files,
        )
        rubric.lets = self._used_lets(rubric)
        rubric.examples = [ex for ex in (self._example(n, rubric) for n in checks.examples) if ex is not None]
        return rubric

    # ---- the passes, in order ------------------------------------------------------------

    def _imports(self) -> None:
        """Read the imports (unless given) and make their lets visible everywhere."""
        if self.library is None:
            if any(isinstance(n, ast.Import) for n in self.tree.items):
                name = self.sink.source.name
                is_file = not name.startswith("<")
                base = self.base if self.base is not None else (os.path.dirname(name) if is_file else "")
                base = base or "."
                loader = imp.Loader(self.sink, base, os.path.realpath(name) if is_file else None, _check_imported,
                                    self.reader)
                self.library = loader.library(self.tree, self.sink, base)
            else:
                self.library = imp.Library()
        if self.library.broken:
            self.scope_names.open = True  # a name may come from what could not be read: not reported unknown
        self.scope_names.skipped |= self.library.unresolved
        for name, il in self.library.lets.items():
            self.lets[name] = il.let
            self.let_nodes[name] = il.node
            self.scope_names.imported.add(name)

    def _used_lets(self, rubric: ir.RubricIR) -> list[ir.LetIR]:
        """The rubric's own lets, and the imported ones it reads (directly or through other
        lets), these first: an imported `let` nothing reads is no part of the rubric."""
        imported = self.scope_names.imported
        own = [x for x in rubric.lets if x.name not in imported]
        if not imported:
            return own
        read = {id(e.let) for e in walk(*conditions(rubric), *(x.expr for x in own), lets=True)
                if type(e) is ir.LetRef}
        return [x for x in rubric.lets if x.name in imported and id(x) in read] + own

    def _types(self) -> None:
        """The file's `type` declarations, resolved to their structure, with their levels."""
        assert self.library is not None
        decls: dict[str, ast.TypeDecl] = {}
        for node in self.tree.items:
            if not isinstance(node, ast.TypeDecl):
                continue
            if node.name in BUILTIN_TYPES:
                other_name = node.name + ("_kind" if node.name in ("enum", "set") else "_value")
                self.sink.error("RB115", f"`{node.name}` is a type of the language and cannot name a `type`",
                                node.name_span, help=f"choose another name, e.g. `{other_name}`")
                continue
            if node.name in decls:
                self.sink.error("RB104", f"type `{node.name}` is declared twice", node.name_span,
                                help=f"the first declaration is at line {decls[node.name].name_span.line}")
                continue
            other = self.library.types.get(node.name)
            if other is not None:
                self.sink.add(Diagnostic("RB104", f"type `{node.name}` is declared here and imported", node.name_span,
                                         self.sink.source.name,
                                         help="rename one of them, or remove this one and use the imported type",
                                         notes=[f"the imported type is declared at {other.where()}"]))
                continue
            decls[node.name] = node
        # structural types first, then names of other types (followed to a structure)
        for name, node in decls.items():
            if node.type.kind != "named":
                had = name in self.bad_fields
                n_errors = len(self.sink.items)
                ftype = self._field_type(node.type, name)
                if not had:
                    self.bad_fields.discard(name)
                self.types[name] = imp.TypeDef(name, ftype, [], node.name_span, self.sink.source.name,
                                               ok=len(self.sink.items) == n_errors)
        for name, node in decls.items():
            if node.type.kind == "named":
                self._alias(name, decls)
        # own levels, in the order of the chains: a type's are known before a type naming it inherits them
        done: set[str] = set()

        def levels(name: str) -> None:
            chain = []
            while name in decls and name not in done:
                done.add(name)
                chain.append(name)
                name = decls[name].type.name or "" if decls[name].type.kind == "named" else ""
            for member in reversed(chain):
                td = self.types[member]
                ref = decls[member].type.name if decls[member].type.kind == "named" else None
                inherited = (self.types.get(ref) if ref in decls else self.library.types.get(ref)) if ref else None
                own: list[tuple[Any, str]] = []
                for lv in decls[member].levels:
                    val = self._value_for(td.type, lv.value, f"type `{member}`") if td.ok else _BAD
                    if val is not _BAD:
                        own.append((val, lv.text))
                td.levels = _with_levels(inherited.levels if inherited is not None and td.ok else [], own, td.type)

        for name in decls:
            levels(name)

    def _alias(self, name: str, decls: dict[str, ast.TypeDecl]) -> None:
        """The type `name` names through other names: followed along the chain. Each type
        of a chain that leads back to itself is RB116; an unknown name is RB101."""
        assert self.library is not None
        if name in self.types:
            return
        chain = [name]
        t = decls[name].type
        target: imp.TypeDef | None = None
        while t.kind == "named":
            ref = t.name or ""
            if ref in self.types:
                target = self.types[ref]
                break
            if ref in chain:
                loop = chain[chain.index(ref):]
                for i, member in enumerate(loop):
                    turn = loop[i:] + loop[:i] + [member]
                    via = "" if len(loop) == 1 else ": " + " -> ".join(turn)
                    self.sink.error("RB116", f"type `{member}` refers to itself{via}", decls[member].name_span,
                                    help="give the type its structure, e.g. `scale 1..5` or `enum {a, b}`")
                    self.types[member] = imp.TypeDef(member, ir.FieldType("text"), [], decls[member].name_span,
                                                     self.sink.source.name, ok=False)
                break
            if ref in decls:
                chain.append(ref)
                t = decls[ref].type
                continue
            target = self._named(t)
            break
        for member in chain:
            if member in self.types:
                continue
            span = decls[member].name_span
            self.types[member] = (imp.TypeDef(member, ir.FieldType("text"), [], span, self.sink.source.name, ok=False)
                                  if target is None else
                                  imp.TypeDef(member, target.type, [], span, self.sink.source.name, ok=target.ok))

    def _named(self, t: ast.TypeNode) -> imp.TypeDef | None:
        """The type a name written where a type stands refers to, or None after reporting
        why not (an unknown name, unless a part that could not be read may declare it)."""
        assert self.library is not None
        name = t.name or ""
        td = self.types.get(name) or self.library.types.get(name)
        if td is not None:
            return td
        if name in self.skipped_types or self.scope_names.open:
            return None
        known = list(self.types) + list(self.library.types) + list(BUILTIN_TYPES)
        s = suggest(name, known)
        self.sink.error("RB101", f"unknown type `{name}`" + (f"; did you mean `{s}`?" if s else ""), t.span,
                        help="declare it with `type NAME = TYPE`, or import the file that declares it")
        return None

    def _type_of(self, node: ast.Field) -> ir.FieldType:
        """A field's type: written out, or named (then resolved to its structure)."""
        if node.type.kind != "named":
            return self._field_type(node.type, node.name)
        td = self._named(node.type)
        if td is None or not td.ok:
            self.bad_fields.add(node.name)
        if td is None:
            self.scope_names.untyped.add(node.name)
            return ir.FieldType("text")
        self.field_types[node.name] = td
        return td.type

    def _collect(self) -> tuple[list[tuple[Any, str | None]], list[ast.Criterion], list[ast.RecordBlock]]:
        """The declarations with the criterion each stands in, the criteria, the `record`
        blocks."""
        items: list[tuple[Any, str | None]] = []
        criteria: list[ast.Criterion] = []
        crit_names: dict[str, Span] = {}
        records: list[ast.RecordBlock] = []
        for it in self.tree.items:
            if isinstance(it, ast.Criterion):
                if it.name in crit_names:
                    self.sink.error("RB104", f"criterion `{it.name}` is declared twice", it.name_span,
                                    help=f"the first declaration is at line {crit_names[it.name].line}")
                else:
                    crit_names[it.name] = it.name_span
                criteria.append(it)
                for sub in it.items:
                    items.append((sub, it.name))
            elif isinstance(it, ast.RecordBlock):
                records.append(it)
            else:
                items.append((it, None))
        return items, criteria, records

    def _declare_all(self, items: list[tuple[Any, str | None]]) -> None:
        """Fields first (visible everywhere), then every other name of the one namespace."""
        index = 0
        for node, crit in items:
            if isinstance(node, ast.Field):
                if not self._declare(node.name, node.name_span, "field"):
                    continue
                ftype = self._type_of(node)
                self.fields[node.name] = ir.FieldIR(
                    index=index, name=node.name, kind=node.kind, type=ftype,
                    path=self._path(node.path) if node.path else (node.name,),
                    optional=node.optional, required_when=None, criterion=crit, span=node.span,
                    doc=node.doc, path_text=node.path.dotted() if node.path else node.name,
                    type_name=node.type.name if node.type.kind == "named" else None,
                )
                self.field_nodes[node.name] = node
                index += 1
                if self._broken(node.span):
                    self.bad_fields.add(node.name)
        for node, crit in items:
            if isinstance(node, ast.Let):
                self._declare(node.name, node.name_span, "let")
            elif isinstance(node, ast.Rule):
                self._declare(node.name, node.name_span, "rule")
            elif isinstance(node, ast.Escalate):
                self._declare(node.name, node.name_span, "escalation")
            elif isinstance(node, ast.Decide):
                for arm in node.arms:
                    if arm.kind == "edge" and arm.name:
                        self._declare(arm.name, arm.span, "edge case")
        self.escalation_targets = {n.name: n.target for n, _ in items if isinstance(n, ast.Escalate)}
        self.all_lets.update((n.name, n) for n, _ in items if isinstance(n, ast.Let))

    def _levels(self) -> None:
        """A label's levels: its named type's, then its own (a level of its own for a value
        replaces the type's level for that value)."""
        for name, node in self.field_nodes.items():
            f = self.fields[name]
            td = self.field_types.get(name)
            if node.type.kind == "named" and (td is None or not td.ok):
                continue  # its type has an error: the levels cannot be checked
            own = []
            for lv in node.levels:
                val = self._value_for(f.type, lv.value, f"a level of `{name}`")
                if val is not _BAD:
                    own.append((val, lv.text))
            inherited = td.levels if td is not None and f.kind == "label" else []
            f.levels.extend(_with_levels(inherited, own, f.type))

    def _lets(self, items: list[tuple[Any, str | None]]) -> None:
        """The lets, in source order (a let is visible only after its declaration)."""
        for node, crit in sorted(((n, c) for n, c in items if isinstance(n, ast.Let)), key=lambda p: p[0].span.start):
            expr = self.exprs.expr(node.expr, Scope(node.span.start))
            if expr is None or self._broken(node.span):
                self._dropped(node.span)
                continue
            if node.name not in self.lets and node.name in self.names:
                self.lets[node.name] = ir.LetIR(node.name, expr, crit, node.span, node.doc)
                self.let_nodes[node.name] = node

    def _required_when(self) -> None:
        for name, node in self.field_nodes.items():
            if node.required_when is not None:
                cond = self.exprs.cond(node.required_when, Scope(node.span.end))
                self.fields[name].required_when = cond
                if cond is None:
                    self.bad_fields.add(name)  # when it is required is unknown
                    self._dropped(node.required_when.span)

    def _criteria(self, criteria: list[ast.Criterion]) -> tuple[list[ir.CriterionIR], dict[str, ir.Expr | None]]:
        """The criteria, and each one's `applies when`."""
        crit_ir: list[ir.CriterionIR] = []
        applies: dict[str, ir.Expr | None] = {}
        for c in criteria:
            a = self.exprs.cond(c.applies, Scope(c.span.start)) if c.applies is not None else None
            applies[c.name] = a
            if (c.applies is not None and a is None) or self._broken(c.span, [x.span for x in c.items]):
                self.bad_criteria.add(c.name)
                self._dropped(c.span)  # its checks go with it
            crit_ir.append(ir.CriterionIR(c.name, c.title or c.name, a, c.span, c.doc))
        return crit_ir, applies

    def _checks(self, items: list[tuple[Any, str | None]], applies: dict[str, ir.Expr | None]) -> "_Checks":
        """Decisions, rules, escalations (per record and per item), consensus blocks, and
        the examples to build once the rest is known."""
        out = _Checks()
        decided: dict[str, Span] = {}
        consensus_of: dict[str, Span] = {}

        def scope(crit: str | None) -> frozenset[str]:
            a = applies.get(crit) if crit else None
            return a.mentions if a is not None else frozenset()

        for node, crit in items:
            if isinstance(node, ast.Decide):
                d = self._kept(self._decide(node, crit, len(out.decides), decided), node)
                if d is not None:
                    d.mentions = d.mentions | scope(crit)
                    out.decides.append(d)
            elif isinstance(node, (ast.Rule, ast.Escalate)) and node.per_item:
                if crit is not None:
                    what = "rule" if isinstance(node, ast.Rule) else "escalation"
                    self.sink.error("RB006", f"a `per item` {what} stands at the top level, not inside a criterion",
                                    node.name_span, help=f"move `{node.name}` out of criterion `{crit}`: an item's "
                                    "judgments may fall on different sides of a criterion's `applies when`")
                    continue
                if isinstance(node, ast.Rule):
                    r = self._kept(self._rule(node, None, len(out.item_rules), reads="item"), node)
                    if r is not None:
                        r.per_item = True
                        out.item_rules.append(r)
                else:
                    e = self._kept(self._escalate(node, None, len(out.item_escalations), reads="item"), node)
                    if e is not None:
                        e.per_item = True
                        out.item_escalations.append(e)
                out.first_item_span = out.first_item_span or node.name_span
            elif isinstance(node, ast.Rule):
                r = self._kept(self._rule(node, crit, len(out.rules)), node)
                if r is not None:
                    r.mentions = r.mentions | scope(crit)
                    out.rules.append(r)
            elif isinstance(node, ast.Escalate):
                e = self._kept(self._escalate(node, crit, len(out.escalations)), node)
                if e is not None:
                    e.mentions = e.mentions | scope(crit)
                    out.escalations.append(e)
            elif isinstance(node, ast.Consensus):
                c = self._consensus(node, len(out.consensus), consensus_of)
                if c is not None:
                    out.consensus.append(c)
                out.first_item_span = out.first_item_span or node.label_span
            elif isinstance(node, ast.Example):
                out.examples.append(node)
        return out

    def _record(self, records: list[ast.RecordBlock]) -> dict[str, Any]:
        """The paths of the record's id, item, annotator, each and judgment, and the `skip
        when` condition (absent where not given). `@` paths need `each`; `id`, `item` and
        `each` are paths from the root."""
        out: dict[str, Any] = {}
        if len(records) > 1:
            self.sink.error("RB104", "a rubric has at most one `record` block", records[1].span,
                            help='merge the entries into the first `record` block')
        if not records:
            self._judgment_paths(None)
            return out
        seen: set[str] = set()
        entries = records[0].entries
        each = next((e for e in entries if isinstance(e, ast.RecordEntry) and e.key == "each"), None)
        for e in entries:
            if isinstance(e, ast.RecordWhen):
                if e.key != "skip":
                    s = suggest(e.key, ("skip",))
                    self.sink.error("RB101", f"unknown `record` entry `{e.key} when`", e.key_span,
                                    help=(f"did you mean `{s} when`? " if s else "")
                                    + "the one condition a `record` block takes is `skip when CONDITION`")
                    continue
                if "skip" in seen:
                    self.sink.error("RB104", "`skip when` is given twice in the `record` block", e.span,
                                    help="join the conditions with `or`")
                    continue
                seen.add("skip")
                if each is None:
                    self.sink.error("RB112", "`skip when` leaves judgments out, but the `record` block has no `each`",
                                    e.span, help="name the list of judgments: `each = PATH`, or remove `skip when`")
                cond = self.exprs.cond(e.expr, Scope(e.span.start))
                if cond is None:
                    self._dropped(e.span)
                elif not fields_read(cond):
                    self.sink.error("RB113", "`skip when` reads no field, so it leaves out every judgment or none",
                                    e.span, help="write a condition over the judgment's fields, e.g. "
                                                 "`skip when cancelled` with `input cancelled: bool from @was_cancelled optional`")
                else:
                    out["skip"] = cond
                continue
            if e.key not in RECORD_KEYS:
                s = suggest(e.key, RECORD_KEYS)
                self.sink.error("RB101", f"unknown `record` entry `{e.key}`", e.span,
                                help=(f"did you mean `{s}`? " if s else "")
                                + "a `record` block names `id`, `item`, `annotator`, `each`, `judgment` and `show`")
                continue
            if e.key in seen:
                self.sink.error("RB104", f"`{e.key}` is given twice in the `record` block", e.span,
                        help="list every path on one `show` line: `show = a, b`" if e.key == "show"
                        else "keep one line per entry")
            seen.add(e.key)
            if e.key == "show":
                if "show" not in out:  # the first `show` line (a second one is reported above)
                    out["show"] = self._show(e, each)
                continue
            if e.more:
                self.sink.error("RB007", f"`{e.key}` takes one path, not {len(e.paths)}", e.more[0].span,
                                help="only `show` lists several paths; keep one path here")
                continue
            if e.path.at and e.key in ROOT_KEYS:
                self.sink.error("RB112", f"`{e.key}` is a path from the record's root: it cannot start with `@`",
                                e.path.span, help=f"`@` starts at one judgment, but `{e.key}` "
                                + {"id": "names the whole record", "item": "is shared by the record's judgments",
                                   "each": "names the list of judgments itself"}[e.key] + ": remove the `@`")
                continue
            if e.path.at and each is None:
                self.sink.error("RB112", f"`{e.key}` reads `{e.path.dotted()}`, a path from the judgment, but the "
                                "`record` block has no `each`", e.path.span,
                                help="name the list of judgments (`each = PATH`), or remove the `@`")
                continue
            if e.key == "judgment" and each is None:
                self.sink.error("RB112", "`judgment` names a judgment, but the `record` block has no `each`",
                                e.span, help="name the list of judgments: `each = PATH`, or remove `judgment`")
                continue
            out[e.key] = self._path(e.path)
        self._judgment_paths(each)
        return out

    def _show(self, e: ast.RecordEntry, each: Any) -> tuple[tuple[str, tuple[Any, ...]], ...]:
        """The paths of the `show` line, each with its text as written: a path from the
        judgment (`@`) needs `each`; a path listed twice is RB114."""
        out: list[tuple[str, tuple[Any, ...]]] = []
        seen: dict[tuple[Any, ...], str] = {}
        for p in e.paths:
            text = p.dotted()
            if p.at and each is None:
                self.sink.error("RB112", f"`show` reads `{text}`, a path from the judgment, but the `record` block "
                                "has no `each`", p.span,
                                help="name the list of judgments (`each = PATH`), or remove the `@`")
                continue
            path = self._path(p)
            if path in seen:
                same = "" if seen[path] == text else f" (as `{seen[path]}`)"
                self.sink.error("RB114", f"`show` lists `{text}` twice{same}", p.span,
                                help="each path is shown once: remove this one")
                continue
            seen[path] = text
            out.append((text, path))
        return tuple(out)

    def _judgment_paths(self, each: Any) -> None:
        """Report every `@` path of a field in a rubric without `each`."""
        if each is not None:
            return
        for node in self.field_nodes.values():
            if node.path is not None and node.path.at:
                self.sink.error("RB112", f"`{node.name}` reads `{node.path.dotted()}`, a path from the judgment, "
                                "but the `record` block has no `each`", node.path.span,
                                help="`@` starts at one judgment of a list: name that list in the `record` block "
                                     "(`record { each = PATH }`), or remove the `@`")

    # ---- error recovery -------------------------------------------------------------

    def _kept(self, x: Any, node: Any) -> Any:
        """A construct built from `node`, unless it did not resolve or the parser reported
        an error inside it: then None, and its words count as reads."""
        if x is not None and self._broken(node.span):
            x = None
        if x is None:
            self._dropped(node.span)
        return x

    def _broken(self, span: Span, inner: list[Span] | None = None) -> bool:
        """Whether the parser reported an error inside `span` (outside the `inner` spans):
        a construct the builder kept despite an error (a clause repeated or missing, a bad
        escape...) is dropped like one that did not resolve."""
        for e in self._syntax_errors:
            if span.start <= e.start < max(span.end, span.start + 1) and not any(
                    i.start <= e.start < i.end for i in inner or ()):
                return True
        return False

    def _dropped(self, span: Span) -> None:
        """Remember the words of a construct dropped for an error: any of them may be a
        read (the builder may have kept only one of two clauses, so its text is the
        whole truth)."""
        self.dropped_reads.update(_WORD.findall(self.source_text, span.start, span.end))

    def usable(self, rubric: ir.RubricIR) -> ir.RubricIR:
        """The part of `rubric` that stands on no error, for `rubric lint` to analyse when
        the file has errors: without the fields whose declaration has an error, and
        without every `let`, decision, rule and escalation that reads one (directly or
        through a `let` or its criterion's `applies when`) or stands in a criterion whose
        `applies when` has an error. Constructs that had an error themselves are already
        absent (their resolution gave nothing). Examples are left out: they test the
        whole rubric. What is dropped counts as read (`dropped_reads`). What is kept is
        numbered anew (the IR given is used up), so the result also compiles."""
        bad = set(self.bad_fields)
        while True:  # a field required when a bad field holds is bad too
            more = {f.name for f in rubric.fields if f.name not in bad and f.required_when is not None
                    and fields_read(f.required_when) & bad}
            if not more:
                break
            bad |= more
        crit_bad = set(self.bad_criteria) | {c.name for c in rubric.criteria
                                             if c.applies is not None and fields_read(c.applies) & bad}

        def keep(obj, *exprs) -> bool:
            if getattr(obj, "criterion", None) in crit_bad or any(e is not None and fields_read(e) & bad for e in exprs):
                self.dropped_reads |= names_read(*exprs)
                return False
            return True

        decides = [d for d in rubric.decides
                   if d.label.name not in bad and keep(d, *(a.cond for a in d.arms))]
        rules = [r for r in rubric.rules if keep(r, r.when, r.require)]
        escalations = [e for e in rubric.escalations if keep(e, e.when)]
        item_rules = [r for r in rubric.item_rules if keep(r, r.when, r.require)]
        item_escalations = [e for e in rubric.item_escalations if keep(e, e.when)]
        lets = [x for x in rubric.lets if keep(x, x.expr)]
        fields = []
        for f in rubric.fields:
            if f.name in bad:
                self.dropped_reads |= names_read(f.required_when)
            else:
                fields.append(f)
        consensus = [c for c in rubric.consensus if c.label.name not in bad]
        for kept in (fields, decides, rules, escalations, item_rules, item_escalations, consensus):
            for i, x in enumerate(kept):
                x.index = i
        return dataclasses.replace(
            rubric, fields=fields, lets=lets,
            criteria=[c for c in rubric.criteria if c.name not in crit_bad], decides=decides, rules=rules,
            escalations=escalations, examples=[], item_rules=item_rules, item_escalations=item_escalations,
            consensus=consensus)

    # ---- declarations ---------------------------------------------------------------

    def _declare(self, name: str, span: Span, what: str) -> bool:
        imported = self.library.lets.get(name) if self.library is not None else None
        if imported is not None:
            self.sink.add(Diagnostic("RB104", f"`{name}` is declared here and imported", span, self.sink.source.name,
                                     help="rename one of them: a `let` an import brings in shares the namespace of "
                                          "fields, lets, rules, escalations and edge cases",
                                     notes=[f"the imported `let {name}` is declared at {imported.where()}"]))
            return False
        if name in self.names:
            first = self.names[name]
            self.sink.error("RB104", f"`{name}` is declared twice", span,
                            help=f"the first declaration is at line {first.line}; fields, lets, rules, "
                                 "escalations and edge cases share one namespace")
            return False
        self.names[name] = span
        return True

    def _path(self, path: ast.Path) -> tuple[Any, ...]:
        """A path as the IR holds it: keys, indexes, selectors, led by `ir.AT` for `@`."""
        out: list[Any] = [ir.AT] if path.at else []
        for seg in path.segments:
            out.append(seg.key)
            out.extend(seg.indexes)
            if seg.selector is not None:
                out.append(ir.Select(seg.selector.key, seg.selector.value, seg.key))
        return tuple(out)

    def _field_type(self, t: ast.TypeNode, name: str) -> ir.FieldType:
        if t.kind in ("enum", "set"):
            vals: list[str] = []
            seen: set[str] = set()
            for v in t.values:
                sv = str(v.value)
                if sv in seen:
                    self.sink.error("RB104", f"enum value `{sv}` is listed twice", v.span,
                            help='remove the repeated value')
                    continue
                vals.append(sv)
                seen.add(sv)
            if not vals:
                self.bad_fields.add(name)
                self.sink.error("RB103", f"`{name}` has an empty {t.kind}", t.span, help="list at least one value")
            return ir.FieldType(t.kind, enum=ir.EnumType(tuple(vals), t.ordered))
        if t.kind in ("int", "scale"):
            lo, hi = t.lo, t.hi
            for b in (lo, hi):
                if b is not None and not (isinstance(b, int) or float(b).is_integer()):
                    self.bad_fields.add(name)
                    self.sink.error("RB103", f"the bounds of an {t.kind} range are integers", t.span,
                            help='write whole numbers, e.g. `1..5`, or use `number` for decimals')
            lo = int(lo) if lo is not None else None
            hi = int(hi) if hi is not None else None
            if lo is not None and hi is not None and lo > hi:
                self.bad_fields.add(name)
                self.sink.error("RB106", f"range {lo}..{hi} is empty", t.span, help=f"write {hi}..{lo}")
            return ir.FieldType(t.kind, lo, hi)
        if t.kind == "number":
            if t.lo is not None and t.hi is not None and t.lo > t.hi:
                self.bad_fields.add(name)
                self.sink.error("RB106", f"range {value_text(t.lo)}..{value_text(t.hi)} is empty", t.span,
                            help='write the low bound first')
            return ir.FieldType("number", t.lo, t.hi)
        return ir.FieldType(t.kind)

    def _value_for(self, ft: ir.FieldType, v: ast.Value, what: str) -> Any:
        """A written value (arm value, level, given) as a value of a field type."""
        k = ft.kind
        if k in ("enum", "set"):
            assert ft.enum is not None
            if v.kind in ("name", "string") and self.exprs.is_member(str(v.value), ft.enum):
                return str(v.value)
            if v.kind in ("name", "string"):
                s = suggest(str(v.value), ft.enum.values)
                self.sink.error("RB102", f"unknown value '{v.value}' for {what.replace('`', chr(39))}"
                                + (f"; did you mean '{s}'?" if s else ""),
                                v.span, help="the values are: " + values_list(ft.enum.values))
            else:
                self.sink.error("RB103", f"{what} takes enum values, not `{value_text(v.value)}`", v.span,
                                help="the values are: " + values_list(ft.enum.values)
                                + "; quote a value that looks like a number or keyword")
            return _BAD
        if k == "bool":
            if v.kind == "bool":
                return v.value
            self.sink.error("RB103", f"{what} is a bool: use `true` or `false`", v.span,
                            help='write `true` or `false`')
            return _BAD
        if k in ("int", "scale"):
            if v.kind == "number" and float(v.value).is_integer():  # type: ignore[arg-type]
                iv = int(v.value)  # type: ignore[arg-type]
                if (ft.lo is not None and iv < ft.lo) or (ft.hi is not None and iv > ft.hi):
                    self.sink.error("RB103", f"{iv} is outside {what}'s range {ft.lo}..{ft.hi}", v.span,
                            help='use a value inside the declared range')
                    return _BAD
                return iv
            self.sink.error("RB103", f"{what} takes integers, not `{value_text(v.value)}`", v.span,
                            help='write a whole number such as `3`')
            return _BAD
        if k == "number":
            if v.kind == "number":
                return v.value
            self.sink.error("RB103", f"{what} takes numbers, not `{value_text(v.value)}`", v.span,
                            help='write a number such as `0.5`')
            return _BAD
        if k == "text":
            if v.kind == "string":
                return v.value
            self.sink.error("RB103", f"{what} is text: write a quoted string", v.span,
                            help='write the text in double quotes: `"..."`')
            return _BAD
        return _BAD

    def _label(self, name: str, span: Span, why: str, help_: str) -> ir.FieldIR | None:
        """The label a `decide` or `consensus` names, or None after reporting why not."""
        f = self.fields.get(name)
        if f is None and name in self.skipped_names:
            return None  # declared in a part of the file that did not parse
        if f is None and name in self.all_lets:
            block = "decide" if "decided" in why else "consensus"
            self.sink.error("RB103", f"`{name}` is a `let`, not a label: a `{block}` needs a label", span,
                            help=f"a `let` is computed, not given by annotators; name the label here"
                                 + (f", and use `{name}` in the arms' conditions (`when {name} -> VALUE`)"
                                    if block == "decide" else ""))
        elif f is None:
            s = suggest(name, [n for n, x in self.fields.items() if x.kind == "label"])
            self.sink.error("RB101", f"unknown label `{name}`", span,
                            help=f"did you mean `{s}`?" if s else "declare it with `label NAME: TYPE`")
        elif f.kind != "label":
            self.sink.error("RB103", f"`{name}` is an input: {why}", span, help=help_)
            return None
        return f

    def _decide(self, node: ast.Decide, crit: str | None, index: int, decided: dict[str, Span]) -> ir.DecideIR | None:
        f = self._label(node.label, node.label_span, "only labels are decided",
                        "inputs are what the annotator saw; declare it as a `label` to decide it")
        ok = f is not None
        if f is None:
            pass
        elif not f.type.single_valued:
            self.sink.error("RB107", f"`{node.label}` is a {f.type.kind} label and cannot be decided", node.label_span,
                            help="only single-valued labels (bool, int, scale, enum, enum ordered) can be decided")
            ok = False
        elif node.label in decided:
            self.sink.error("RB104", f"label `{node.label}` has a second `decide`", node.label_span,
                            help=f"the first is at line {decided[node.label].line}; merge their arms")
            ok = False
        else:
            decided[node.label] = node.label_span
        arms: list[ir.ArmIR] = []
        mentions: set[str] = {node.label}
        n_otherwise = 0
        for i, arm in enumerate(node.arms, start=1):
            cond = None
            if arm.cond is not None:
                cond = self.exprs.cond(arm.cond, Scope(arm.span.start))
                if cond is None:
                    ok = False
                else:
                    mentions |= cond.mentions
            if arm.kind == "otherwise":
                n_otherwise += 1
                if n_otherwise > 1:
                    self.sink.error("RB007", "a `decide` has at most one `otherwise`", arm.span,
                            help='keep one `otherwise` arm, written last')
            values: list[Any] = []
            if f is not None and f.type.single_valued:
                for v in arm.values:
                    val = self._value_for(f.type, v, f"`{f.name}`")
                    if val is _BAD:
                        ok = False
                    elif val not in values:
                        values.append(val)
            name = arm.name if arm.kind == "edge" and arm.name else f"arm {i}"
            arms.append(ir.ArmIR(i, arm.kind, name, arm.title, cond, tuple(values), arm.span, arm.doc))
        if not ok or f is None:
            return None
        return ir.DecideIR(index, f, node.first, arms, crit, node.span, frozenset(mentions), node.doc)

    def _rule(self, node: ast.Rule, crit: str | None, index: int, reads: str = "record") -> ir.RuleIR | None:
        sev = node.severity or "error"
        if sev not in SEVERITIES:
            s = suggest(sev, SEVERITIES)
            self.sink.error("RB102", f"unknown severity `{sev}`" + (f"; did you mean `{s}`?" if s else ""),
                            node.severity_span, help="severities: error, warning, info")
            sev = "error"
        scope = Scope(node.span.start, reads)
        when = self.exprs.cond(node.when, scope) if node.when is not None else None
        req = self.exprs.cond(node.require, scope) if node.require is not None else None
        if (node.when is not None and when is None) or req is None:
            return None
        mentions = req.mentions | (when.mentions if when is not None else frozenset())
        return ir.RuleIR(index, node.name, node.message, sev, when, req, crit, node.span, mentions, node.doc)

    def _escalate(self, node: ast.Escalate, crit: str | None, index: int,
                  reads: str = "record") -> ir.EscalateIR | None:
        if node.when is None:
            return None
        when = self.exprs.cond(node.when, Scope(node.span.start, reads))
        if when is None:
            return None
        return ir.EscalateIR(index, node.target, node.name, node.reason, when, crit, node.span, when.mentions, node.doc)

    def _consensus(self, node: ast.Consensus, index: int, seen: dict[str, Span]) -> ir.ConsensusIR | None:
        f = self._label(node.label, node.label_span, "annotators agree on labels",
                        "inputs are what the annotators saw; `consensus` names a `label`")
        ok = f is not None
        if f is None:
            pass
        elif node.label in seen:
            self.sink.error("RB104", f"label `{node.label}` has a second `consensus`", node.label_span,
                            help=f"the first is at line {seen[node.label].line}; merge their thresholds")
            ok = False
        else:
            seen[node.label] = node.label_span
        n = node.min_annotators
        if n is not None and (not float(n).is_integer() or n < 1):
            self.sink.error("RB103", f"`min annotators` is a whole number of at least 1, not {value_text(n)}",
                            node.annotators_span, help="write e.g. `min annotators 3`")
            ok = False
        x = node.min_agreement
        if x is not None and not 0 <= x <= 1:
            self.sink.error("RB103", f"`min agreement` is a share between 0 and 1, not {value_text(x)}",
                            node.agreement_span, help="write e.g. `min agreement 0.67` (two thirds agree)")
            ok = False
        if not ok or f is None:
            return None
        return ir.ConsensusIR(index, f, int(n) if n is not None else None, float(x) if x is not None else None,
                              node.span, node.doc)

    def _example(self, node: ast.Example, rubric: ir.RubricIR) -> ir.ExampleIR | None:
        ok = True
        record: dict[str, Any] = {}
        given: dict[str, Any] = {}
        for g in node.given:
            f = self.fields.get(g.field)
            if f is None and g.field in self.skipped_names:
                ok = False
                continue
            if f is None:
                what = "a `let` is computed, not given" if g.field in self.lets else None
                s = suggest(g.field, self.fields)
                self.sink.error("RB101", f"unknown field `{g.field}` in `given`", g.span,
                                help=what or (f"did you mean `{s}`?" if s else "give inputs and labels by name"))
                ok = False
                continue
            if g.field in given:
                self.sink.error("RB104", f"`{g.field}` is given twice", g.span,
                            help='keep one value per field')
                ok = False
                continue
            raw = self._given_value(f, g.value)
            if raw is _BAD:
                ok = False
                continue
            if not put(record, f.path, raw, rubric.record_each):
                other = next((n for n in given if _clash(self.fields[n].path, f.path)), "another field")
                self.sink.error("RB103", f"`{g.field}` and `{other}` cannot both be given: their paths overlap",
                                g.span, help="a record cannot hold both values; give one of them, or fix a `from` path")
                ok = False
                continue
            given[g.field] = raw
        if rubric.record_each is not None:
            judgment_of(record, rubric.record_each)  # an example is one judgment: the list holds it
        expect: set[tuple[str, str]] = set()
        decided = {d.label.name for d in rubric.decides}
        rule_names = {r.name for r in rubric.rules}
        targets = {e.target for e in rubric.escalations}
        for o in node.expect:
            if o.kind == "pass":
                if len(node.expect) > 1:
                    self.sink.error("RB007", "`expect pass` means no finding at all and stands alone", o.span,
                            help='remove `pass`, or remove the other outcomes')
                    ok = False
                continue
            assert o.name is not None
            if o.kind == "violation":
                known = rule_names | decided
                what = "a rule or a decided label"
            elif o.kind in ("uncovered", "ambiguous"):
                known = decided
                what = "a label with a `decide`"
            elif o.kind == "invalid":
                known = set(self.fields)
                what = "an input or label"
            else:
                known = targets
                what = "an escalation target"
            item_level = ({r.name for r in rubric.item_rules} | {"consensus"} if o.kind in ("violation", "ambiguous")
                          else {e.target for e in rubric.item_escalations} if o.kind == "escalation" else set())
            if o.name not in known and o.name in item_level:
                self.sink.error("RB101", f"`expect {o.kind} {o.name}`: an example is one record, and `{o.name}` "
                                "is checked per item", o.span,
                                help="item checks need several records; try them with `rubric check` on a "
                                     "multi-annotator sample")
                ok = False
                continue
            if o.name not in known and o.name in self.skipped_names:
                ok = False
                continue
            if o.name not in known and o.kind == "escalation" and o.name in self.escalation_targets:
                target = self.escalation_targets[o.name]
                self.sink.error("RB101", f"`expect escalation {o.name}`: `{o.name}` is the name of an escalation, "
                                "not its target", o.span,
                                help=f"`expect escalation` names the role a record goes to: write "
                                     f"`expect escalation {target}`")
                ok = False
                continue
            if o.name not in known:
                s = suggest(o.name, known)
                self.sink.error("RB101", f"`expect {o.kind} {o.name}`: `{o.name}` is not {what}", o.span,
                                help=f"did you mean `{s}`?" if s else None)
                ok = False
                continue
            expect.add((o.kind, o.name))
        if not ok:
            return None
        return ir.ExampleIR(node.title, record, given, frozenset(expect), node.span, node.doc)

    def _given_value(self, f: ir.FieldIR, v: ast.Value | ast.SetValue) -> Any:
        """A `given` value as the raw JSON the record would hold. A value of the wrong
        JSON type is kept as written, so an example can show an invalid finding."""
        ft = f.type
        if isinstance(v, ast.SetValue):
            if ft.kind != "set":
                self.sink.error("RB103", f"`{f.name}` is {_named_description(f)}, not a set", v.span,
                            help='give a single value; `{...}` is for set labels')
                return _BAD
            out = []
            for item in v.items:
                if item.kind == "string":
                    out.append(item.value)
                    continue
                val = self._value_for(ft, item, f"`{f.name}`")
                if val is _BAD:
                    return _BAD
                out.append(val)
            return out
        if v.kind == "name":
            if ft.kind in ("enum",):
                return self._value_for(ft, v, f"`{f.name}`")
            self.sink.error("RB103", f"`{v.value}` is not a value of `{f.name}` ({_named_description(f)})", v.span,
                            help="quote text values; enum values are bare names")
            return _BAD
        return v.value

def _named_description(f: ir.FieldIR) -> str:
    """A field's type as a message shows it: its structure, led by the name it is declared
    with (`likert5 (scale 1..5)`)."""
    text = f.type.describe()
    return f"{f.type_name} ({text})" if f.type_name else text


def _check_imported(tree: ast.Rubric, sink: Sink, text: str, sha256: str, library: imp.Library):
    """Check an imported file (its types and lets) in its own scope."""
    checker = Checker(tree, sink, text, sha256, library=library, imported=True)
    checker.run()
    return checker.types, checker.lets, checker.let_nodes


def _with_levels(inherited: list[tuple[Any, str]], own: list[tuple[Any, str]],
                 ftype: ir.FieldType) -> list[tuple[Any, str]]:
    """A type's levels with those written for one use of it (a label of the type, or a
    type named after it): an own level replaces the inherited one of its value; when
    both lists have levels, the result is in the order of the type's values (numbers
    ascending, enum values as declared), else it is the one list as written."""
    if not inherited or not own:
        return list(inherited or own)
    mine = dict(own)
    out = [(v, mine.pop(v)) if v in mine else (v, t) for v, t in inherited]
    out += [(v, t) for v, t in own if v in mine]
    if ftype.enum is not None:
        rank = {v: i for i, v in enumerate(ftype.enum.values)}
        return sorted(out, key=lambda p: rank.get(p[0], len(rank)))
    if ftype.kind in ("int", "number", "scale"):
        return sorted(out, key=lambda p: p[0])
    return out


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SKIPPED_TYPE = re.compile(r"^[ \t]*type[ \t]+([A-Za-z_]\w*)", re.M)
_SKIPPED_DECL = re.compile(
    r"^[ \t]*(?:(?:input|label|let|rule|decide|criterion|consensus)[ \t]+([A-Za-z_]\w*)"
    r"|escalate[ \t]+([A-Za-z_]\w*)(?:[ \t]+([A-Za-z_]\w*))?|edge[ \t]+([A-Za-z_]\w*))", re.M)


def _skipped_declarations(text: str, regions: list[tuple[int, int]]) -> tuple[set[str], bool]:
    """The names the skipped regions declare (fields, lets, rules, escalations and their
    targets, edge cases, decided labels, criteria), and whether one holds a `record` block."""
    names: set[str] = set()
    record = False
    for start, end in regions:
        chunk = text[start:end]
        names.update(n for m in _SKIPPED_DECL.finditer(chunk) for n in m.groups() if n)
        record = record or re.search(r"^[ \t]*record\b", chunk, re.M) is not None
    return names, record


def _clash(a: tuple[str | int, ...], b: tuple[str | int, ...]) -> bool:
    """Whether two paths cannot both hold a value: one is a prefix of the other, or they
    use one container as an object in one path and as an array in the other."""
    for x, y in zip(a, b):
        if x != y:
            return isinstance(x, int) != isinstance(y, int)
    return True


class _Bad:
    def __repr__(self) -> str:
        return "<bad>"


_BAD: Any = _Bad()
