"""The text of HTML fragments, translated with the markup kept (LibreTranslate's `format: html`).

Read with the standard library's HTML parser (`html.parser`, as lenient as a browser; no regular
expression touches the markup). Every token keeps its exact source, so whatever is not
translated comes back unchanged: tags with their attributes, comments, doctype, character
references in untranslated text, the content of `<script>` and `<style>`.

What is translated, in units that keep sentences whole:
- A *run*: text and inline elements (`<b>`, `<a>`, `<span>`, ...) between two boundaries (any
  other tag: `<p>`, `<li>`, `<td>`, `<br>`, `<img>`, ...; a comment). It is translated as one
  text, its whitespace collapsed (kept as is inside `<pre>` and `<textarea>`), its leading and
  trailing whitespace kept around the translation. Inline tags that open or close a run (a `<b>`
  around a whole paragraph) stay outside it.
- An inline element inside a run is put back around its own text's translation, found in the
  run's translation: "The <b>small</b> dog" -> "El perro <b>pequeño</b>" when "small" alone
  translates to "pequeño". When one cannot be found (or the tags do not nest), that run is
  translated text node by text node instead: every tag stays, at the cost of context.
- Not translated: `<script>`, `<style>`, `<template>`, `<svg>`, `<math>`, elements marked
  `translate="no"` or `class="notranslate"`, and texts without a letter.
- Translations are written back with `&`, `<` and `>` escaped.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from html.parser import HTMLParser

INLINE_TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font",
    "i", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike", "strong",
    "sub", "sup", "time", "tt", "u", "var",
})
VOID_TAGS = frozenset({
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
    "source", "track", "wbr",
})
UNTRANSLATED_TAGS = frozenset({"script", "style", "template", "svg", "math"})
PREFORMATTED_TAGS = frozenset({"pre", "textarea"})
# Inline elements nested deeper than this in a run are translated text node by text node: each
# level is one more text to translate.
MAX_INLINE_DEPTH = 3
_TRAILING_PUNCTUATION = ".!?;:,。"

Translate = Callable[[list[str]], Awaitable[list[str]]]


class HtmlError(ValueError):
    """The parser gave up on the markup (e.g. a malformed `<![...` section)."""


class _Kind(Enum):
    TEXT = "text"
    OPEN = "open"  # a start tag that may have content (not void, not self-closing)
    CLOSE = "close"
    OTHER = "other"  # void or self-closing tag, comment, doctype, processing instruction


@dataclass
class _Token:
    kind: _Kind
    start: int
    tag: str = ""
    text: str = ""  # a text's characters (references resolved)
    skip: bool = False  # an element whose content is not translated
    raw: str = ""  # the exact source


class _Tokenizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[_Token] = []
        self._line_starts = [0]

    def tokenize(self, source: str) -> list[_Token]:
        self._line_starts += [i + 1 for i, c in enumerate(source) if c == "\n"]
        try:
            self.feed(source)
            self.close()
        except AssertionError as exc:  # how html.parser reports markup it cannot read
            raise HtmlError(str(exc)) from exc
        tokens = self.tokens
        if not tokens or tokens[0].start > 0:
            tokens.insert(0, _Token(_Kind.OTHER, 0))
        # Each token's source runs to the next one's start: nothing is lost, even what the
        # parser drops (the content of an unterminated <script>, say).
        for token, after in zip(tokens, [*(t.start for t in tokens[1:]), len(source)], strict=True):
            token.raw = source[token.start : after]
            if token.kind is _Kind.TEXT and html.unescape(token.raw) != token.text:
                token.kind = _Kind.OTHER  # holds more than the text: keep it as it is
        return tokens

    def _add(self, kind: _Kind, tag: str = "", text: str = "", skip: bool = False) -> None:
        line, column = self.getpos()
        start = self._line_starts[line - 1] + column
        if kind is _Kind.TEXT and self.tokens and self.tokens[-1].kind is _Kind.TEXT:
            self.tokens[-1].text += text  # the parser may report one text in pieces
            return
        self.tokens.append(_Token(kind, start, tag, text, skip))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_TAGS:
            self._add(_Kind.OTHER, tag)
            return
        values = dict(attrs)
        skip = (
            tag in UNTRANSLATED_TAGS
            or (values.get("translate") or "").strip().lower() == "no"
            or "notranslate" in (values.get("class") or "").split()
        )
        self._add(_Kind.OPEN, tag, skip=skip)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(_Kind.OTHER, tag)

    def handle_endtag(self, tag: str) -> None:
        self._add(_Kind.CLOSE, tag)

    def handle_data(self, data: str) -> None:
        self._add(_Kind.TEXT, text=data)

    def handle_comment(self, data: str) -> None:
        self._add(_Kind.OTHER)

    def handle_decl(self, decl: str) -> None:
        self._add(_Kind.OTHER)

    def handle_pi(self, data: str) -> None:
        self._add(_Kind.OTHER)

    def unknown_decl(self, data: str) -> None:
        self._add(_Kind.OTHER)


@dataclass
class _Element:
    """An inline element inside a run: its tags and what it holds (text token indexes and
    elements)."""

    open: int
    close: int = -1
    children: list[int | _Element] = field(default_factory=list)
    text: str = ""
    unit: int | None = None  # its text's index among the fragment's texts to translate


@dataclass
class _Run:
    start: int  # token indexes [start, end): from its first to its last text with a letter
    end: int
    preformatted: bool
    children: list[int | _Element] | None  # None: translated text node by text node
    text: str = ""
    unit: int = -1
    rendered: str | None = None
    node_units: dict[int, int] = field(default_factory=dict)  # text token -> fallback text


class HtmlFragment:
    """One HTML fragment: `texts()` to translate, `place()` their translations (which returns
    the texts the runs that could not be placed need), `render()` with those."""

    def __init__(self, source: str) -> None:
        self.tokens = _Tokenizer().tokenize(source)
        self.runs = _runs(self.tokens)
        self._texts: list[str] = []
        for run in self.runs:
            run.text = _unit_text(self._text_of(run.start, run.end), run.preformatted)
            run.unit = self._unit(run.text)
            if run.children is not None:
                self._number(run.children, run.preformatted)

    def texts(self) -> list[str]:
        """What to translate first: each run's text, then the text of each inline element."""
        return list(self._texts)

    def plain_text(self) -> str:
        return "\n".join(run.text for run in self.runs)

    def place(self, translations: Sequence[str]) -> list[str]:
        """Put the translations of `texts()` in place; return the texts of the text nodes of
        runs whose inline elements could not be placed, for `render`."""
        fallback: list[str] = []
        for run in self.runs:
            translated = translations[run.unit].strip()
            pieces = _place(run.children, translated, translations, self.tokens) if (
                run.children is not None
            ) else None
            if pieces is not None:
                first, last = self.tokens[run.start].text, self.tokens[run.end - 1].text
                run.rendered = _leading(first) + "".join(pieces) + _trailing(last)
                continue
            for index in range(run.start, run.end):
                token = self.tokens[index]
                if token.kind is _Kind.TEXT and _has_letters(token.text):
                    run.node_units[index] = len(fallback)
                    fallback.append(_unit_text(token.text, run.preformatted))
        return fallback

    def render(self, fallback: Sequence[str] = ()) -> str:
        out: list[str] = []
        runs = {run.start: run for run in self.runs}
        index = 0
        while index < len(self.tokens):
            run = runs.get(index)
            if run is None:
                out.append(self.tokens[index].raw)
                index += 1
                continue
            if run.rendered is not None:
                out.append(run.rendered)
            else:
                for at in range(run.start, run.end):
                    token = self.tokens[at]
                    unit = run.node_units.get(at)
                    out.append(
                        token.raw if unit is None else _leading(token.text)
                        + html.escape(fallback[unit].strip(), quote=False)
                        + _trailing(token.text)
                    )
            index = run.end
        return "".join(out)

    def _unit(self, text: str) -> int:
        self._texts.append(text)
        return len(self._texts) - 1

    def _text_of(self, start: int, end: int) -> str:
        return "".join(
            token.text for token in self.tokens[start:end] if token.kind is _Kind.TEXT
        )

    def _number(self, children: list[int | _Element], preformatted: bool) -> None:
        for child in children:
            if isinstance(child, _Element):
                child.text = _unit_text(self._text_of(child.open, child.close), preformatted)
                if _has_letters(child.text):
                    child.unit = self._unit(child.text)
                self._number(child.children, preformatted)


