"""The Chinese edition (中文版): one set of notebooks, two books.

The English notebooks and pages are the source. The Chinese prose lives beside them, in
``translations/zh/``, each piece recording the SHA-256 of the English text it translates:

- ``translations/zh/notebooks/<name>.json``: for every markdown cell of
  ``notebooks/<name>.ipynb``, keyed by cell id,
  ``{"en_sha256": <sha256 of the English cell's source>, "zh": <Chinese markdown>}``, and
  optionally ``"glossary_exempt": [<English glossary term>, ...]`` where the English uses a
  glossary term in another sense (a Jupyter "kernel" is not a convolution kernel). Code cells
  are never stored: the Chinese notebooks get the English ones;
- ``translations/zh/book/<page>.md``: the Chinese page, whole-page granularity, whose first
  line is the MyST comment ``% en_sha256: <sha256 of book/<page>.md>``;
- ``translations/zh/book.yml``: the Chinese ``title`` of the book and ``captions``, a map from
  each English part caption (or entry title) of ``_toc.yml`` to its Chinese.

Only what ``_toc.yml`` lists is translated (and built). Subcommands, from the repository root:

    python tools/zh_book.py status [--show]         # `make zh-todo`: what needs translating
    python tools/zh_book.py check [--allow-missing] # `make test`: fails on any problem below
    python tools/zh_book.py build [--allow-missing] # `make book`, after the English build
    python tools/zh_book.py set notebooks/02_residual_connections.ipynb 3 < cell.zh.md
    python tools/zh_book.py set book/preface.md < preface.zh.md

``check`` fails, naming the notebook (or page) and the cell id, on: an English cell whose hash
no longer matches its translation (stale), an English cell without one (missing), a translation
of a cell that no longer exists or is not markdown (orphan), a Chinese notebook whose code
differs from the English one, a translation that lost a glue reference, a label, a formula or
a code span of the English (they stay untouched), a glossary term of the English without
one of its Chinese terms (``book/glossary.md`` is the term base), and a word the edition does
not use (one rendering per term): the glossary's "(not ...)" words (``批量 (not 批次)``) and
``HOUSE_STYLE`` (English such as "one-cycle" or "et al." left in Chinese prose, outside code
and a bracketed gloss; the exercises' words). ``--allow-missing`` tolerates
only the missing pieces (the untranslated book still builds, with the English text in their
place); the lead drops it from the Makefile once the translations exist.

``build`` needs the English execution: the outputs come from the jupyter-cache the English
build read and filled (``_build/.jupyter_cache``; ``execute_notebooks: cache``), the only place
`make book` leaves them. It writes the Chinese sources to ``_build/zh_src/`` (executed notebooks
with Chinese markdown, Chinese pages, a ``_config.yml`` derived from the English one with
``language: zh_CN``, ``execute_notebooks: off`` and the Chinese title, a ``_toc.yml`` with the
Chinese captions), builds them with Jupyter Book without executing anything, and copies the
HTML to ``_build/html/zh/``. The English book stays at ``_build/html/`` with its URLs;
book/_ext/language_switch.py links every page to its counterpart. Sphinx's Chinese search
splits words with jieba (requirements.txt), whose dictionary gets the glossary's Chinese terms;
the build fails if the Chinese search index holds no Chinese word.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
import shutil
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
LANG = "zh"
SPHINX_LANGUAGE = "zh_CN"
ENTRY_KEYS = {"en_sha256", "zh", "glossary_exempt"}
HASH_LINE = re.compile(r"\A% en_sha256: ([0-9a-f]{64})[^\n]*(\n|\Z)")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
# What the Chinese book's interface says where the English book's extensions have English text.
ZH_SPHINX_CONFIG = {
    "language": SPHINX_LANGUAGE,
    "language_switch_root": "../",
    "language_switch_label": "English",
    "language_switch_lang": "en",
    "language_switch_title": "阅读本页的英文版",
    "nb_code_prompt_show": "显示代码",
    "nb_code_prompt_hide": "隐藏代码",
    "togglebutton_hint": "点击显示",
    "togglebutton_hint_hide": "点击隐藏",
}


# ---------------------------------------------------------------------------------------------
# The book and its translation store


def sha256_text(text: str) -> str:
    """The SHA-256 (hex) of ``text`` encoded as UTF-8: what a translation records."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the translation. ``kind``: missing, stale, orphan, code, structure,
    glossary, rendering or invalid; ``source``: the English file (or ``_toc.yml``); ``cell``:
    the cell id."""

    kind: str
    source: str
    cell: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source} cell {self.cell}" if self.cell is not None else self.source
        return f"{self.kind}: {where}: {self.message}"


@dataclass
class Book:
    """The English book at ``root`` (its _config.yml, _toc.yml, notebooks and pages) and the
    Chinese translation store beside it."""

    root: Path = ROOT
    lang: str = LANG
    _toc: dict | None = field(default=None, repr=False)

    @property
    def store(self) -> Path:
        return self.root / "translations" / self.lang

    def config(self) -> dict:
        return yaml.safe_load((self.root / "_config.yml").read_text(encoding="utf-8")) or {}

    def toc(self) -> dict:
        if self._toc is None:
            self._toc = yaml.safe_load((self.root / "_toc.yml").read_text(encoding="utf-8"))
        return self._toc

    def _toc_strings(self, keys: tuple[str, ...]) -> list[str]:
        """Every string value of ``keys`` anywhere in the toc, in order, without repeats."""
        found = [n[k] for n in toc_entries(self.toc()) for k in keys if isinstance(n.get(k), str)]
        return list(dict.fromkeys(found))

    def sources(self) -> list[str]:
        """The files the toc lists, in reading order, relative to the root with their suffix."""
        return list(dict.fromkeys(self._resolve(n) for n in self._toc_strings(("root", "file"))))

    def _resolve(self, name: str) -> str:
        for candidate in (name, name + ".ipynb", name + ".md"):
            path = self.root / candidate
            if path.suffix in (".ipynb", ".md") and path.is_file():
                return Path(candidate).as_posix()
        raise FileNotFoundError(f"_toc.yml lists {name!r}, but there is no {name}.ipynb or .md")

    def notebooks(self) -> list[str]:
        return [s for s in self.sources() if s.endswith(".ipynb")]

    def pages(self) -> list[str]:
        return [s for s in self.sources() if s.endswith(".md")]

    def captions(self) -> list[str]:
        """The part captions and entry titles of the toc: the toc's text a reader sees."""
        return self._toc_strings(("caption", "title"))

    def translation_path(self, source: str) -> Path:
        """``notebooks/x.ipynb`` -> translations/zh/notebooks/x.json; ``book/y.md`` -> .../y.md."""
        path = self.store / source
        return path.with_suffix(".json") if path.suffix == ".ipynb" else path

    def meta(self) -> dict:
        path = self.store / "book.yml"
        if not path.is_file():
            return {}
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def english(self, source: str):
        return nbformat.read(self.root / source, as_version=4)


