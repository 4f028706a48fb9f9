"""Rendering with Jinja2: the guideline (`rubric doc`, Markdown or HTML) and the shared
template environment of the HTML report.

Input: a `doc.Guide` (or, for the report, the report's own model). Output: text.
Templates live in `rubricdsl/render/templates/` and ship in the wheel.

Escaping is on in both formats, so that no text from a rubric or from annotation data
can become markup:

- HTML: Jinja's autoescaping. Filters that build markup (`words`, `doc`) escape every
  piece of text themselves and return `Markup`.
- Markdown: every `{{ … }}` goes through `md_text` (the environment's `finalize`), which
  backslash-escapes Markdown punctuation, writes `<` and `&` as entities (so raw HTML
  in user text stays text), and keeps a table row on one line (`|` escaped, line breaks
  as `<br>`). Filters return `Markup` for what they escaped already.

Docstrings are guidance written by the rubric's author and may use light Markdown:
paragraphs, `-` lists, `code`, *emphasis* and **bold**. Markdown output keeps it as
written (raw HTML escaped, and a link whose scheme is not http, https or mailto written
as text); HTML output renders that subset and nothing else (no link at all).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Iterable

import jinja2
from markupsafe import Markup, escape

from rubricdsl.language.wording import Frag, Guide, severity_word

FORMATS = ("md", "html")

# ---- Markdown escaping -----------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LINE_START = re.compile(r"^(\s*)(?:([-+])|(\d+)([.)]))(?=\s|$)")
_ANCHOR = re.compile(r"[A-Za-z0-9_-]+\Z")


def md_text(s: Any, cell: bool = True) -> Markup:
    """Plain user text inline in Markdown: nothing in it acts as Markdown or HTML."""
    if isinstance(s, Markup):
        return s
    t = "" if s is None else str(s)
    t = _ENTITY.sub("&amp;", t)
    t = _MD_SPECIAL.sub(lambda m: "&lt;" if m.group(1) == "<" else "&gt;" if m.group(1) == ">" else "\\" + m.group(1), t)
    t = _LINE_START.sub(lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" + m.group(4)), t)
    return Markup(_one_line(t, cell))


def _one_line(t: str, cell: bool) -> str:
    t = t.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in t:
        return t
    return "<br>".join(t.split("\n")) if cell else " ".join(p.strip() for p in t.split("\n"))


def md_code(s: Any, cell: bool = True) -> Markup:
    """A code span that holds any text (backticks, pipes, line breaks)."""
    t = _one_line(str(s), False)
    if cell:
        t = t.replace("|", "\\|")  # GFM reads a pipe inside a code span as a cell boundary
    longest = max((len(m) for m in re.findall(r"`+", t)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if t.startswith("`") or t.endswith("`") or (t.startswith(" ") and t.endswith(" ") and t.strip()) else ""
    return Markup(f"{fence}{pad}{t}{pad}{fence}")


# A link's destination: after `](` (inline links and images) or after `[label]:` at the start
# of a line (link reference definitions), spaces and one line break allowed before it.
_LINK_DEST = re.compile(r"(\]\()([ \t]*\n?[ \t]*)([^\s)]*)")
_LINK_DEF = re.compile(r"^( {0,3})(\[(?:[^\]\\\n]|\\.)+\]:)([ \t]*\n?[ \t]*)(\S*)", re.M)
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_SAFE_SCHEMES = ("http", "https", "mailto")
_BACKSLASHED = re.compile(r"\\([!-/:-@\[-`{-~])")


def _unsafe_dest(dest: str) -> bool:
    """Whether a link destination names a scheme other than http, https and mailto (as the
    Markdown reader sees it: backslash escapes undone). Relative links and anchors are fine."""
    m = _SCHEME.match(_BACKSLASHED.sub(r"\1", dest))
    return m is not None and m.group(1).lower() not in _SAFE_SCHEMES


def _safe_links(t: str) -> str:
    """Links in a docstring keep working for http, https and mailto; any other scheme
    (`javascript:`, `data:`, `vbscript:`, `file:`...) is written as text: its `](` and its
    reference definition's `[` escaped, so no reader makes a link of it."""
    t = _LINK_DEST.sub(lambda m: ("\\]\\(" if _unsafe_dest(m.group(3)) else m.group(1)) + m.group(2) + m.group(3), t)
    return _LINK_DEF.sub(lambda m: m.group(1) + ("\\" if _unsafe_dest(m.group(4)) else "") + m.group(2)
                         + m.group(3) + m.group(4), t)


def md_doc(s: Any, cell: bool = False) -> Markup:
    """A docstring in Markdown: the author's light Markdown kept, raw HTML escaped, links
    only to http, https and mailto addresses."""
    if s is None:
        return Markup("")
    t = _safe_links(_ENTITY.sub("&amp;", str(s)).replace("<", "&lt;"))
    if cell:
        t = t.replace("|", "\\|")
        paras = [" ".join(line.strip() for line in p.splitlines()) for p in re.split(r"\n\s*\n", t)]
        return Markup("<br><br>".join(p for p in paras if p))
    return Markup(t)