async def translate_fragments(fragments: Sequence[HtmlFragment], translate: Translate) -> list[str]:
    """Translate every fragment: one round for the runs and inline elements of all of them,
    and a second only if some run falls back to its text nodes."""
    counts = [len(fragment.texts()) for fragment in fragments]
    first = [text for fragment in fragments for text in fragment.texts()]
    translated = await translate(first) if first else []
    fallbacks, start = [], 0
    for fragment, count in zip(fragments, counts, strict=True):
        fallbacks.append(fragment.place(translated[start : start + count]))
        start += count
    second = [text for texts in fallbacks for text in texts]
    retranslated = await translate(second) if second else []
    rendered, start = [], 0
    for fragment, texts in zip(fragments, fallbacks, strict=True):
        rendered.append(fragment.render(retranslated[start : start + len(texts)]))
        start += len(texts)
    return rendered


def _runs(tokens: list[_Token]) -> list[_Run]:
    """The runs of a token list, outside untranslated elements."""
    runs: list[_Run] = []
    current: list[int] = []
    skipping: list[str] = []  # open untranslated elements (their tags)
    preformatted = 0

    def close_run() -> None:
        letters = [i for i in current if tokens[i].kind is _Kind.TEXT
                   and _has_letters(tokens[i].text)]
        if letters:
            start, end = _core(tokens, current[0], current[-1] + 1, letters[0], letters[-1] + 1)
            runs.append(_Run(start, end, preformatted > 0, _nest(tokens, start, end)))
        current.clear()

    for index, token in enumerate(tokens):
        if skipping:
            if token.kind is _Kind.OPEN and token.tag == skipping[-1]:
                skipping.append(token.tag)
            elif token.kind is _Kind.CLOSE and token.tag == skipping[-1]:
                skipping.pop()
            continue
        if token.kind is _Kind.TEXT or (
            token.kind in (_Kind.OPEN, _Kind.CLOSE) and token.tag in INLINE_TAGS
            and not token.skip
        ):
            current.append(index)
            continue
        close_run()
        if token.kind is _Kind.OPEN and token.skip:
            skipping.append(token.tag)
        elif token.tag in PREFORMATTED_TAGS and token.kind is _Kind.OPEN:
            preformatted += 1
        elif token.tag in PREFORMATTED_TAGS and token.kind is _Kind.CLOSE:
            preformatted = max(0, preformatted - 1)
    close_run()
    return runs


