"""The table of diagnostic codes. Codes are stable: never renumber or reuse one.

Blocks: RB0xx syntax, RB1xx names and types, RB2xx static analysis, RB9xx internal.
Each code belongs to one `check` of the language brief (the JSON `check` field).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    name: str  # kebab-case, names the problem
    check: str  # the spec's check category
    severity: str  # default severity: error | warning | info
    summary: str


_CODES = [
    Code("RB001", "unexpected-token", "syntax", "error", "The parser met a token it did not expect here"),
    Code("RB002", "invalid-character", "syntax", "error", "Text that is no token of the language"),
    Code("RB003", "unclosed-block", "syntax", "error", "A `{` is never closed before the end of the file"),
    Code("RB004", "missing-header", "syntax", "error", "The file does not start with `rubric \"NAME\" version \"V\"`"),
    Code("RB005", "invalid-escape", "syntax", "error",
         "A string holds an escape sequence the language does not know, or half of a surrogate pair"),
    Code("RB006", "misplaced-declaration", "syntax", "error", "A declaration stands where it is not allowed"),
    Code("RB007", "malformed-clause", "syntax", "error", "A block misses a clause it needs, or repeats one"),
    Code("RB008", "reserved-word", "syntax", "error", "A reserved word is used as a name"),
    Code("RB009", "nesting-too-deep", "syntax", "error",
         "An expression nested more than 1,000 levels deep (parentheses, `not`, unary `-`, calls)"),
    Code("RB010", "number-out-of-range", "syntax", "error", "A number literal beyond the range of a double"),
    Code("RB011", "malformed-path", "syntax", "error",
         "A path segment with both `[N]` indexes and a selector, or two selectors"),
    Code("RB012", "missing-path", "syntax", "error",
         "A `record` line with no path after its `=` (a `show` line that lists none), or a path list ending in `,`"),
    Code("RB101", "unknown-name", "unknown_name", "error", "A name that no declaration defines"),
    Code("RB102", "unknown-value", "unknown_value", "error", "A value that is not in the enum it is compared with"),
    Code("RB103", "type-error", "type_error", "error", "An expression or declaration whose types do not fit"),
    Code("RB104", "duplicate-name", "duplicate_name", "error", "Two declarations share one name"),
    Code("RB105", "bad-regex", "bad_regex", "error", "A regex the linear-time engine rejects, or an unknown flag"),
    Code("RB106", "invalid-range", "type_error", "error", "A range whose low bound is above its high bound"),
    Code("RB107", "undecidable-label", "type_error", "error", "A `decide` on a label that is not single-valued"),
    Code("RB108", "let-before-declaration", "unknown_name", "error", "A `let` used before the line that declares it"),
    Code("RB109", "unknown-function", "unknown_name", "error", "A call to a function the language does not have"),
    Code("RB110", "example-failed", "example_failed", "error", "A worked example whose findings differ from its `expect`"),
    Code("RB111", "item-scope", "type_error", "error",
         "An item aggregate outside `per item`, a field read directly inside one, or item checks without an item"),
    Code("RB112", "judgment-path", "type_error", "error",
         "A path from the judgment (`@`), `judgment` or `skip when` in a rubric without `each`, or `@` where a "
         "path must start at the record's root"),
    Code("RB113", "skip-reads-nothing", "type_error", "error", "A `skip when` condition that reads no field"),
    Code("RB114", "duplicate-shown-path", "duplicate_name", "error", "A `show` line that lists one path twice"),
    Code("RB115", "builtin-type-name", "syntax", "error",
         "A `type` declaration named like a type of the language (`bool`, `int`, `number`, `text`, `enum`, `set`, `scale`)"),
    Code("RB116", "recursive-type", "type_error", "error", "A `type` declaration that refers to itself, directly or through other types"),
    Code("RB117", "import-failed", "syntax", "error",
         "An `import` whose path is not allowed, or whose file is missing, unreadable or not UTF-8"),
    Code("RB118", "import-cycle", "syntax", "error", "Files that import each other, directly or through other files"),
    Code("RB201", "dead-condition", "dead", "warning", "A `when`, arm or `applies when` that can never hold"),
    Code("RB202", "vacuous-requirement", "vacuous", "warning", "A `require` that always holds where its rule applies"),
    Code("RB203", "always-violated", "always_violated", "warning", "A `require` that can never hold where its rule applies"),
    Code("RB204", "decision-gap", "gap", "warning", "A situation in a `decide`'s scope that no arm covers"),
    Code("RB205", "overlapping-arms", "overlap", "warning", "Arms that can match together and allow different values"),
    Code("RB206", "shadowed-arm", "shadowed", "warning", "An arm under `first` that earlier arms always pre-empt"),
    Code("RB207", "useless-edge-case", "useless_edge", "warning", "An edge case that never changes the outcome"),
    Code("RB208", "unused-field", "unused_field", "warning", "An `input` or `let` that nothing reads"),
    Code("RB209", "analysis-incomplete", "dead", "warning", "A check the analysis could not decide (timeout or inexpressible)"),
    Code("RB900", "internal-error", "syntax", "error", "A bug in rubricdsl itself"),
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}
BY_NAME: dict[str, Code] = {c.name: c for c in _CODES}


def lookup(code_or_name: str) -> Code | None:
    key = code_or_name.strip()
    return CODES.get(key.upper()) or BY_NAME.get(key.lower())
