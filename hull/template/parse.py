"""Parser for Go's text/template: tokens in, a tree of nodes out.

Mirrors Go's parse package: the same grammar, the same variable scoping checks at
parse time (``undefined variable "$x"``), the same check that functions exist, and the
same error wording (``template: NAME:LINE: MSG``).
"""

from __future__ import annotations

from hull.template import lex
from hull.template.errors import TemplateError
from hull.template.lex import Token
from hull.template.nodes import (
    ActionNode,
    BoolNode,
    BranchNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
    ElseNode,
    EndNode,
    FieldNode,
    IdentifierNode,
    IfNode,
    ListNode,
    NilNode,
    Node,
    NumberNode,
    PipeNode,
    RangeNode,
    StringNode,
    TemplateNode,
    TextNode,
    VariableNode,
    WithNode,
)

_OPERAND_START = frozenset((
    lex.BOOL, lex.CHAR_CONSTANT, lex.DOT, lex.FIELD, lex.IDENTIFIER, lex.NUMBER, lex.NIL,
    lex.RAW_STRING, lex.STRING, lex.VARIABLE, lex.LEFT_PAREN,
))
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\", "'": "'", '"': '"'}


class Tree:
    """A parsed template: its main body and the templates it defines."""

    __slots__ = ("defines", "name", "root", "text")

    def __init__(self, name: str, text: str, root: ListNode,
                 defines: dict[str, ListNode]) -> None:
        self.name = name
        self.text = text
        self.root = root
        self.defines = defines


def parse(text: str, func_names: frozenset[str] | set[str], name: str = "") -> Tree:
    """Parse ``text``; raise TemplateError with Go's message on bad syntax."""
    return _Parser(text, func_names, name).parse()


