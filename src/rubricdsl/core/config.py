"""Project configuration: `rubric.toml`, or the `[tool.rubric]` table of `pyproject.toml`,
found the way ruff finds its own.

`find_config(start)` walks up from `start` (a file or a directory) to the filesystem
root. In each directory a `rubric.toml` (the whole file is the configuration, at top
level) wins over a `pyproject.toml`; a `pyproject.toml` without a `[tool.rubric]` table
is passed over. The first file found is the configuration: files are never merged. With
none, the defaults apply (`ProjectConfig.path` is None).

The keys (docs/cli.md, "Configuration", says the same for authors):

    fail-level        "error" | "warning" | "info"       rubric lint's --fail-level
    select            list of selectors                   checks reported (default ["all"])
    ignore            list of selectors                   checks not reported
    per-file-ignores  table: glob -> list of selectors    checks not reported in matching files
    data              list of paths                       sample data files
    output-format     "text" | "json" | "jsonl" | "sarif" | "github"
                                                          the default --format of lint and check

A selector is what a `# rubric: ignore[...]` comment accepts — a code (`RB204`), its name
(`decision-gap`), its check (`gap`) or `all` — or a code prefix (`RB2`, `RB20`). When a
code is matched by both `select` and `ignore`, the more specific selector wins (a code or
name over a check, over a longer prefix, over a shorter one, over `all`); on a tie `ignore`
wins. `per-file-ignores` then disables what it names in the files it matches. Errors are
never disabled: a rubric with an error does not compile, and no setting makes lint call
it clean.

Paths and globs are data: relative ones are taken from the configuration file's
directory (`root`), nothing is expanded (`~`, `$VAR`) and nothing is run.

This module reads TOML with the standard library only and imports nothing of rubricdsl
above `core`.
"""
from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

from rubricdsl.core.codes import CODES, Code

RUBRIC_TOML = "rubric.toml"
PYPROJECT_TOML = "pyproject.toml"
CONFIG_NAMES = (RUBRIC_TOML, PYPROJECT_TOML)  # in the order they win within one directory

FAIL_LEVELS = ("error", "warning", "info")  # rubric lint --fail-level
OUTPUT_FORMATS = ("text", "json", "jsonl", "sarif", "github")  # the union of lint's and check's --format
ALL = "all"

KEYS = ("fail-level", "select", "ignore", "per-file-ignores", "data", "output-format")

_CHECKS = frozenset(c.check for c in CODES.values())
_NAMES = {c.name: c for c in CODES.values()}


class ConfigError(Exception):
    """A configuration file that cannot be used: not TOML, an unknown key, a value of the
    wrong type, an unknown code, a bad glob. `str()` is one line, `FILE:LINE: message`."""

    def __init__(self, message: str, file: Path | str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = Path(file)
        self.line = line

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ProjectConfig:
    """The configuration that applies to a directory's files. `path` is the file it was
    read from (None: the defaults), `root` its directory, against which relative paths
    and globs are taken."""

    path: Path | None
    root: Path
    fail_level: str | None = None
    select: tuple[str, ...] = (ALL,)
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    data: tuple[Path, ...] = ()
    output_format: str | None = None
    # where each key was written (`fail-level` -> 3), for errors found when a setting is used
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, key: str) -> int | None:
        """The line of the configuration file where `key` is set (None when it is not)."""
        return self.lines.get(key)

    def matching_globs(self, file: Path | str) -> tuple[str, ...]:
        """The `per-file-ignores` globs that match `file`."""
        rel = _relative_parts(self.root, file)
        if rel is None:
            return ()
        return tuple(g for g, _ in self.per_file_ignores if _glob_matches(g, rel))

    def ignored_codes_for(self, file: Path | str) -> frozenset[str]:
        """Every code whose diagnostics are not reported for `file`: what `select` leaves
        out, what `ignore` takes away (the more specific selector winning) and what the
        `per-file-ignores` globs matching `file` name. Codes of errors are never in it."""
        globs = set(self.matching_globs(file))
        per_file = [s for g, sels in self.per_file_ignores if g in globs for s in sels]
        out = set()
        for c in CODES.values():
            if c.severity == "error":
                continue
            if not _selected(c, self.select, self.ignore) or _best(c, per_file) is not None:
                out.add(c.code)
        return frozenset(out)

    def is_enabled(self, code: str, file: Path | str) -> bool:
        """Whether diagnostics of `code` (a code such as `RB204`, or its name) are reported
        for `file`. A code this version does not know, and the code of an error, is
        enabled; callers keep every diagnostic of severity `error` whatever this says."""
        c = _code(code)
        if c is None:
            return True
        return c.code not in self.ignored_codes_for(file)

    def settings(self) -> dict[str, Any]:
        """Each key with the value in force, as the configuration file spells it (paths
        absolute), in `KEYS` order."""
        return {
            "fail-level": self.fail_level,
            "select": list(self.select),
            "ignore": list(self.ignore),
            "per-file-ignores": {g: list(s) for g, s in self.per_file_ignores},
            "data": [str(p) for p in self.data],
            "output-format": self.output_format,
        }


