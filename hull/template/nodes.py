"""The parse tree of a Go template.

Each node knows where it starts in the source (for error messages) and prints
itself the way Go's parse package prints nodes, because execution errors quote the
failing node: ``executing "" at <.Foo.Bar>: ...``.
"""

from __future__ import annotations


class Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class ListNode(Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[Node] = []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text

    def __str__(self) -> str:
        return self.text


class FieldNode(Node):
    """``.A.B``: a chain of field names looked up on dot."""

    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        super().__init__(pos)
        self.idents = idents

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


class VariableNode(Node):
    """``$x`` or ``$x.A.B``; ``idents[0]`` is the variable's name including ``$``."""

    __slots__ = ("idents",)

    def __init__(self, pos: int, idents: list[str]) -> None:
        super().__init__(pos)
        self.idents = idents

    def __str__(self) -> str:
        return ".".join(self.idents)


class DotNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "."


class NilNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "nil"


class IdentifierNode(Node):
    """A function name."""

    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name

    def __str__(self) -> str:
        return self.name


class BoolNode(Node):
    __slots__ = ("value",)

    def __init__(self, pos: int, value: bool) -> None:
        super().__init__(pos)
        self.value = value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class NumberNode(Node):
    __slots__ = ("text", "value")

    def __init__(self, pos: int, value: int | float, text: str) -> None:
        super().__init__(pos)
        self.value = value
        self.text = text

    def __str__(self) -> str:
        return self.text


class StringNode(Node):
    __slots__ = ("quoted", "value")

    def __init__(self, pos: int, value: str, quoted: str) -> None:
        super().__init__(pos)
        self.value = value
        self.quoted = quoted

    def __str__(self) -> str:
        return self.quoted


class PipeNode(Node):
    """``[$x :=] cmd | cmd | ...``."""

    __slots__ = ("cmds", "decl", "is_assign")

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.decl: list[VariableNode] = []
        self.is_assign = False
        self.cmds: list[CommandNode] = []

    def __str__(self) -> str:
        out = ""
        if self.decl:
            out = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return out + " | ".join(str(c) for c in self.cmds)


class CommandNode(Node):
    """One pipeline stage: an operand, or a function or method and its arguments."""

    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[Node] = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


class ChainNode(Node):
    """``(pipeline).A.B``: fields looked up on the value of another operand."""

    __slots__ = ("fields", "node")

    def __init__(self, pos: int, node: Node) -> None:
        super().__init__(pos)
        self.node = node
        self.fields: list[str] = []

    def __str__(self) -> str:
        base = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return base + "".join("." + f for f in self.fields)


class ActionNode(Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: PipeNode) -> None:
        super().__init__(pos)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class BranchNode(Node):
    """Shared shape of ``if``, ``with`` and ``range``."""

    __slots__ = ("else_list", "list", "pipe")
    keyword = ""

    def __init__(self, pos: int, pipe: PipeNode, body: ListNode,
                 else_list: ListNode | None) -> None:
        super().__init__(pos)
        self.pipe = pipe
        self.list = body
        self.else_list = else_list

    def __str__(self) -> str:
        out = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            out += "{{else}}" + str(self.else_list)
        return out + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class BreakNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    __slots__ = ()

    def __str__(self) -> str:
        return "{{continue}}"


class TemplateNode(Node):
    """``{{template "name" pipeline}}``."""

    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: PipeNode | None) -> None:
        super().__init__(pos)
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        arg = f" {self.pipe}" if self.pipe is not None else ""
        return "{{template " + '"' + self.name + '"' + arg + "}}"


class EndNode(Node):
    """``{{end}}``: only seen by the parser, never in a finished tree."""

    __slots__ = ()

    def __str__(self) -> str:
        return "{{end}}"


class ElseNode(Node):
    """``{{else}}``: only seen by the parser, never in a finished tree."""

    __slots__ = ()

    def __str__(self) -> str:
        return "{{else}}"