class _Parser:
    def __init__(self, text: str, func_names: frozenset[str] | set[str], name: str) -> None:
        self.text = text
        self.name = name
        self.func_names = func_names
        self.tokens = lex.tokenize(text)
        self.index = 0
        self.vars: list[str] = ["$"]
        self.range_depth = 0
        self.defines: dict[str, ListNode] = {}

    # -- token access ---------------------------------------------------------------

    def next(self) -> Token:
        # the last token (EOF or ERROR) repeats forever, so backing up stays symmetric
        token = self.tokens[min(self.index, len(self.tokens) - 1)]
        self.index += 1
        return token

    def backup(self, count: int = 1) -> None:
        self.index -= count

    def peek(self) -> Token:
        return self.tokens[min(self.index, len(self.tokens) - 1)]

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind == lex.SPACE:
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.backup()
        return token

    def error(self, message: str, token: Token | None = None) -> TemplateError:
        if token is None:
            token = self.tokens[min(max(self.index - 1, 0), len(self.tokens) - 1)]
        line = token.line
        return TemplateError(f"template: {self.name}:{line}: {message}")

    def unexpected(self, token: Token, context: str) -> TemplateError:
        if token.kind == lex.ERROR:
            return self.error(token.value, token)
        return self.error(f"unexpected {token.describe()} in {context}", token)

    def expect(self, kind: str, context: str) -> Token:
        token = self.next_non_space()
        if token.kind != kind:
            raise self.unexpected(token, context)
        return token

    # -- structure ------------------------------------------------------------------

    def parse(self) -> Tree:
        root = ListNode(self.peek().pos)
        while self.peek().kind != lex.EOF:
            if self.peek().kind == lex.LEFT:
                self.next()
                keyword = self.next_non_space()
                if keyword.kind == lex.KEYWORD and keyword.value == "define":
                    self.parse_definition()
                    continue
                self.index = self._rewind_to_left()
            node = self.text_or_action()
            if isinstance(node, EndNode | ElseNode):
                raise self.error(f"unexpected {node}")
            root.nodes.append(node)
        return Tree(self.name, self.text, root, self.defines)

    def _rewind_to_left(self) -> int:
        i = self.index - 1
        while self.tokens[i].kind != lex.LEFT:
            i -= 1
        return i

    def parse_definition(self) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.kind not in (lex.STRING, lex.RAW_STRING):
            raise self.unexpected(token, context)
        name = self.unquote(token)
        self.expect(lex.RIGHT, context)
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, EndNode):
            raise self.error(f"unexpected {end} in {context}")
        self.defines[name] = body

    def item_list(self) -> tuple[ListNode, Node]:
        body = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().kind != lex.EOF:
            node = self.text_or_action()
            if isinstance(node, EndNode | ElseNode):
                return body, node
            body.nodes.append(node)
        token = self.peek()
        if token.kind == lex.ERROR:
            raise self.unexpected(token, "input")
        raise self.error("unexpected EOF", token)

    def text_or_action(self) -> Node:
        token = self.next_non_space()
        if token.kind == lex.TEXT:
            return TextNode(token.pos, token.value)
        if token.kind == lex.LEFT:
            return self.action()
        raise self.unexpected(token, "input")

    def action(self) -> Node:
        token = self.next_non_space()
        if token.kind == lex.KEYWORD:
            keyword = token.value
            if keyword == "if":
                return self.branch(IfNode, "if", token)
            if keyword == "range":
                return self.branch(RangeNode, "range", token)
            if keyword == "with":
                return self.branch(WithNode, "with", token)
            if keyword == "end":
                self.expect(lex.RIGHT, "end")
                return EndNode(token.pos)
            if keyword == "else":
                return self.else_control(token)
            if keyword in ("break", "continue"):
                self.expect(lex.RIGHT, keyword)
                if not self.range_depth:
                    raise self.error(f"{{{{{keyword}}}}} outside {{{{range}}}}", token)
                return BreakNode(token.pos) if keyword == "break" else ContinueNode(token.pos)
            if keyword == "template":
                return self.template_control(token)
            if keyword == "block":
                return self.block_control(token)
        self.backup()
        start = self.peek_non_space()
        return ActionNode(start.pos, self.pipeline("command", lex.RIGHT))

    def else_control(self, token: Token) -> Node:
        following = self.peek_non_space()
        if following.kind == lex.KEYWORD and following.value in ("if", "with"):
            # "{{else if ...}}" is "{{else}}{{if ...}}" sharing the outer {{end}}
            return ElseNode(following.pos)
        self.expect(lex.RIGHT, "else")
        return ElseNode(token.pos)

    def branch(self, cls: type[BranchNode], context: str, token: Token) -> BranchNode:
        saved = len(self.vars)
        pipe = self.pipeline(context, lex.RIGHT)
        if context == "range":
            self.range_depth += 1
        body, end = self.item_list()
        if context == "range":
            self.range_depth -= 1
        else_list: ListNode | None = None
        if isinstance(end, ElseNode):
            following = self.peek()
            if context in ("if", "with") and following.kind == lex.KEYWORD and (
                    following.value == context):
                keyword = self.next()
                else_list = ListNode(end.pos)
                else_list.nodes.append(self.branch(cls, context, keyword))
            else:
                if context == "range":
                    # {{break}} and {{continue}} do not belong to the else branch
                    saved_depth, self.range_depth = self.range_depth, 0
                    else_list, end = self.item_list()
                    self.range_depth = saved_depth
                else:
                    else_list, end = self.item_list()
                if not isinstance(end, EndNode):
                    raise self.error(f"expected end; found {end}")
        del self.vars[saved:]
        return cls(token.pos, pipe, body, else_list)

    def template_control(self, token: Token) -> TemplateNode:
        context = "template clause"
        name_token = self.next_non_space()
        if name_token.kind not in (lex.STRING, lex.RAW_STRING):
            raise self.unexpected(name_token, context)
        name = self.unquote(name_token)
        pipe = None
        if self.next_non_space().kind != lex.RIGHT:
            self.backup()
            pipe = self.pipeline(context, lex.RIGHT)
        return TemplateNode(name_token.pos, name, pipe)

    def block_control(self, token: Token) -> TemplateNode:
        context = "block clause"
        name_token = self.next_non_space()
        if name_token.kind not in (lex.STRING, lex.RAW_STRING):
            raise self.unexpected(name_token, context)
        name = self.unquote(name_token)
        pipe = self.pipeline(context, lex.RIGHT)
        saved_vars, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved_vars
        if not isinstance(end, EndNode):
            raise self.error(f"unexpected {end} in {context}")
        self.defines[name] = body
        return TemplateNode(name_token.pos, name, pipe)

    # -- pipelines ------------------------------------------------------------------

    def pipeline(self, context: str, end: str) -> PipeNode:
        token = self.peek_non_space()
        pipe = PipeNode(token.pos)
        self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.kind == end:
                self.check_pipeline(pipe, context, token)
                return pipe
            if token.kind in _OPERAND_START:
                self.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def declarations(self, pipe: PipeNode, context: str) -> None:
        """``$x :=``, ``$x =`` and, in range, ``$i, $e :=`` (Go's "decls" loop)."""
        while True:
            start = self.index
            token = self.next_non_space()
            if token.kind != lex.VARIABLE:
                self.index = start
                return
            following = self.next_non_space()
            if following.kind in (lex.ASSIGN, lex.DECLARE):
                pipe.is_assign = following.kind == lex.ASSIGN
                pipe.decl.append(VariableNode(token.pos, [token.value]))
                self.vars.append(token.value)
                return
            if not (following.kind == lex.CHAR and following.value == ","):
                self.index = start
                return
            pipe.decl.append(VariableNode(token.pos, [token.value]))
            self.vars.append(token.value)
            if context == "range" and len(pipe.decl) < 2:
                if self.peek_non_space().kind in (lex.VARIABLE, lex.RIGHT, lex.RIGHT_PAREN):
                    continue
                raise self.error("range can only initialize variables", following)
            raise self.error(f"too many declarations in {context}", following)

    def check_pipeline(self, pipe: PipeNode, context: str, token: Token) -> None:
        if not pipe.cmds:
            raise self.error(f"missing value for {context}", token)
        for i, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], BoolNode | DotNode | NilNode | NumberNode | StringNode):
                raise self.error(f"non executable command in pipeline stage {i}", token)

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.kind == lex.SPACE:
                continue
            if token.kind in (lex.RIGHT, lex.RIGHT_PAREN):
                self.backup()
            elif token.kind != lex.PIPE:
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.error("empty command", token)
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == lex.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().kind == lex.FIELD:
                chain.fields.append(self.next().value[1:])
            # like Go, a merged field or variable chain is located at its second part
            if isinstance(node, FieldNode):
                return FieldNode(chain.pos, node.idents + chain.fields)
            if isinstance(node, VariableNode):
                return VariableNode(chain.pos, node.idents + chain.fields)
            if isinstance(node, BoolNode | StringNode | NumberNode | NilNode | DotNode):
                raise self.error(f"unexpected . after term {lex.quote_go(str(node))}")
            return chain
        return node

    def term(self) -> Node | None:
        token = self.next_non_space()
        kind = token.kind
        if kind == lex.IDENTIFIER:
            if token.value not in self.func_names:
                raise self.error(f'function "{token.value}" not defined', token)
            return IdentifierNode(token.pos, token.value)
        if kind == lex.DOT:
            return DotNode(token.pos)
        if kind == lex.NIL:
            return NilNode(token.pos)
        if kind == lex.VARIABLE:
            if token.value not in self.vars:
                raise self.error(f'undefined variable "{token.value}"', token)
            return VariableNode(token.pos, [token.value])
        if kind == lex.FIELD:
            return FieldNode(token.pos, [token.value[1:]])
        if kind == lex.BOOL:
            return BoolNode(token.pos, token.value == "true")
        if kind in (lex.NUMBER, lex.CHAR_CONSTANT):
            return NumberNode(token.pos, self.number(token), token.value)
        if kind == lex.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", lex.RIGHT_PAREN)
        if kind in (lex.STRING, lex.RAW_STRING):
            return StringNode(token.pos, self.unquote(token), token.value)
        if kind == lex.ERROR:
            raise self.unexpected(token, "operand")
        self.backup()
        return None

    # -- literals -------------------------------------------------------------------

    def number(self, token: Token) -> int | float:
        text = token.value
        if token.kind == lex.CHAR_CONSTANT:
            value = self.unescape(token, text[1:-1], "'")
            if len(value) != 1:
                raise self.error(f"malformed character constant: {text}", token)
            return ord(value)
        if text.endswith("i"):
            raise self.error(f"complex numbers are not supported: {text}", token)
        is_hex = text.lstrip("+-")[:2] in ("0x", "0X")
        try:
            if not is_hex and any(c in text for c in ".eEpP"):
                return float(text.replace("_", ""))
            body = text.lstrip("+-")
            sign = -1 if text.startswith("-") else 1
            if len(body) > 1 and body[0] == "0" and body[1].isdigit():
                return sign * int(body, 8)
            return sign * int(body, 0)
        except ValueError:
            raise self.error(f'illegal number syntax: "{text}"', token)

    def unquote(self, token: Token) -> str:
        text = token.value
        if token.kind == lex.RAW_STRING:
            return text[1:-1].replace("\r", "")
        return self.unescape(token, text[1:-1], '"')

    def unescape(self, token: Token, body: str, quote: str) -> str:
        """Go's string escapes: \\n, \\t, \\x41, \\101, \\u00e9, \\U0001F600, ..."""
        if "\\" not in body:
            return body
        out = bytearray()
        i = 0
        n = len(body)
        while i < n:
            ch = body[i]
            if ch != "\\":
                out += ch.encode()
                i += 1
                continue
            if i + 1 >= n:
                raise self.error("invalid syntax", token)
            esc = body[i + 1]
            if esc in _SIMPLE_ESCAPES and (esc not in "'\"" or esc == quote):
                out += _SIMPLE_ESCAPES[esc].encode()
                i += 2
            elif esc in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[esc]
                digits = body[i + 2:i + 2 + width]
                if len(digits) != width or digits.strip("0123456789abcdefABCDEF"):
                    raise self.error("invalid syntax", token)
                code = int(digits, 16)
                if esc == "x":
                    out.append(code)
                else:
                    if code > 0x10FFFF or 0xD800 <= code < 0xE000:
                        raise self.error("invalid syntax", token)
                    out += chr(code).encode()
                i += 2 + width
            elif esc in "01234567":
                digits = body[i + 1:i + 4]
                if len(digits) != 3 or digits.strip("01234567") or int(digits, 8) > 255:
                    raise self.error("invalid syntax", token)
                out.append(int(digits, 8))
                i += 4
            else:
                raise self.error("invalid syntax", token)
        return out.decode("utf-8", errors="replace")