ALT = "/alt"  # the key of a figure's description: "<cell id>/alt"


def figure_alt(cell) -> str | None:
    """A code cell's figure description (myst-nb's ``mystnb.image.alt`` metadata), or None."""
    image = cell.get("metadata", {}).get("mystnb", {}).get("image", {})
    return image.get("alt") if isinstance(image, dict) else None


def alt_fields(text: str) -> set[str]:
    """The glued values a figure description names (``{key}``, ``{key:.1f}``; the Chinese may
    name ``key_zh`` for ``key``)."""
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError:  # an unbalanced brace: reported as a difference
        return {"<unbalanced braces>"}
    return {ZH_GLUE.sub("", f) for f in fields}


def toc_entries(node) -> Iterator[dict]:
    """Every mapping of a toc (``_toc.yml``'s root, parts, chapters, sections), in reading order."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from toc_entries(value)
    elif isinstance(node, list):
        for item in node:
            yield from toc_entries(item)


def is_current(entry: dict | None, english: str) -> bool:
    """Whether ``entry`` (``{"en_sha256", "zh"}``: a cell's, or a page's) has a translation, made
    of the English as it is now: the one test of a translation's freshness."""
    return bool(entry and entry.get("zh")) and entry["en_sha256"] == sha256_text(english)


def markdown_cells(nb) -> list[tuple[str, str]]:
    """(key, English text) of what a notebook's translation holds, in order: each non-empty
    markdown cell (key: its id) and each code cell's figure description (``<id>/alt``,
    book/_ext/accessibility.py), which the Chinese notebook carries in the same metadata."""
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            found.append((str(cell.get("id")), cell.source))
        elif cell.cell_type == "code" and figure_alt(cell):
            found.append((f"{cell.get('id')}{ALT}", figure_alt(cell)))
    return found


def load_entries(book: Book, source: str) -> tuple[dict[str, dict], list[Problem]]:
    """The translation entries of notebook ``source`` (empty if none), and problems with them."""
    path = book.translation_path(source)
    if not path.is_file():
        return {}, []
    rel = path.relative_to(book.root).as_posix()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        return {}, [Problem("invalid", source, None, f"{rel} is not valid JSON: {err}")]
    if not isinstance(data, dict):
        return {}, [Problem("invalid", source, None, f"{rel} must map cell ids to entries")]
    entries, problems = {}, []
    for cell_id, entry in data.items():
        keys = set(entry) if isinstance(entry, dict) else set()
        if (
            not isinstance(entry, dict)
            or not {"en_sha256", "zh"} <= keys
            or not keys <= ENTRY_KEYS
            or not isinstance(entry["zh"], (str, type(None)))
            or not isinstance(entry.get("glossary_exempt", []), list)
        ):
            problems.append(
                Problem(
                    "invalid",
                    source,
                    cell_id,
                    f"the entry in {rel} must be {{'en_sha256': str, 'zh': str}} (optionally "
                    f"'glossary_exempt': [term, ...]), not {entry!r:.80}",
                )
            )
            continue
        entries[cell_id] = entry
    return entries, problems


def read_page_translation(book: Book, source: str) -> tuple[str | None, str | None]:
    """(recorded English hash, Chinese text) of page ``source``; (None, None) if untranslated."""
    path = book.translation_path(source)
    if not path.is_file():
        return None, None
    text = path.read_text(encoding="utf-8")
    match = HASH_LINE.match(text)
    return (match.group(1) if match else ""), text


# ---------------------------------------------------------------------------------------------
# The glossary: the term base