def anchor_id(a: Any) -> Markup:
    """An anchor, checked: anchors are names and slugs, never free text."""
    if not isinstance(a, str) or not _ANCHOR.match(a):
        raise ValueError(f"not an anchor: {a!r}")
    return Markup(a)


def md_words(words: Iterable[Frag], cell: bool = True) -> Markup:
    out = []
    for w in words:
        if w.kind == "text":
            out.append(md_text(w.text, cell))
        elif w.kind == "string":
            out.append("“" + md_code(w.text, cell) + "”")
        else:
            code = md_code(w.text, cell)
            out.append(f"[{code}](#{anchor_id(w.href)})" if w.href else code)
    return Markup("".join(out))


def _md_finalize(value: Any) -> Any:
    if isinstance(value, Markup) or isinstance(value, (int, float)):
        return value
    return md_text(value)


# ---- HTML ----------------------------------------------------------------------------------------


def html_words(words: Iterable[Frag], base: str = "") -> Markup:
    """Words as HTML; names link to their clause (`base` + `#anchor`: the guideline's
    address when the words stand in another page)."""
    out = []
    for w in words:
        if w.kind == "text":
            out.append(escape(w.text))
        elif w.kind == "string":
            out.append(Markup("“<code class=\"str\">{}</code>”").format(w.text))
        else:
            cls = {"field": "name", "let": "name let", "value": "val", "pattern": "pattern", "role": "role"}.get(w.kind, "val")
            code = Markup('<code class="{}">{}</code>').format(cls, w.text)
            out.append(Markup('<a href="{}#{}">{}</a>').format(base, anchor_id(w.href), code) if w.href else code)
    return Markup("").join(out)


_INLINE = [
    (re.compile(r"`([^`\n]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*\n]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])"), r"<em>\1</em>"),
    (re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])"), r"<em>\1</em>"),
]


def _inline_html(text: str) -> str:
    """Escaped text with `code`, **bold** and *emphasis*; code spans are left as they are."""
    parts = re.split(r"(`[^`\n]+`)", text)
    out = []
    for p in parts:
        e = str(escape(p))
        if p.startswith("`") and p.endswith("`") and len(p) > 1:
            out.append(f"<code>{e[1:-1]}</code>")
            continue
        for rx, rep in _INLINE[1:]:
            e = rx.sub(rep, e)
        out.append(e)
    return "".join(out)


def html_doc(s: Any) -> Markup:
    """A docstring as HTML: paragraphs, `-`/`*` lists, `code`, *emphasis*, **bold**.
    Everything is escaped first; only these tags are ever produced."""
    if not s:
        return Markup("")
    blocks = []
    for para in re.split(r"\n\s*\n", str(s).strip()):
        lines = para.splitlines()
        if lines and all(re.match(r"\s*[-*]\s+", ln) or (i and ln.startswith("  ")) for i, ln in enumerate(lines)):
            items: list[str] = []
            for ln in lines:
                m = re.match(r"\s*[-*]\s+(.*)", ln)
                if m:
                    items.append(m.group(1))
                else:
                    items[-1] += " " + ln.strip()
            blocks.append("<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in items) + "</ul>")
        else:
            blocks.append("<p>" + _inline_html(" ".join(ln.strip() for ln in lines)) + "</p>")
    return Markup("\n".join(blocks))


# ---- environments ------------------------------------------------------------------------------


def _pct(part: float, whole: float, digits: int = 1) -> str:
    if not whole:
        return "–"
    v = 100.0 * part / whole
    if 0 < v < 0.1:
        return "<0.1%"
    return f"{v:.{digits}f}%"


def _thousands(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n)


@lru_cache(maxsize=None)
def environment(fmt: str) -> jinja2.Environment:
    """The Jinja environment of one output format (`md` or `html`), autoescaping on."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rubricdsl.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=_md_finalize if fmt == "md" else None,
    )
    env.filters["pct"] = _pct
    env.filters["thousands"] = _thousands
    env.globals["severity_word"] = severity_word
    env.filters["id"] = anchor_id
    if fmt == "md":
        env.filters["words"] = md_words
        env.filters["code"] = md_code
        env.filters["doc"] = md_doc
        env.filters["text"] = md_text
    else:
        env.filters["words"] = html_words
        env.filters["doc"] = html_doc
    return env


def render_guide(guide: Guide, fmt: str = "md", regenerate: str | None = None) -> str:
    """The guideline as Markdown or as one self-contained HTML page.

    `regenerate` is the command that rebuilds the file, noted at its top."""
    template = environment(fmt).get_template(f"guide.{fmt}.j2")
    return template.render(g=guide, regenerate=regenerate)