def default_config(start: Path | str) -> ProjectConfig:
    """The defaults, for files under `start` (a file or a directory)."""
    return ProjectConfig(path=None, root=_directory(Path(start)))


def find_config(start: Path | str) -> ProjectConfig:
    """The configuration that applies at `start` (a file or a directory): the nearest
    `rubric.toml`, or `pyproject.toml` with a `[tool.rubric]` table, in `start`'s
    directory or above it; the defaults when there is none. Raises `ConfigError` when the
    file found cannot be used."""
    here = _directory(Path(start))
    for d in (here, *here.parents):
        for name in CONFIG_NAMES:
            p = d / name
            if not p.is_file():
                continue
            cfg = _read(p, required=name == RUBRIC_TOML)
            if cfg is not None:
                return cfg
    return default_config(here)


def load_config(path: Path | str) -> ProjectConfig:
    """The configuration in the file `path` (`--config`): a `pyproject.toml` is read for
    its `[tool.rubric]` table (which must be there), any other file as a whole, like a
    `rubric.toml`."""
    p = Path(os.path.abspath(path))
    if not p.exists():
        raise ConfigError("no such file", path)
    if p.is_dir():
        raise ConfigError("is a directory, not a configuration file", path)
    cfg = _read(p, required=True)
    assert cfg is not None
    return cfg


# ---- reading -------------------------------------------------------------------------------


def _directory(p: Path) -> Path:
    p = Path(os.path.abspath(p))
    return p if p.is_dir() else p.parent


