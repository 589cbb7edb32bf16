"""Neu.ro's expression syntax, token for token: its tokenizer and its grammar (neuro-flow's
``tokenizer.py`` and ``expr.py`` parser), producing Python ``ast`` nodes for ``expr``'s compiler.

Names are ``[A-Za-z][A-Za-z_0-9]*``: Python keywords (``from``, ``class``, ``if``) are ordinary
names, attributes and keys. Binary operators and ``not`` are operators only when a space or tab
follows them; ``None``/``True``/``False`` are literals even as the start of a longer word, as
upstream, but the grammar matches operators by their text, so ``not(x)`` and ``a and(b)`` are
valid. The grammar is a PEG (ordered choice with backtracking), like funcparserlib's.
"""

from __future__ import annotations

import ast as pyast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

MAX_DEPTH = 100  # nested brackets/parentheses/operators in one expression

_TOKENS = [
    ("LTMPL", r"\$\{\{"), ("RTMPL", r"\}\}"), ("LTMPL2", r"\$\[\["), ("RTMPL2", r"\]\]"),
    ("SPACE", r"[ \t]+"), ("NONE", r"None"), ("BOOL", r"True|False"),
    ("REAL", r"-?[0-9]+\.[0-9]*([Ee][+\-]?[0-9]+)*"),
    ("EXP", r"-?[0-9]+\.[0-9]*([Ee][+\-]?[0-9]+)*[+\-]?e[0-9]+"),
    ("HEX", r"0[xX][0-9a-fA-F_]+"), ("OCT", r"0[oO][0-7_]+"), ("BIN", r"0[bB][0-1_]+"),
    ("INT", r"-?[0-9][0-9_]*"), ("STR", r"'[^']*'|\"[^\"]*\""),
    ("OP", r"(==|!=|or|and|<=|<|>=|>|\||\+|-|\*|/|%)(?=[ \t])"),
    ("UNARY_OP", r"(not)(?=[ \t])"), ("NAME", r"[A-Za-z][A-Za-z_0-9]*"),
    ("DOT", r"\."), ("COMMA", r","), ("COLON", r":"), ("LPAR", r"\("), ("RPAR", r"\)"),
    ("LSQB", r"\["), ("RSQB", r"\]"), ("LBRACE", r"\{"), ("RBRACE", r"\}"),
]
_TOKENS_RE = re.compile("|".join(f"(?P<{typ}>{rx})" for typ, rx in _TOKENS))
_OPEN_RE = re.compile(r"\$\{\{|\$\[\[")
_OPERATOR_RE = re.compile(r"==|!=|<=|>=|or|and|not|[<>|+\-*/%]")
_LITERALS = {"NONE", "BOOL", "REAL", "EXP", "HEX", "OCT", "BIN", "INT", "STR"}
_CMP_OPS: dict[str, type[pyast.cmpop]] = {
    "==": pyast.Eq, "!=": pyast.NotEq, "<": pyast.Lt, "<=": pyast.LtE, ">": pyast.Gt,
    ">=": pyast.GtE}
_ARITH_OPS: dict[str, type[pyast.operator]] = {
    "+": pyast.Add, "-": pyast.Sub, "*": pyast.Mult, "/": pyast.Div, "%": pyast.Mod,
    "|": pyast.BitOr}


class SyntaxFailure(Exception):
    """A tokenizer or grammar error at ``offset`` of the text given."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


@dataclass(frozen=True)
class Token:
    type: str
    value: str
    start: int
    end: int


def _lex_error(text: str, at: int) -> NoReturn:
    """The clearest reason no token starts at ``text[at]``."""
    c = text[at]
    op = _OPERATOR_RE.match(text, at)
    if op is not None and c in "=!<>|+-*/%":
        raise SyntaxFailure(f"operator '{op.group()}' must be followed by a space", at)
    if c == "_":
        word = re.match(r"\w+", text[at:])
        raise SyntaxFailure(f"name '{word.group() if word else c}' is not allowed (names "
                            "start with a letter)", at)
    if c in "\r\n":
        raise SyntaxFailure("an expression cannot continue on the next line", at)
    if c in "'\"":
        raise SyntaxFailure(f"string opened with {c} is not closed", at)
    raise SyntaxFailure(f"unexpected character {c!r} in expression", at)


def next_token(text: str, at: int) -> Token:
    """The token that starts at ``text[at]`` (spaces are a token too)."""
    m = _TOKENS_RE.match(text, at)
    if m is None or not m.group():
        _lex_error(text, at)
    assert m.lastgroup is not None
    return Token(m.lastgroup, m.group(), at, m.end())


def tokenize(text: str) -> list[Token]:
    """The tokens of one expression's text, spaces left out."""
    out = []
    i = 0
    while i < len(text):
        tok = next_token(text, i)
        if tok.type != "SPACE":
            out.append(tok)
        i = tok.end
    return out