def _core(tokens: list[_Token], low: int, high: int, start: int, end: int) -> tuple[int, int]:
    """The part of run [low, high) to translate: from its first to its last text with a letter
    [start, end), widened to the tags of the elements that begin or end inside it; tags around
    it all (a <b> around the whole run) stay outside."""
    pairs = []
    stack: list[int] = []
    for index in range(low, high):
        token = tokens[index]
        if token.kind is _Kind.OPEN:
            stack.append(index)
        elif token.kind is _Kind.CLOSE:
            tags = [tokens[i].tag for i in stack]
            if token.tag in tags:
                depth = len(tags) - 1 - tags[::-1].index(token.tag)
                pairs.append((stack[depth], index))
                del stack[depth:]
    changed = True
    while changed:
        changed = False
        for opened, closed in pairs:
            if opened < start <= closed < end:
                start, changed = opened, True
            if start <= opened < end <= closed:
                end, changed = closed + 1, True
    return start, end


def _nest(tokens: list[_Token], start: int, end: int) -> list[int | _Element] | None:
    """The run's texts and inline elements as a tree; None when its tags do not nest or nest
    deeper than `MAX_INLINE_DEPTH`."""
    root: list[int | _Element] = []
    stack: list[_Element] = []
    for index in range(start, end):
        token = tokens[index]
        if token.kind is _Kind.TEXT:
            (stack[-1].children if stack else root).append(index)
        elif token.kind is _Kind.OPEN:
            if len(stack) == MAX_INLINE_DEPTH:
                return None
            element = _Element(index)
            (stack[-1].children if stack else root).append(element)
            stack.append(element)
        elif not stack or tokens[stack[-1].open].tag != token.tag:
            return None
        else:
            stack.pop().close = index
    return None if stack else root


def _place(
    children: list[int | _Element], translated: str, translations: Sequence[str],
    tokens: list[_Token],
) -> list[str] | None:
    """`translated` (escaped) with each inline element's tags around its own translation,
    found in order; None if one is not found."""
    pieces: list[str] = []
    cursor = 0
    for child in children:
        if isinstance(child, int):
            continue  # a text: the translation covers it
        if not child.text:  # nothing to find (an empty anchor): it stays where it was
            pieces.extend(token.raw for token in tokens[child.open : child.close + 1])
            continue
        wanted = translations[child.unit].strip() if child.unit is not None else child.text
        found = _find(translated, wanted, cursor)
        if found is None:
            return None
        at, length = found
        inner = _place(child.children, translated[at : at + length], translations, tokens)
        if inner is None:
            return None
        pieces.append(html.escape(translated[cursor:at], quote=False))
        pieces.append(tokens[child.open].raw)
        pieces.extend(inner)
        pieces.append(tokens[child.close].raw)
        cursor = at + length
    pieces.append(html.escape(translated[cursor:], quote=False))
    return pieces


def _find(haystack: str, needle: str, start: int) -> tuple[int, int] | None:
    """Where `needle` (or it without trailing punctuation) is in `haystack` from `start`:
    exactly, else ignoring case."""
    for candidate in dict.fromkeys((needle, needle.rstrip(_TRAILING_PUNCTUATION))):
        if not candidate:
            continue
        at = haystack.find(candidate, start)
        if at < 0 and len(haystack.lower()) == len(haystack) and len(
            candidate.lower()
        ) == len(candidate):
            at = haystack.lower().find(candidate.lower(), start)
        if at >= 0:
            return at, len(candidate)
    return None


def _unit_text(text: str, preformatted: bool) -> str:
    return text.strip() if preformatted else " ".join(text.split())


def _has_letters(text: str) -> bool:
    return any(c.isalpha() for c in text)


def _leading(text: str) -> str:
    return text[: len(text) - len(text.lstrip())]


def _trailing(text: str) -> str:
    return text[len(text.rstrip()) :]