def _read(path: Path, required: bool) -> ProjectConfig | None:
    """The configuration in `path`; None for a `pyproject.toml` without `[tool.rubric]`
    unless `required`."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot be read: {e.strerror or e}", path) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ConfigError("is not UTF-8 text", path, line) from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"is not valid TOML: {_toml_message(e)}", path, _toml_line(e, text)) from None
    locator = _Locator(text)
    if path.name == PYPROJECT_TOML:
        tool = doc.get("tool")
        if not isinstance(tool, dict) or "rubric" not in tool:
            if required:
                raise ConfigError("has no [tool.rubric] table", path)
            return None
        table = tool["rubric"]
        prefix: tuple[str, ...] = ("tool", "rubric")
        if not isinstance(table, dict):
            raise ConfigError(f"tool.rubric must be a table, not {_type_name(table)}", path,
                              locator.line(prefix))
    else:
        table, prefix = doc, ()
    return _parse(table, path, lambda *keys, value=None: locator.line(prefix + keys, value) or None)


def _toml_message(e: tomllib.TOMLDecodeError) -> str:
    msg = getattr(e, "msg", None) or str(e)
    return re.sub(r"\s*\(at line \d+, column \d+\)$|\s*\(at end of document\)$", "", msg)


def _toml_line(e: tomllib.TOMLDecodeError, text: str) -> int | None:
    line = getattr(e, "lineno", None)  # Python 3.14 and later
    if isinstance(line, int):
        return line
    m = re.search(r"\(at line (\d+), column \d+\)", str(e))
    if m:
        return int(m.group(1))
    if "end of document" in str(e):
        return text.count("\n") + (0 if text.endswith("\n") else 1) or 1
    return None


def _parse(table: dict[str, Any], path: Path, line) -> ProjectConfig:
    root = path.parent
    for key in table:
        if key not in KEYS:
            near = difflib.get_close_matches(key.replace("_", "-").lower(), KEYS, n=1, cutoff=0.6)
            hint = f"; did you mean `{near[0]}`?" if near else f" (keys: {', '.join(KEYS)})"
            raise ConfigError(f"unknown key `{key}`{hint}", path, line(key))
    lines = {k: line(k) for k in table if line(k)}
    kw: dict[str, Any] = {}

    def want(key: str, ok: bool, what: str) -> None:
        if not ok:
            raise ConfigError(f"{key} must be {what}, not {_type_name(table[key])}", path, line(key))

    def one_of(key: str, allowed: tuple[str, ...]) -> str:
        v = table[key]
        want(key, isinstance(v, str), "a string")
        if v not in allowed:
            raise ConfigError(f"{key} must be one of {', '.join(allowed)}; not \"{v}\"", path,
                              line(key, value=v))
        return v

    def strings(key: str, v: Any, *where: str) -> tuple[str, ...]:
        name = ".".join((key, *where)) if where else key
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            bad = v if not isinstance(v, list) else next(s for s in v if not isinstance(s, str))
            what = "a list of strings" if not isinstance(v, list) else "a list of strings (one is " \
                                                                       f"{_type_name(bad)})"
            raise ConfigError(f"{name} must be {what}" + ("" if isinstance(v, list) else
                                                          f", not {_type_name(v)}"), path, line(key, *where))
        return tuple(v)

    def selectors(key: str, v: Any, *where: str) -> tuple[str, ...]:
        out = strings(key, v, *where)
        for s in out:
            problem = selector_problem(s, ignoring=key != "select")
            if problem:
                raise ConfigError(f"{'.'.join((key, *where))}: {problem}", path, line(key, *where, value=s))
        return out

    if "fail-level" in table:
        kw["fail_level"] = one_of("fail-level", FAIL_LEVELS)
    if "output-format" in table:
        kw["output_format"] = one_of("output-format", OUTPUT_FORMATS)
    if "select" in table:
        kw["select"] = selectors("select", table["select"])
    if "ignore" in table:
        kw["ignore"] = selectors("ignore", table["ignore"])
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        want("per-file-ignores", isinstance(pfi, dict), "a table of glob = [codes]")
        entries = []
        for glob, sels in pfi.items():
            problem = glob_problem(glob)
            if problem:
                raise ConfigError(f"per-file-ignores: glob \"{glob}\" {problem}", path,
                                  line("per-file-ignores", glob) or line("per-file-ignores", value=glob))
            entries.append((glob, selectors("per-file-ignores", sels, glob)))
        kw["per_file_ignores"] = tuple(entries)
    if "data" in table:
        files = strings("data", table["data"])
        for f in files:
            if not f or "\x00" in f:
                raise ConfigError("data: a path must be a non-empty string without NUL", path, line("data"))
        kw["data"] = tuple(Path(os.path.normpath(root / f)) for f in files)
    return ProjectConfig(path=path, root=root, lines=lines, **kw)


def _type_name(v: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
             dict: "a table"}
    for t, n in names.items():
        if type(v) is t:
            return n
    return "a date or time" if hasattr(v, "isoformat") else type(v).__name__


class _Locator:
    """Where keys are written in a TOML text: a line scan good enough for error messages
    (TOML parsers do not report where a value came from). Keys under a `[table]` header
    and dotted keys are found; keys of inline tables fall back to their table's line."""

    _HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(?:#.*)?$")
    _KEY = re.compile(r"""^\s*((?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)(?:\s*\.\s*(?:"(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+))*)\s*=""")
    _PART = re.compile(r"""\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*(?:\.|$)""")

    def __init__(self, text: str) -> None:
        self.text_lines = text.splitlines()
        self.keys: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        for n, ln in enumerate(self.text_lines, 1):
            m = self._HEADER.match(ln)
            if m:
                table = self._parts(m.group(1))
                self.keys.setdefault(table, n)
                continue
            m = self._KEY.match(ln)
            if m:
                self.keys.setdefault(table + self._parts(m.group(1)), n)

    def _parts(self, dotted: str) -> tuple[str, ...]:
        out = []
        for m in self._PART.finditer(dotted):
            p = m.group(1)
            if p[:1] == '"':
                try:
                    p = tomllib.loads(f"x = {p}")["x"]
                except tomllib.TOMLDecodeError:
                    p = p[1:-1]
            elif p[:1] == "'":
                p = p[1:-1]
            out.append(p)
        return tuple(out)

    def line(self, keys: tuple[str, ...], value: str | None = None) -> int | None:
        """The line of `keys` (or of its nearest enclosing table); with `value`, the first
        line from there on where that string is written, if any."""
        start = None
        for n in range(len(keys), -1, -1):
            start = self.keys.get(keys[:n])
            if start is not None:
                break
        if value is not None and start is not None:
            for n in range(start, len(self.text_lines) + 1):
                ln = self.text_lines[n - 1]
                if f'"{value}"' in ln or f"'{value}'" in ln:
                    return n
        return start


# ---- selectors ----------------------------------------------------------------------------


def _code(key: str) -> Code | None:
    k = key.strip()
    return CODES.get(k.upper()) or _NAMES.get(k.lower())


def _specificity(selector: str, code: Code) -> int | None:
    """How closely `selector` names `code` (None: it does not): 10 the code or its name,
    5 its check, the prefix's length for a code prefix (`RB2`: 3), 0 `all`."""
    s = selector.strip()
    if s.lower() == ALL:
        return 0
    if s.upper() == code.code or s.lower() == code.name:
        return 10
    if s.lower() == code.check:
        return 5
    up = s.upper()
    if re.fullmatch(r"RB\d{0,2}", up) and code.code.startswith(up):
        return len(up)
    return None


def _best(code: Code, selectors: tuple[str, ...] | list[str]) -> int | None:
    found = [x for x in (_specificity(s, code) for s in selectors) if x is not None]
    return max(found) if found else None


def _selected(code: Code, select: tuple[str, ...], ignore: tuple[str, ...]) -> bool:
    s = _best(code, select)
    if s is None:
        return False
    i = _best(code, ignore)
    return i is None or s > i


def codes_matching(selector: str) -> list[str]:
    """The codes a selector names."""
    return [c.code for c in CODES.values() if _specificity(selector, c) is not None]


def selector_problem(selector: str, ignoring: bool = False) -> str | None:
    """Why `selector` cannot be used (None: it can): it names no code, or (`ignoring`) it
    names only errors, which are never disabled."""
    matched = codes_matching(selector)
    if not matched:
        words = [*CODES, *_NAMES, *sorted(_CHECKS), ALL]
        near = difflib.get_close_matches(selector.strip(), words, n=1, cutoff=0.6) or \
            difflib.get_close_matches(selector.strip().lower(), [w.lower() for w in words], n=1, cutoff=0.6)
        hint = f"; did you mean `{near[0]}`?" if near else " (codes look like RB204; see docs/diagnostics/)"
        return f"unknown code `{selector}`{hint}"
    if ignoring and all(CODES[c].severity == "error" for c in matched):
        return f"`{selector}` names only errors, which are always reported"
    return None


def parse_selectors(text: str, option: str) -> tuple[str, ...]:
    """A command-line list of selectors (`RB204,decision-gap`), checked; raises ValueError."""
    out = tuple(s.strip() for s in text.split(",") if s.strip())
    for s in out:
        problem = selector_problem(s, ignoring=option != "--select")
        if problem:
            raise ValueError(f"{option}: {problem}")
    return out


# ---- globs --------------------------------------------------------------------------------


def glob_problem(glob: str) -> str | None:
    """Why `glob` cannot be a `per-file-ignores` key (None: it can)."""
    if not glob.strip():
        return "is empty"
    if "\x00" in glob:
        return "holds a NUL character"
    if glob.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", glob):
        return "is absolute; globs are relative to the configuration file's directory"
    if ".." in PurePosixPath(glob).parts:
        return "goes above the configuration file's directory (..)"
    try:
        _glob_regex(glob)
    except ValueError as e:
        return str(e)
    return None


def _glob_regex(glob: str) -> re.Pattern[str]:
    """`*` any characters but `/`, `**` any directories, `?` one character, `[abc]`,
    `[!abc]` one of (or none of) a set."""
    g = (glob[2:] if glob.startswith("./") else glob).rstrip("/")
    out = []
    i, n = 0, len(g)
    while i < n:
        c = g[i]
        if c == "*":
            if g.startswith("**", i):
                j = i + 2
                if g.startswith("/", j):
                    out.append("(?:.*/)?")
                    i = j + 1
                else:
                    out.append(".*")
                    i = j
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and g[j] == "!":
                j += 1
            if j < n and g[j] == "]":
                j += 1
            end = g.find("]", j)
            if end < 0:
                raise ValueError(f"has a `[` that is never closed (column {i + 1})")
            body = g[i + 1:end]
            neg = body.startswith("!")
            if neg:
                body = body[1:]
            if "/" in body:
                raise ValueError("has a `/` inside `[...]`")
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            if body.startswith("^"):
                body = "\\" + body
            out.append(f"[{'^' if neg else ''}{body}]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _relative_parts(root: Path, file: Path | str) -> tuple[str, ...] | None:
    """`file`'s path below `root`, as parts; None when it is not below it."""
    f = os.path.normpath(os.path.abspath(file))
    r = os.path.normpath(os.path.abspath(root))
    try:
        rel = os.path.relpath(f, r)
    except ValueError:
        return None
    parts = PurePosixPath(rel.replace(os.sep, "/")).parts
    if not parts or parts[0] == ".." or rel == ".":
        return None
    return parts


def _glob_matches(glob: str, parts: tuple[str, ...]) -> bool:
    """Whether `glob` matches the file whose path below the root is `parts`, as a
    .gitignore line would: a glob without `/` matches the file's name or the name of a
    directory it is in; one with `/` matches the path from the root, of the file or of a
    directory it is in."""
    rx = _glob_regex(glob)
    g = glob[2:] if glob.startswith("./") else glob
    last = len(parts) - 1 if g.endswith("/") else len(parts)  # `dir/`: directories only
    if "/" not in g.rstrip("/"):
        return any(rx.fullmatch(p) for p in parts[:last])
    return any(rx.fullmatch("/".join(parts[:k])) for k in range(1, last + 1))


def replace(cfg: ProjectConfig, **changes: Any) -> ProjectConfig:
    """`cfg` with some settings changed (the command line's), keeping where it came from."""
    return dataclasses.replace(cfg, **changes)