def split_template(text: str) -> tuple[list[str | tuple[str, int, int]], str | None, int]:
    """Split a scalar as neuro-flow's tokenizer does: only ``${{`` and ``$[[`` open an
    expression; inside one, the first ``}}`` or ``]]`` token closes it (quoted strings are
    tokens, so closers inside them do not). Returns the parts (text, or (source, start of the
    opener, start of the source)), and an error message and offset, if any."""
    parts: list[str | tuple[str, int, int]] = []
    i = 0
    n = len(text)
    while i < n:
        m = _OPEN_RE.search(text, i)
        if m is None:
            parts.append(text[i:])
            break
        if m.start() > i:
            parts.append(text[i:m.start()])
        closer = "}}" if m.group() == "${{" else "]]"
        j = m.end()
        while True:
            if j >= n:
                return parts, (f"expression opened with '{m.group()}' is not closed with "
                               f"'{closer}'"), m.start()
            try:
                tok = next_token(text, j)
            except SyntaxFailure as exc:
                return parts, exc.message, exc.offset
            if tok.type in ("RTMPL", "RTMPL2"):
                if tok.value != closer:
                    return parts, (f"expression opened with '{m.group()}' is closed with "
                                   f"'{tok.value}'"), tok.start
                break
            j = tok.end
        parts.append((text[m.end():tok.start], m.start(), m.end()))
        i = tok.end
    return parts, None, 0


class _Backtrack(Exception):
    pass


def _node(cls: Callable[..., Any], tok: Token, end: int, **fields: Any) -> Any:
    return cls(**fields, lineno=1, col_offset=tok.start, end_lineno=1, end_col_offset=end)