@dataclass(frozen=True)
class Term:
    """An English glossary term, the Chinese strings that translate it (any one will do) and
    the Chinese words the edition does not use for it (``rejected``)."""

    english: str
    chinese: tuple[str, ...]
    rejected: tuple[str, ...] = ()

    def pattern(self) -> re.Pattern:
        words = [re.escape(w) for w in re.split(r"[\s-]+", self.english.strip())]
        body = r"[\s-]+".join(words)
        return re.compile(rf"(?<![\w-]){body}(?:s|es)?(?![\w-])", re.IGNORECASE)


def _split_top_level(text: str) -> list[str]:
    """Split on commas (ASCII or full-width) outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char in "(（":
            depth += 1
        elif char in ")）":
            depth = max(0, depth - 1)
        if char in ",，" and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return [p for p in parts if p]


def _variants(chinese: str) -> list[str]:
    """The forms a glossary's Chinese term may take in a translation: as written, without its
    parenthesised part, and the parenthesised part alone when it is Chinese."""
    forms = [chinese, re.sub(r"\s*[(（][^)）]*[)）]\s*", " ", chinese).strip()]
    forms += [m for m in re.findall(r"[(（]([^)）]*)[)）]", chinese) if CJK.search(m)]
    return [f for f in dict.fromkeys(forms) if f]


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("（", "(").replace("）", ")")).lower()


# "批量 (not 批次, 小批量)": the Chinese words after "not" are renderings the edition does not
# use; the Chinese glossary page says it as "批量（本书不用“批次”“小批量”）".
NOT_MARKER = re.compile(r"\s*\(not ([^()]*)\)")
NOT_MARKER_ANY = re.compile(r"[(（]\s*(?:not\s|本书不用)[^()（）]*[)）]")


def parse_glossary(path: Path) -> list[Term]:
    """The terms of a MyST ``{glossary}`` page whose definitions start with the Chinese terms:

        batch
          批量 (not 批次, 小批量). The group of examples ...

    Several English terms on one line ("precision, recall, F1") take the Chinese terms in the
    same order when there are as many; otherwise each English term takes all of them. An entry
    whose first sentence has no Chinese character (im2col, softmax) has no Chinese term. The
    words in "(not ...)" are the entry's rejected renderings: ``check`` reports them anywhere in
    the Chinese prose, so that each term has one rendering."""
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    terms: list[Term] = []
    inside = False
    for index, line in enumerate(lines):
        if re.match(r"^(```|:::)\s*\{glossary\}", line):
            inside = True
            continue
        if inside and re.match(r"^(```|:::)\s*$", line):
            inside = False
            continue
        if not inside or not line.strip() or line[0].isspace():
            continue
        definition = next((x for x in lines[index + 1 :] if x.strip()), "").strip()
        head = re.split(r"\.(?:\s|$)", definition, maxsplit=1)[0]
        if not CJK.search(head):
            continue
        rejected = tuple(
            w for m in NOT_MARKER.findall(head) for w in _split_top_level(m) if w.strip()
        )
        head = NOT_MARKER.sub("", head)
        english = [t.strip() for t in line.split(",") if t.strip()]
        chinese = _split_top_level(head)
        if len(english) > 1 and len(english) == len(chinese):
            pairs = [(e, [c]) for e, c in zip(english, chinese)]
        else:
            pairs = [(e, chinese) for e in english]
        for eng, zh in pairs:
            forms = [v for c in zh for v in _variants(c)]
            if any(eng.lower() in f.lower() for f in forms):
                forms.append(eng)  # "bfloat16 (脑浮点)": the English name is itself a translation
            terms.append(Term(eng, tuple(dict.fromkeys(forms)), rejected))
    return terms


# ---------------------------------------------------------------------------------------------
# One rendering per term: the words the Chinese edition does not use


@dataclass(frozen=True)
class Rendering:
    """A word (``pattern``) the Chinese prose must not use, what to write instead, and where
    the rule comes from."""

    pattern: str
    preferred: str
    source: str

    def compiled(self) -> re.Pattern:
        return re.compile(self.pattern, re.IGNORECASE)


# The rules that are not a glossary term's Chinese: English left in Chinese prose and the words
# of the book's apparatus (exercises, answers). The glossary's "(not ...)" words are the others.
# An English word is accepted as a gloss in brackets right after the Chinese one:
# 单周期（one-cycle）, 单周期调度（one-cycle，Smith, 2018）. Code, math and link targets are never
# looked at, so `model.state_dict()` and {cite}`he2016deep` are fine.
HOUSE_STYLE = (
    Rendering(
        r"\bone[- ]cycle\b",
        "单周期",
        "book/glossary.md, one-cycle; as a gloss: 单周期（one-cycle）",
    ),
    Rendering(
        r"\bstate[- ]dicts?\b",
        "状态字典",
        "book/glossary.md, state dict; as a gloss: 状态字典（state dict）",
    ),
    Rendering(r"\bet\s+al\b\.?", "等人", "the Chinese convention: He 等人"),
    Rendering("评分标准", "评分要点", "the exercises' answers: 参考答案（评分要点）"),
    Rendering("范例答案", "参考答案", "the exercises' answers: 参考答案（评分要点）"),
    Rendering("打开答案", "展开答案", "the self-checks: 先在心里作答，再展开答案"),
)


def renderings(terms: list[Term]) -> list[Rendering]:
    """The words the Chinese edition does not use: the glossary's rejected ones, then
    HOUSE_STYLE."""
    found: dict[str, Rendering] = {}
    for term in terms:
        for word in term.rejected:
            preferred = "/".join(c for c in term.chinese if CJK.search(c))
            found.setdefault(
                word, Rendering(re.escape(word), preferred, f"book/glossary.md, {term.english}")
            )
    return list(found.values()) + list(HOUSE_STYLE)


def _is_gloss(text: str, start: int, preferred: str) -> bool:
    """Whether the word at ``start`` is in brackets opened right after ``preferred`` (at most
    four Chinese characters between them): a gloss, such as 单周期（one-cycle）."""
    word = re.escape(preferred.split()[0])
    return re.search(rf"{word}{CJK.pattern}{{0,4}}[(（][^()（）]*\Z", text[:start]) is not None


def rendering_problems(zh: str, rules: list[Rendering]) -> list[tuple[str, str]]:
    """("rendering", message) for each word of ``rules`` in the Chinese prose of ``zh`` (not in
    code, math or link targets, nor in the glossary page's own "（本书不用“...”）" notes)."""
    text = NOT_MARKER_ANY.sub(" ", prose(zh))
    found = []
    for rule in rules:
        english = not CJK.search(rule.pattern)
        words = [
            m.group(0)
            for m in rule.compiled().finditer(text)
            if not (english and _is_gloss(text, m.start(), rule.preferred))
        ]
        for word in dict.fromkeys(words):
            found.append(
                (
                    "rendering",
                    f"{word!r} is not the book's word: write {rule.preferred} ({rule.source})",
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# Checking one translated text against its English


FENCE = re.compile(r"^(`{3,}|~{3,})([^\n]*)\n.*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.DOTALL)
GLUE = re.compile(r"\{glue(?::[\w-]+)?\}`([^`]+)`")
ZH_GLUE = re.compile(r"_zh(?=:|$)")
LABEL = re.compile(r"^\(([^()\s]+)\)=[ \t]*$|^:label:[ \t]*(\S+)", re.MULTILINE)
DIRECTIVE = re.compile(r"^[ \t]*(?:`{3,}|~{3,}|:{3,})[ \t]*\{([\w:-]+)\}", re.MULTILINE)
DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$|\\begin\{(\w+\*?)\}.*?\\end\{\2\}", re.DOTALL)
INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\s)([^$\n]+?)(?<![\s\\])\$(?!\$)")
LINK_TARGET = re.compile(r"\]\([^)]*\)|<[^>\n]+>|https?://\S+")


DIRECTIVE_OPTION = re.compile(r"^[ \t]*:[\w-]+:.*$", re.MULTILINE)


def _code_free(text: str) -> str:
    """The text without code blocks (fences whose info string is not a MyST directive, or is a
    code directive) and without inline code. A directive's fence lines and options go, its
    title and body stay (so that inline code's pattern cannot take a whole ```{note} block);
    a ```{glossary}'s term lines, the English names the Chinese page keeps, go too."""

    def fence(m):
        info = m.group(2).strip()
        if not info.startswith("{") or info.startswith("{code"):
            return "\n"
        title = re.sub(r"^\{[^}]*\}", "", info)
        body = m.group(0).split("\n", 1)[1].rsplit("\n", 1)[0]
        if info.startswith("{glossary}"):
            body = "\n".join(line for line in body.split("\n") if line[:1] in ("", " ", "\t"))
        return f"\n{title}\n{FENCE.sub(fence, DIRECTIVE_OPTION.sub('', body))}\n"

    return INLINE_CODE.sub(" ", FENCE.sub(fence, text))


def formulas(text: str) -> list[str]:
    text = _code_free(text)
    found = [re.sub(r"\s+", " ", m.group(0)).strip() for m in DISPLAY_MATH.finditer(text)]
    text = DISPLAY_MATH.sub(" ", text)
    found += [re.sub(r"\s+", " ", m.group(0)).strip() for m in INLINE_MATH.finditer(text)]
    return found


def code_spans(text: str) -> list[str]:
    """Inline code (not roles such as {glue:text}`x`, which have their own check)."""
    text = FENCE.sub("\n", text)
    return [
        m.group(2).strip()
        for m in INLINE_CODE.finditer(text)
        if text[m.start() - 1 : m.start()] != "}" and m.group(2).strip()
    ]


def prose(text: str) -> str:
    """The prose in which glossary terms (English) and rejected renderings (Chinese) are looked
    for: no code, math or link targets."""
    text = DISPLAY_MATH.sub(" ", _code_free(text))
    return LINK_TARGET.sub(" ", INLINE_MATH.sub(" ", text))


def text_problems(
    en: str,
    zh: str,
    terms: list[Term],
    exempt: list[str] = (),
    directives: bool = True,
) -> list[tuple[str, str]]:
    """(kind, message) for each way ``zh`` fails to translate ``en`` faithfully: glue references
    and labels must be the same; every formula and code span of the English must be in the
    Chinese, unchanged; with ``directives``, the same MyST directives in the same order; each
    glossary term of the English prose (unless ``exempt``) needs one of its Chinese terms."""
    found: list[tuple[str, str]] = []
    for name, extract in (
        # a Chinese glue may name its English key with "_zh" appended (a sentence glued
        # in both languages, e.g. a verdict computed by resnet_utils.findings)
        ("glue reference", lambda t: {ZH_GLUE.sub("", g) for g in GLUE.findall(t)}),
        ("label", lambda t: {a or b for a, b in LABEL.findall(t)}),
    ):
        lost, extra = extract(en) - extract(zh), extract(zh) - extract(en)
        if lost:
            found.append(("structure", f"the translation lost the {name}(s) {sorted(lost)}"))
        if extra:
            found.append(("structure", f"the translation adds the {name}(s) {sorted(extra)}"))
    for name, extract in (("formula", formulas), ("code span", code_spans)):
        kept = {re.sub(r"\s+", " ", x) for x in extract(zh)}
        lost = [x for x in dict.fromkeys(extract(en)) if re.sub(r"\s+", " ", x) not in kept]
        if lost:
            found.append(
                ("structure", f"the {name}(s) {lost} of the English are not in the translation")
            )
    if directives and DIRECTIVE.findall(en) != DIRECTIVE.findall(zh):
        found.append(
            (
                "structure",
                f"the directives differ: English {DIRECTIVE.findall(en)}, "
                f"Chinese {DIRECTIVE.findall(zh)}",
            )
        )
    english_prose, chinese = prose(en), _normalise(zh)
    skip = {e.lower() for e in exempt}
    for term in terms:
        if term.english.lower() in skip or not term.pattern().search(english_prose):
            continue
        if not any(_normalise(form) in chinese for form in term.chinese):
            found.append(
                (
                    "glossary",
                    f"the English uses the glossary term {term.english!r}; the translation has "
                    f"none of {list(term.chinese)} (book/glossary.md; or list the term in this "
                    f"entry's 'glossary_exempt' if the English means something else)",
                )
            )
    return found


# ---------------------------------------------------------------------------------------------
# Notebooks: the Chinese notebook and its checks


def zh_notebook(en_nb, entries: dict[str, dict]):
    """A copy of ``en_nb`` whose markdown cells carry the Chinese of ``entries`` where an entry's
    hash matches the English cell; the others keep their English (``check`` reports them). Code
    cells, outputs and metadata stay."""
    nb = copy.deepcopy(en_nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            key, english = str(cell.get("id")), cell.source
        elif cell.cell_type == "code" and figure_alt(cell):
            key, english = f"{cell.get('id')}{ALT}", figure_alt(cell)
        else:
            continue
        entry = entries.get(key)
        if is_current(entry, english):
            if key.endswith(ALT):
                cell.metadata["mystnb"]["image"]["alt"] = entry["zh"]
            else:
                cell.source = entry["zh"]
    return nb


def code_differences(en_nb, zh_nb) -> list[tuple[str | None, str]]:
    """(cell id, message) wherever the Chinese notebook's cells are not the English ones: the
    same cells, ids and types in the same order, and code cells identical in source."""
    found = []
    if len(en_nb.cells) != len(zh_nb.cells):
        found.append((None, f"{len(zh_nb.cells)} cells, the English has {len(en_nb.cells)}"))
    for en, zh in zip(en_nb.cells, zh_nb.cells):
        cid = str(en.get("id"))
        if (en.get("id"), en.cell_type) != (zh.get("id"), zh.cell_type):
            found.append((cid, f"is {zh.cell_type} cell {zh.get('id')} in the Chinese notebook"))
        elif en.cell_type == "code" and en.source != zh.source:
            found.append((cid, "the Chinese notebook's code differs from the English"))
    return found


def notebook_problems(book: Book, source: str, terms: list[Term]) -> list[Problem]:
    nb = book.english(source)
    entries, problems = load_entries(book, source)
    cells = {str(c.get("id")): c for c in nb.cells}
    english = dict(markdown_cells(nb))
    for cell_id, text in english.items():
        if cell_id in ("None", ""):
            problems.append(Problem("invalid", source, None, "a markdown cell has no id"))
            continue
        entry = entries.get(cell_id)
        if entry is None or not entry.get("zh"):
            problems.append(Problem("missing", source, cell_id, "no translation"))
            continue
        if not is_current(entry, text):
            problems.append(
                Problem(
                    "stale",
                    source,
                    cell_id,
                    f"the English changed since it was translated (en_sha256 "
                    f"{entry['en_sha256'][:12]}..., now {sha256_text(text)[:12]}...)",
                )
            )
            continue
        found = text_problems(text, entry["zh"], terms, entry.get("glossary_exempt", []))
        if cell_id.endswith(ALT) and alt_fields(text) != alt_fields(entry["zh"]):
            found.append(
                (
                    "structure",
                    f"the figure description's glued values {sorted(alt_fields(entry['zh']))} "
                    f"are not the English's {sorted(alt_fields(text))}",
                )
            )
        for kind, message in found + rendering_problems(entry["zh"], renderings(terms)):
            problems.append(Problem(kind, source, cell_id, message))
    for cell_id in entries:
        if cell_id not in english:
            what = (
                f"is a {cells[cell_id].cell_type} cell"
                if cell_id in cells and cells[cell_id].cell_type != "markdown"
                else "is empty"
                if cell_id in cells
                else "no longer exists"
            )
            problems.append(
                Problem("orphan", source, cell_id, f"a translation of a cell that {what}")
            )
    for cell_id, message in code_differences(nb, zh_notebook(nb, entries)):
        problems.append(Problem("code", source, cell_id, message))
    return problems


def page_problems(book: Book, source: str, terms: list[Term]) -> list[Problem]:
    en = (book.root / source).read_text(encoding="utf-8")
    recorded, zh = read_page_translation(book, source)
    rel = book.translation_path(source).relative_to(book.root).as_posix()
    if zh is None:
        return [Problem("missing", source, None, f"no translation ({rel})")]
    if not recorded:
        return [Problem("invalid", source, None, f"{rel} must start with '% en_sha256: <hex>'")]
    if not is_current({"en_sha256": recorded, "zh": zh}, en):
        return [
            Problem(
                "stale",
                source,
                None,
                f"the English page changed since {rel} translated it (en_sha256 "
                f"{recorded[:12]}..., now {sha256_text(en)[:12]}...)",
            )
        ]
    body = HASH_LINE.sub("", zh, count=1)
    exempt = re.findall(r"^% glossary_exempt: (.+)$", zh, re.MULTILINE)
    exempt = [t.strip() for line in exempt for t in line.split(",")]
    return [
        Problem(kind, source, None, message)
        for kind, message in text_problems(en, body, terms, exempt, directives=False)
        + rendering_problems(body, renderings(terms))
    ]


def caption_problems(book: Book, terms: list[Term] = ()) -> list[Problem]:
    meta, problems = book.meta(), []
    captions = meta.get("captions") or {}
    if not meta.get("title"):
        problems.append(Problem("missing", "_toc.yml", None, "the book's Chinese title"))
    for text in [meta.get("title") or "", *captions.values()]:
        for kind, message in rendering_problems(str(text or ""), renderings(list(terms))):
            problems.append(Problem(kind, "_toc.yml", None, f"{text!r}: {message}"))
    for caption in book.captions():
        if not captions.get(caption):
            problems.append(Problem("missing", "_toc.yml", None, f"caption {caption!r}"))
    for caption in set(captions) - set(book.captions()):
        problems.append(
            Problem("orphan", "_toc.yml", None, f"a translated caption {caption!r} not in the toc")
        )
    return problems


def orphan_files(book: Book) -> list[Problem]:
    expected = {book.translation_path(s) for s in book.sources()} | {book.store / "book.yml"}
    found = []
    if book.store.is_dir():
        for path in sorted(book.store.rglob("*")):
            if path.is_file() and path not in expected:
                rel = path.relative_to(book.root).as_posix()
                found.append(Problem("orphan", rel, None, "translates nothing the toc lists"))
    return found


def all_problems(book: Book) -> list[Problem]:
    terms = parse_glossary(book.root / "book" / "glossary.md")
    problems = caption_problems(book, terms) + orphan_files(book)
    for source in book.sources():
        if source.endswith(".ipynb"):
            problems += notebook_problems(book, source, terms)
        else:
            problems += page_problems(book, source, terms)
    return problems


def failures(problems: list[Problem], allow_missing: bool) -> list[Problem]:
    return [p for p in problems if not (allow_missing and p.kind == "missing")]


# ---------------------------------------------------------------------------------------------
# The English execution's outputs


def executed_notebook(book: Book, source: str, nb=None):
    """The English notebook ``source`` (``nb``, when already read: it is changed) with the outputs
    of the English build, from the book's jupyter-cache (what ``execute_notebooks: cache`` reads
    and fills). Raises FileNotFoundError when it does not hold this notebook's current code."""
    nb = book.english(source) if nb is None else nb
    execute = book.config().get("execute", {})
    if execute.get("execute_notebooks") == "off":
        return nb  # the English book shows the outputs stored in the notebook: so does this one
    cache = execute.get("cache") or "_build/.jupyter_cache"
    cache = book.root / cache
    if (cache / "global.db").is_file():  # (get_cache would create an empty cache otherwise)
        from jupyter_cache import get_cache

        try:
            _, merged = get_cache(str(cache)).merge_match_into_notebook(nb)
        except KeyError:
            merged = None
        if merged is not None:
            for cell, done in zip(nb.cells, merged.cells):
                if cell.cell_type == "code":
                    cell.outputs = done.get("outputs", [])
                    cell.execution_count = done.get("execution_count")
            nb.metadata = merged.metadata
            return nb
    raise FileNotFoundError(
        f"{source}: no outputs of the English execution for its current code in {cache}: "
        "build the English book first (make book)"
    )


# ---------------------------------------------------------------------------------------------
# Building the Chinese book


def zh_config(book: Book) -> dict:
    """The Chinese book's _config.yml: the English one with the Chinese title, no execution,
    the Chinese interface, the switcher pointing back, and paths that work from _build/zh_src."""
    cfg = book.config()
    meta = book.meta()
    cfg["title"] = meta.get("title") or cfg.get("title", "")
    cfg.setdefault("execute", {})["execute_notebooks"] = "off"
    sphinx = cfg.setdefault("sphinx", {})
    extensions = sphinx.setdefault("local_extensions", {}) or {}
    sphinx["local_extensions"] = {k: str((book.root / v).resolve()) for k, v in extensions.items()}
    config = sphinx.setdefault("config", {}) or {}
    sphinx["config"] = config
    config.update(ZH_SPHINX_CONFIG)
    if "language_switch" not in sphinx["local_extensions"]:
        sphinx["local_extensions"]["language_switch"] = str(
            (book.root / "book" / "_ext").resolve()
        )
    static = config.get("html_static_path")
    if static:
        config["html_static_path"] = [str((book.root / p).resolve()) for p in static]
    return cfg


def zh_toc(book: Book) -> dict:
    captions = book.meta().get("captions") or {}
    toc = copy.deepcopy(book.toc())
    for node in toc_entries(toc):
        for key in ("caption", "title"):
            if isinstance(node.get(key), str):
                node[key] = captions.get(node[key]) or node[key]
    return toc


@dataclass
class Prepared:
    cells: int = 0
    cells_translated: int = 0
    pages: int = 0
    pages_translated: int = 0


def prepare_sources(book: Book, out: Path) -> Prepared:
    """Write the Chinese book's sources into ``out`` (emptied first). Pieces without an
    up-to-date translation keep their English (the caller has decided that is acceptable)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    counts = Prepared()
    # Everything beside the sources (images, included files, bibliography), then the sources.
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "_build", ".pytest_cache")
    for top in sorted({s.split("/")[0] for s in book.sources() if "/" in s}):
        shutil.copytree(book.root / top, out / top, ignore=ignore, dirs_exist_ok=True)
    for source in book.sources():
        target = out / source
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.endswith(".ipynb"):
            english_nb = book.english(source)  # read once
            en = executed_notebook(book, source, copy.deepcopy(english_nb))
            entries, _ = load_entries(book, source)
            zh = zh_notebook(en, entries)
            english = dict(markdown_cells(english_nb))
            counts.cells += len(english)
            counts.cells_translated += sum(
                is_current(entries.get(cid), text) for cid, text in english.items()
            )
            nbformat.write(zh, target)
            differences = code_differences(english_nb, zh)
            if differences:
                raise RuntimeError(f"{source}: the Chinese notebook's code: {differences}")
        else:
            en = (book.root / source).read_text(encoding="utf-8")
            recorded, zh = read_page_translation(book, source)
            counts.pages += 1
            if is_current({"en_sha256": recorded, "zh": zh}, en):
                counts.pages_translated += 1
                target.write_text(zh, encoding="utf-8")
            else:
                target.write_text(en, encoding="utf-8")
    # Sphinx's Chinese search splits the text into words with jieba; with the glossary's Chinese
    # terms in its dictionary, a search for 残差块 finds the pages that use it (and 残差 still does).
    words = sorted(
        {
            form.replace(" ", "")
            for term in parse_glossary(book.root / "book" / "glossary.md")
            for form in term.chinese
            if CJK.search(form) and not re.search(r"[()（）:：]", form)
        }
    )
    (out / "jieba_dict.txt").write_text("".join(f"{w}\n" for w in words), encoding="utf-8")
    config = zh_config(book)
    config["sphinx"]["config"]["html_search_options"] = {"dict": str(out / "jieba_dict.txt")}
    (out / "_config.yml").write_text(
        "# Written by tools/zh_book.py from the English _config.yml: do not edit.\n"
        + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    (out / "_toc.yml").write_text(
        "# Written by tools/zh_book.py from the English _toc.yml: do not edit.\n"
        + yaml.safe_dump(zh_toc(book), allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return counts


def jupyter_book_command() -> list[str]:
    local = Path(sys.executable).with_name("jupyter-book")
    return [str(local) if local.is_file() else "jupyter-book"]


def search_has_chinese(html: Path) -> bool:
    """Whether the Sphinx search index of the book at ``html`` holds Chinese words."""
    index = html / "searchindex.js"
    if not index.is_file():
        return False
    text = index.read_text(encoding="utf-8").strip()
    try:
        data = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    except ValueError:
        return False
    return any(CJK.search(term) for term in data.get("terms", {}))


def run_jupyter_book(src: Path, flags) -> int:
    """``jupyter-book build src *flags``; its log is shown only when it fails: on success its
    last lines would point the reader at an internal folder (``_build/zh_src/_build/html``)."""
    result = subprocess.run(
        [*jupyter_book_command(), "build", str(src), *flags],
        cwd=src,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    if result.returncode != 0:
        print(result.stdout[-20000:], file=sys.stderr)
    return result.returncode


def build(
    book: Book,
    allow_missing: bool = False,
    src: Path | None = None,
    html: Path | None = None,
    flags: tuple[str, ...] = ("--all", "--warningiserror", "--nitpick", "--keep-going"),
) -> int:
    start = time.perf_counter()
    bad = failures(all_problems(book), allow_missing)
    if bad:
        report(bad, "The Chinese book cannot be built")
        if all(p.kind == "missing" for p in bad):
            print("(--allow-missing builds it with the English where no translation exists)")
        return 1
    src = src or book.root / "_build" / "zh_src"
    html = html or book.root / "_build" / "html" / book.lang
    try:
        counts = prepare_sources(book, src)
    except FileNotFoundError as err:
        print(f"zh_book build: {err}", file=sys.stderr)
        return 1
    returncode = run_jupyter_book(src, flags)
    if returncode != 0:
        print("zh_book build: Jupyter Book failed on the Chinese sources", file=sys.stderr)
        return returncode
    built = src / "_build" / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.copytree(built, html)
    translated = counts.cells_translated + counts.pages_translated
    if translated and not search_has_chinese(html):
        print(
            f"zh_book build: {html / 'searchindex.js'} holds no Chinese word: is jieba "
            "installed (requirements.txt)?",
            file=sys.stderr,
        )
        return 1
    print(
        f"中文版: {html / 'index.html'} in {time.perf_counter() - start:.0f} s; translated: "
        f"{counts.cells_translated} of {counts.cells} notebook cells, "
        f"{counts.pages_translated} of {counts.pages} pages"
    )
    return 0


# ---------------------------------------------------------------------------------------------
# Command line


def report(problems: list[Problem], headline: str) -> None:
    print(f"{headline}: {len(problems)} problem(s)", file=sys.stderr)
    for problem in problems:
        print(f"  {problem}", file=sys.stderr)


def status(book: Book, show: bool = False) -> int:
    """Print, per notebook and page, what is missing or stale (and orphans); 1 if anything."""
    problems = [
        p for p in all_problems(book) if p.kind in ("missing", "stale", "orphan", "invalid")
    ]
    by_source: dict[str, list[Problem]] = {}
    for problem in problems:
        by_source.setdefault(problem.source, []).append(problem)
    for source, found in by_source.items():
        kinds = {k: sum(p.kind == k for p in found) for k in ("missing", "stale", "orphan")}
        summary = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
        print(f"{source}: {len(found)} to do ({summary})")
        english = dict(markdown_cells(book.english(source))) if source.endswith(".ipynb") else {}
        for p in found:
            print(f"  {p.kind:8} " + (f"cell {p.cell}: " if p.cell else "") + p.message)
            if show and p.cell in english:
                print("    | " + english[p.cell].replace("\n", "\n    | "))
    cells = sum(1 for p in problems if p.cell is not None)
    pages = sum(1 for p in problems if p.cell is None and p.source.endswith(".md"))
    captions = sum(1 for p in problems if p.source == "_toc.yml")
    print(
        f"{len(problems)} to translate: {cells} notebook cells, {pages} pages, "
        f"{captions} toc captions/title"
        if problems
        else "The Chinese edition is up to date."
    )
    return 1 if problems else 0


def check(book: Book, allow_missing: bool = False) -> int:
    problems = all_problems(book)
    bad = failures(problems, allow_missing)
    missing = len(problems) - len(bad)
    if bad:
        report(bad, "The Chinese edition is behind or wrong (tools/zh_book.py status lists it)")
        return 1
    note = f" ({missing} pieces not translated yet: allowed by --allow-missing)" if missing else ""
    print(f"zh_book check: the Chinese translations match the English{note}")
    return 0


def record(book: Book, source: str, cell_id: str | None, zh: str) -> Path:
    """Store ``zh`` as the translation of ``source`` (a cell of it for a notebook), recording
    the hash of the English it translates now; returns the file written."""
    path = book.translation_path(source)
    path.parent.mkdir(parents=True, exist_ok=True)
    en_path = book.root / source
    if source.endswith(".ipynb"):
        english = dict(markdown_cells(book.english(source)))
        if cell_id not in english:
            raise ValueError(f"{source} has no non-empty markdown cell with id {cell_id!r}")
        entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        entries[cell_id] = {**entries.get(cell_id, {}), "en_sha256": sha256_text(english[cell_id])}
        entries[cell_id]["zh"] = zh
        order = list(english) + [k for k in entries if k not in english]
        entries = {k: entries[k] for k in order if k in entries}
        path.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        if cell_id is not None:
            raise ValueError("a page is translated whole: give no cell id")
        body = HASH_LINE.sub("", zh, count=1)
        digest = sha256_text(en_path.read_text(encoding="utf-8"))
        path.write_text(f"% en_sha256: {digest}\n{body}", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the English book's folder")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("status", help="what needs translating (exit 1 if anything)")
    p.add_argument("--show", action="store_true", help="print the English of each cell to do")
    p = sub.add_parser("check", help="fail on stale, missing or wrong translations")
    p.add_argument("--allow-missing", action="store_true", help="tolerate untranslated pieces")
    p = sub.add_parser("build", help="build the Chinese book into _build/html/zh")
    p.add_argument("--allow-missing", action="store_true", help="English where untranslated")
    p.add_argument("--src", type=Path, help="where to write the sources (_build/zh_src)")
    p.add_argument("--html", type=Path, help="where the HTML goes (_build/html/zh)")
    p = sub.add_parser("set", help="record a translation read from stdin (with today's hash)")
    p.add_argument("source", help="notebooks/NN_x.ipynb or book/page.md")
    p.add_argument("cell_id", nargs="?", help="the markdown cell's id (notebooks only)")
    args = parser.parse_args(argv)
    book = Book(args.root.resolve())
    try:
        book.sources()
    except (OSError, yaml.YAMLError) as err:
        print(f"zh_book: {err}", file=sys.stderr)
        return 1
    if args.command == "status":
        return status(book, args.show)
    if args.command == "check":
        return check(book, args.allow_missing)
    if args.command == "build":
        return build(book, args.allow_missing, args.src, args.html)
    path = record(book, args.source, args.cell_id, sys.stdin.read())
    print(f"recorded in {path.relative_to(book.root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