class _Parser:
    """Recursive descent over neuro-flow's grammar; every alternative is tried in its order."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.toks = tokens
        self.pos = 0
        self.depth = 0
        self.far = -1  # furthest token index where something was expected
        self.far_hint = ""

    # ---- helpers

    def peek(self) -> Token | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def note(self, pos: int, hint: str = "") -> None:
        """Remember the furthest token where parsing could not go on (for the message)."""
        if pos > self.far or (pos == self.far and hint and not self.far_hint):
            self.far, self.far_hint = pos, hint

    def fail(self, hint: str = "") -> NoReturn:
        self.note(self.pos, hint)
        raise _Backtrack

    def value(self, value: str) -> Token:
        tok = self.peek()
        if tok is None or tok.value != value:
            self.fail()
        self.pos += 1
        return tok

    def kind(self, *types: str) -> Token:
        tok = self.peek()
        if tok is None or tok.type not in types:
            self.fail()
        self.pos += 1
        return tok

    def at(self, value: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.value == value

    def attempt(self, rule: Callable[[], Any]) -> Any:
        """Run ``rule``; on failure, rewind and return None (one PEG alternative)."""
        saved = self.pos
        try:
            return rule()
        except _Backtrack:
            self.pos = saved
            return None

    # ---- grammar

    def expr(self) -> pyast.expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SyntaxFailure("expression is too deeply nested", self._offset())
        try:
            first = self.disjunction()
            if self.at("if"):
                tail = self.attempt(self._ternary_tail)
                if tail is not None:
                    cond, orelse = tail
                    return pyast.IfExp(test=cond, body=first, orelse=orelse, lineno=1,
                                       col_offset=first.col_offset, end_lineno=1,
                                       end_col_offset=orelse.end_col_offset)
            return first
        finally:
            self.depth -= 1

    def _ternary_tail(self) -> tuple[pyast.expr, pyast.expr]:
        self.value("if")
        cond = self.disjunction()
        self.value("else")
        return cond, self.expr()

    def _binary(self, operand: Callable[[], pyast.expr], ops: set[str],
                make: Callable[[str, pyast.expr, pyast.expr], pyast.expr]) -> pyast.expr:
        """``operand (op operand)*``, left-associative. Operators match by their text, as
        upstream's ``a("and")`` does (``x and(y)`` is valid); a trailing operator whose operand
        does not parse is left for the caller, as its ``maybe(...)`` does."""
        left = operand()
        while True:
            tok = self.peek()
            if tok is None or tok.value not in ops:
                return left
            right = self.attempt(lambda: self._operand_after(operand))
            if right is None:
                return left
            left = make(tok.value, left, right)

    def _operand_after(self, operand: Callable[[], pyast.expr]) -> pyast.expr:
        self.pos += 1
        return operand()

    @staticmethod
    def _span(node: Any, left: pyast.expr, right: pyast.expr) -> Any:
        node.lineno = node.end_lineno = 1
        node.col_offset, node.end_col_offset = left.col_offset, right.end_col_offset
        return node

    def disjunction(self) -> pyast.expr:
        return self._binary(self.conjunction, {"or"}, lambda op, a, b: self._span(
            pyast.BoolOp(op=pyast.Or(), values=[a, b]), a, b))

    def conjunction(self) -> pyast.expr:
        return self._binary(self.inversion, {"and"}, lambda op, a, b: self._span(
            pyast.BoolOp(op=pyast.And(), values=[a, b]), a, b))

    def inversion(self) -> pyast.expr:
        tok = self.peek()
        if tok is not None and tok.value == "not":
            operand = self.attempt(lambda: self._operand_after(self.inversion))
            if operand is not None:
                return _node(pyast.UnaryOp, tok, operand.end_col_offset or 0, op=pyast.Not(),
                             operand=operand)
        return self.comparison()

    def comparison(self) -> pyast.expr:
        return self._binary(self.bitwise_or, set(_CMP_OPS), lambda op, a, b: self._span(
            pyast.Compare(left=a, ops=[_CMP_OPS[op]()], comparators=[b]), a, b))

    def _arith(self, operand: Callable[[], pyast.expr], ops: set[str]) -> pyast.expr:
        return self._binary(operand, ops, lambda op, a, b: self._span(
            pyast.BinOp(left=a, op=_ARITH_OPS[op](), right=b), a, b))

    def bitwise_or(self) -> pyast.expr:
        return self._arith(self.sum, {"|"})

    def sum(self) -> pyast.expr:
        return self._arith(self.term, {"+", "-"})

    def term(self) -> pyast.expr:
        return self._arith(self.factor, {"*", "/", "%"})

    def factor(self) -> pyast.expr:
        tok = self.peek()
        if tok is not None and tok.value in ("+", "-"):
            operand = self.attempt(lambda: self._operand_after(self.factor))
            if operand is not None:
                op = pyast.UAdd() if tok.value == "+" else pyast.USub()
                return _node(pyast.UnaryOp, tok, operand.end_col_offset or 0, op=op,
                             operand=operand)
        return self.atom_expr()

    def atom_expr(self) -> pyast.expr:
        tok = self.peek()
        if tok is None:
            self.fail()
        if tok.type == "LPAR":
            self.pos += 1
            inner = self.expr()
            self.value(")")
            return self._no_trailer(inner)
        if tok.type in _LITERALS:
            self.pos += 1
            return self._no_trailer(self._literal(tok))
        if tok.type == "LSQB":
            return self._no_trailer(self.list_maker())
        if tok.type == "LBRACE":
            return self._no_trailer(self.dict_maker())
        if tok.type == "NAME":
            call = self.attempt(self.func_call)
            if call is not None:
                return call
            self.pos += 1
            return self.trailer(_node(pyast.Name, tok, tok.end, id=tok.value,
                                      ctx=pyast.Load()))
        self.fail()

    def _no_trailer(self, node: pyast.expr) -> pyast.expr:
        tok = self.peek()
        if tok is not None and tok.type in ("DOT", "LSQB"):
            self.fail("a literal or a parenthesized expression cannot be indexed or have attributes")
        return node

    def _literal(self, tok: Token) -> pyast.expr:
        try:
            value = pyast.literal_eval(tok.value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            raise SyntaxFailure(f"invalid literal {tok.value}", tok.start) from None
        return _node(pyast.Constant, tok, tok.end, value=value)

    def func_call(self) -> pyast.expr:
        name = self.kind("NAME")
        self.value("(")
        args: list[pyast.expr] = []
        if not self.at(")"):
            args.append(self.expr())
            while self.at(","):
                self.pos += 1
                args.append(self.expr())
        close = self.value(")")
        func = _node(pyast.Name, name, name.end, id=name.value, ctx=pyast.Load())
        call = _node(pyast.Call, name, close.end, func=func, args=args, keywords=[])
        return self.trailer(call)

    def trailer(self, node: pyast.expr) -> pyast.expr:
        while True:
            tok = self.peek()
            if tok is not None and tok.type == "DOT":
                saved = self.pos
                self.pos += 1
                nxt = self.peek()
                if nxt is None or nxt.type != "NAME":
                    self.note(self.pos, "" if nxt is None else
                              f"'{nxt.value}' cannot be a name here (an operator followed by a "
                              "space, or a literal)" if nxt.type in ("OP", "UNARY_OP", "NONE",
                                                                      "BOOL") else "")
                    self.pos = saved
                    return node
                self.pos += 1
                node = pyast.Attribute(value=node, attr=nxt.value, ctx=pyast.Load(), lineno=1,
                                       col_offset=node.col_offset, end_lineno=1,
                                       end_col_offset=nxt.end)
            elif tok is not None and tok.type == "LSQB":
                saved = self.pos
                key = self.attempt(self._item)
                if key is None:
                    self.pos = saved
                    return node
                node = pyast.Subscript(value=node, slice=key, ctx=pyast.Load(), lineno=1,
                                       col_offset=node.col_offset, end_lineno=1,
                                       end_col_offset=self.toks[self.pos - 1].end)
            else:
                return node

    def _item(self) -> pyast.expr:
        self.value("[")
        key = self.expr()
        self.value("]")
        return key

    def list_maker(self) -> pyast.expr:
        open_tok = self.peek()
        assert open_tok is not None
        for rule in (self._list_items, self._list_comp, self._empty_list):
            node = self.attempt(rule)
            if node is not None:
                node.col_offset, node.lineno, node.end_lineno = open_tok.start, 1, 1
                node.end_col_offset = self.toks[self.pos - 1].end
                return node
        self.fail()

    def _list_items(self) -> pyast.expr:
        self.value("[")
        items = [self.expr()]
        while self.at(","):
            self.pos += 1
            if self.at("]"):
                break
            items.append(self.expr())
        self.value("]")
        return pyast.List(elts=items, ctx=pyast.Load())

    def _list_comp(self) -> pyast.expr:
        self.value("[")
        elt = self.expr()
        self.value("for")
        var = self.kind("NAME")
        self.value("in")
        seq = self.expr()
        ifs: list[pyast.expr] = []
        if self.at("if"):
            self.pos += 1
            ifs.append(self.expr())
        self.value("]")
        target = _node(pyast.Name, var, var.end, id=var.value, ctx=pyast.Store())
        return pyast.ListComp(elt=elt, generators=[pyast.comprehension(
            target=target, iter=seq, ifs=ifs, is_async=0)])

    def _empty_list(self) -> pyast.expr:
        self.value("[")
        self.value("]")
        return pyast.List(elts=[], ctx=pyast.Load())

    def dict_maker(self) -> pyast.expr:
        open_tok = self.value("{")
        keys: list[pyast.expr | None] = []
        values: list[pyast.expr] = []
        if not self.at("}"):
            while True:
                keys.append(self.expr())
                self.value(":")
                values.append(self.expr())
                if not self.at(","):
                    break
                self.pos += 1
                if self.at("}"):
                    break
        close = self.value("}")
        return _node(pyast.Dict, open_tok, close.end, keys=keys, values=values)

    def _offset(self) -> int:
        tok = self.peek()
        return tok.start if tok is not None else len(self.text.rstrip())


def parse(text: str) -> pyast.expr:
    """The AST of one expression's text (between the delimiters); raises SyntaxFailure."""
    tokens = tokenize(text)
    if not tokens:
        raise SyntaxFailure("empty expression", 0)
    parser = _Parser(text, tokens)
    try:
        node = parser.expr()
        if parser.pos == len(tokens):
            return node
        parser.fail()
    except _Backtrack:
        pass
    except RecursionError:
        raise SyntaxFailure("expression is too deeply nested", 0) from None
    raise _syntax_error(text, tokens, parser.far, parser.far_hint)


def _syntax_error(text: str, tokens: list[Token], far: int, hint: str) -> SyntaxFailure:
    shown = text.strip()
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    if far >= len(tokens):
        return SyntaxFailure(f"invalid expression syntax in '{shown}': unexpected end of "
                             "expression", len(text.rstrip()))
    tok = tokens[max(far, 0)]
    if hint:
        return SyntaxFailure(hint, tok.start)
    if tok.type == "NAME" and tok.value in ("and", "or", "not"):
        return SyntaxFailure(f"operator '{tok.value}' must be followed by a space", tok.start)
    return SyntaxFailure(f"invalid expression syntax in '{shown}': unexpected '{tok.value}'",
                         tok.start)
