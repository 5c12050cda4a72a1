"""Execution of a parsed Go template against Python data.

Dot resolution works on the shapes the engine hands to templates: a dict key first
(a missing key is Go's "no value"), then an attribute or property, then a method
(called with the template's arguments).  Semantics follow Go's text/template:
truthiness, variable scoping, ``range`` over lists, sorted dicts and ints, ``break``
and ``continue``, short-circuit ``and``/``or``, and its error messages with the
``template: NAME:LINE:COL: executing "NAME" at <NODE>:`` prefix.
"""

from __future__ import annotations

from hull.template.errors import TemplateError
from hull.template.funcs import Func
from hull.template.gofmt import MISSING, format_value, go_type, sort_keys
from hull.template.nodes import (
    ActionNode,
    BoolNode,
    BreakNode,
    ChainNode,
    CommandNode,
    ContinueNode,
    DotNode,
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
from hull.template.parse import Tree

MAX_DEPTH = 100
# values of these exact types have no template-visible fields (a str subclass may)
_BUILTIN_TYPES = frozenset((str, int, float, bool, list, tuple, bytes, bytearray, set, frozenset))


class _NoFinal:
    """Marks "no value piped in from a previous pipeline stage"."""

    __slots__ = ()


NO_FINAL = _NoFinal()
_ABSENT = object()


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class State:
    """One execution: output buffer, variable stack and the node being evaluated."""

    __slots__ = ("depth", "funcs", "name", "node", "out", "text", "tree", "vars")

    def __init__(self, tree: Tree, funcs: dict[str, Func], out: list[str], dot: object) -> None:
        self.tree = tree
        self.text = tree.text
        self.name = tree.name
        self.funcs = funcs
        self.out = out
        self.vars: list[list] = [["$", dot]]
        self.node: Node | None = None
        self.depth = 0

    # -- errors ---------------------------------------------------------------------

    def error(self, message: str) -> TemplateError:
        node = self.node
        name = self.name
        if node is None:
            return TemplateError(f"template: {name}: {message}")
        before = self.text[:node.pos]
        line = before.count("\n") + 1
        column = len(before[before.rfind("\n") + 1:].encode())
        return TemplateError(
            f'template: {self.tree.name}:{line}:{column}: executing "{name}" at <{node}>: '
            f"{message}")

    # -- statements -----------------------------------------------------------------

    def walk(self, dot: object, node: Node) -> None:
        kind = type(node)
        if kind is TextNode:
            self.out.append(node.text)  # type: ignore[attr-defined]
        elif kind is ActionNode:
            pipe = node.pipe  # type: ignore[attr-defined]
            value = self.eval_pipeline(dot, pipe)
            if not pipe.decl:
                self.node = node
                self.out.append(self.printable(value))
        elif kind is ListNode:
            for child in node.nodes:  # type: ignore[attr-defined]
                self.walk(dot, child)
        elif kind is IfNode or kind is WithNode:
            self.walk_if_or_with(dot, node, kind is WithNode)  # type: ignore[arg-type]
        elif kind is RangeNode:
            self.walk_range(dot, node)  # type: ignore[arg-type]
        elif kind is BreakNode:
            raise _Break
        elif kind is ContinueNode:
            raise _Continue
        elif kind is TemplateNode:
            self.walk_template(dot, node)  # type: ignore[arg-type]
        else:
            self.node = node
            raise self.error(f"unknown node: {node}")

    def printable(self, value: object) -> str:
        return format_value(value)

    def walk_if_or_with(self, dot: object, node: IfNode | WithNode, is_with: bool) -> None:
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        if truth(value):
            self.walk(value if is_with else dot, node.list)
        elif node.else_list is not None:
            self.walk(dot, node.else_list)
        del self.vars[mark:]

    def walk_range(self, dot: object, node: RangeNode) -> None:
        self.node = node
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        items = self.range_items(value, len(node.pipe.decl))
        body_mark = len(self.vars)
        decl = node.pipe.decl
        try:
            if items:
                for index, element in items:
                    if decl:
                        if node.pipe.is_assign:
                            if len(decl) > 1:
                                self.set_var(decl[0].idents[0], index)
                                self.set_var(decl[1].idents[0], element)
                            else:
                                self.set_var(decl[0].idents[0], element)
                        else:
                            self.vars[body_mark - 1][1] = element
                            if len(decl) > 1:
                                self.vars[body_mark - 2][1] = index
                    try:
                        self.walk(element, node.list)
                    except _Continue:
                        pass
                    finally:
                        del self.vars[body_mark:]
            elif node.else_list is not None:
                self.walk(dot, node.else_list)
        except _Break:
            pass
        finally:
            del self.vars[mark:]

    def range_items(self, value: object, declared: int) -> list[tuple[object, object]]:
        if value is MISSING or value is None:
            return []
        if isinstance(value, list | tuple):
            return list(enumerate(value))
        if isinstance(value, dict):
            return [(k, value[k]) for k in sort_keys(value)]
        if isinstance(value, int) and not isinstance(value, bool):
            if declared > 1:
                raise self.error(f"can't use {value} to iterate over more than one variable")
            return [(i, i) for i in range(value)]
        if isinstance(value, str | bytes | bool | float) or not hasattr(value, "__iter__"):
            raise self.error(f"range can't iterate over {format_value(value)}")
        return list(enumerate(value))  # type: ignore[call-overload]

    def walk_template(self, dot: object, node: TemplateNode) -> None:
        self.node = node
        body = self.tree.defines.get(node.name)
        if body is None:
            raise self.error(f'template "{node.name}" not defined')
        if self.depth >= MAX_DEPTH:
            raise self.error(f"exceeded maximum template depth ({MAX_DEPTH})")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else None
        saved = (self.vars, self.name)
        self.vars = [["$", new_dot]]
        self.name = node.name
        self.depth += 1
        try:
            self.walk(new_dot, body)
        finally:
            self.vars, self.name = saved
            self.depth -= 1

    # -- variables ------------------------------------------------------------------

    def var_value(self, name: str) -> object:
        for entry in reversed(self.vars):
            if entry[0] == name:
                return entry[1]
        raise self.error(f"undefined variable: {name}")

    def set_var(self, name: str, value: object) -> None:
        for entry in reversed(self.vars):
            if entry[0] == name:
                entry[1] = value
                return
        raise self.error(f"undefined variable: {name}")

    # -- expressions ----------------------------------------------------------------

    def eval_pipeline(self, dot: object, pipe: PipeNode) -> object:
        self.node = pipe
        value: object = NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.idents[0], value)
            else:
                self.vars.append([variable.idents[0], value])
        return value

    def eval_command(self, dot: object, cmd: CommandNode, final: object) -> object:
        first = cmd.args[0]
        kind = type(first)
        if kind is FieldNode:
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.idents, cmd.args, final)  # type: ignore[attr-defined]
        if kind is ChainNode:
            return self.eval_chain(dot, first, cmd.args, final)  # type: ignore[arg-type]
        if kind is IdentifierNode:
            return self.eval_function(dot, first, cmd, cmd.args, final)  # type: ignore[arg-type]
        if kind is PipeNode:
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)  # type: ignore[arg-type]
        if kind is VariableNode:
            return self.eval_variable(dot, first, cmd.args, final)  # type: ignore[arg-type]
        self.node = first
        self.not_a_function(cmd.args, final)
        if kind is DotNode:
            return dot
        if kind is NilNode:
            raise self.error("nil is not a command")
        if kind is BoolNode or kind is NumberNode or kind is StringNode:
            return first.value  # type: ignore[attr-defined]
        raise self.error(f"can't evaluate command {first}")

    def not_a_function(self, args: list[Node], final: object) -> None:
        if len(args) > 1 or final is not NO_FINAL:
            raise self.error(f"can't give argument to non-function {args[0]}")

    def eval_arg(self, dot: object, node: Node) -> object:
        self.node = node
        kind = type(node)
        if kind is DotNode:
            return dot
        if kind is NilNode:
            return None
        if kind is FieldNode:
            return self.eval_field_chain(dot, dot, node, node.idents, [node], NO_FINAL)  # type: ignore[attr-defined]
        if kind is VariableNode:
            return self.eval_variable(dot, node, [node], NO_FINAL)  # type: ignore[arg-type]
        if kind is PipeNode:
            return self.eval_pipeline(dot, node)  # type: ignore[arg-type]
        if kind is IdentifierNode:
            return self.eval_function(dot, node, node, [node], NO_FINAL)  # type: ignore[arg-type]
        if kind is ChainNode:
            return self.eval_chain(dot, node, [node], NO_FINAL)  # type: ignore[arg-type]
        return node.value  # type: ignore[attr-defined]

    def eval_variable(self, dot: object, node: VariableNode, args: list[Node],
                      final: object) -> object:
        self.node = node
        value = self.var_value(node.idents[0])
        if len(node.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, node, node.idents[1:], args, final)

    def eval_chain(self, dot: object, chain: ChainNode, args: list[Node], final: object) -> object:
        self.node = chain
        if isinstance(chain.node, NilNode):
            raise self.error(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, chain.node)
        return self.eval_field_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_field_chain(self, dot: object, receiver: object, node: Node, idents: list[str],
                         args: list[Node], final: object) -> object:
        last = len(idents) - 1
        for i, name in enumerate(idents):
            if i < last:
                receiver = self.eval_field(dot, name, node, None, NO_FINAL, receiver)
            else:
                receiver = self.eval_field(dot, name, node, args, final, receiver)
        return receiver

    def eval_field(self, dot: object, name: str, node: Node, args: list[Node] | None,
                   final: object, receiver: object) -> object:
        if receiver is MISSING:
            return MISSING
        if receiver is None:
            raise self.error(f"nil pointer evaluating interface {{}}.{name}")
        has_args = (args is not None and len(args) > 1) or final is not NO_FINAL
        if isinstance(receiver, dict):
            if has_args:
                raise self.error(f"{name} is not a method but has arguments")
            return receiver.get(name, MISSING)
        if type(receiver) in _BUILTIN_TYPES or name.startswith("_"):
            raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}")
        try:
            attr = getattr(receiver, name, _ABSENT)
        except Exception as e:  # a property that failed: Go's method returning an error
            raise self.error(f"error calling {name}: {e}")
        if attr is _ABSENT:
            if hasattr(receiver, "keys") and hasattr(receiver, "__getitem__"):
                if has_args:
                    raise self.error(f"{name} is not a method but has arguments")
                try:
                    return receiver[name]  # type: ignore[index]
                except KeyError:
                    return MISSING
            raise self.error(f"can't evaluate field {name} in type {go_type(receiver)}")
        if callable(attr) and not isinstance(attr, type):
            return self.eval_call(dot, Func(attr), node, name, args or [node], final)
        if has_args:
            raise self.error(f"{name} has arguments but cannot be invoked as function")
        return attr

    def eval_function(self, dot: object, ident: IdentifierNode, cmd: Node, args: list[Node],
                      final: object) -> object:
        self.node = ident
        name = ident.name
        func = self.funcs.get(name)
        if func is None:
            raise self.error(f'"{name}" is not a defined function')
        if name in ("and", "or") and func.builtin:
            return self.eval_and_or(dot, cmd, name, args, final)
        return self.eval_call(dot, func, cmd, name, args, final)

    def eval_and_or(self, dot: object, cmd: Node, name: str, args: list[Node],
                    final: object) -> object:
        operands = args[1:]
        count = len(operands) + (final is not NO_FINAL)
        if count < 1:
            self.node = cmd
            raise self.error(f"wrong number of args for {name}: want at least 1 got 0")
        value: object = None
        for operand in operands:
            value = self.eval_arg(dot, operand)
            if truth(value) == (name == "or"):
                return value
        if final is not NO_FINAL:
            value = final
        return value

    def eval_call(self, dot: object, func: Func, node: Node, name: str, args: list[Node],
                  final: object) -> object:
        operands = args[1:]
        count = len(operands) + (final is not NO_FINAL)
        if func.min_args is not None:
            if func.max_args is None and count < func.min_args:
                raise self.error(
                    f"wrong number of args for {name}: want at least {func.min_args} "
                    f"got {count}")
            if func.max_args is not None and not func.min_args <= count <= func.max_args:
                raise self.error(
                    f"wrong number of args for {name}: want {func.max_args} got {count}")
        values: list[object] = []
        for i, operand in enumerate(operands):
            value = self.eval_arg(dot, operand)
            values.append(self.check_type(func, i, value, operand))
        if final is not NO_FINAL:
            values.append(self.check_type(func, len(values), final, None))
        try:
            return func.fn(*values)
        except (TemplateError, _Break, _Continue):
            raise
        except Exception as e:
            self.node = node
            raise self.error(f"error calling {name}: {_message(e)}")

    def check_type(self, func: Func, index: int, value: object, operand: Node | None) -> object:
        """Go converts arguments to the function's parameter types; do the same checks."""
        wanted = func.param_type(index)
        if wanted is None:
            return None if value is MISSING else value
        if operand is not None:
            self.node = operand
        if isinstance(operand, NilNode):
            raise self.error(f"cannot assign nil to {wanted}")
        if value is MISSING:
            raise self.error(f"invalid value; expected {wanted}")
        if _matches(wanted, value):
            return value
        if isinstance(operand, NumberNode | StringNode | BoolNode):
            if wanted == "string":
                raise self.error(f"expected string; found {operand}")
            if wanted == "int":
                raise self.error(f"expected integer; found {operand}")
            raise self.error(f"can't handle {operand} for arg of type {wanted}")
        raise self.error(f"wrong type for value; expected {wanted}; got {go_type(value)}")


def _matches(wanted: str, value: object) -> bool:
    if wanted == "string":
        return isinstance(value, str)
    if wanted == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if wanted == "[]string":
        return isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
    return True


def _message(error: Exception) -> str:
    text = str(error)
    return text if text else type(error).__name__


def truth(value: object) -> bool:
    """Go's truth: false, 0, nil, and empty strings, slices and maps are false."""
    if value is None or value is MISSING:
        return False
    try:
        return bool(value)
    except Exception:
        return True


def execute(tree: Tree, funcs: dict[str, Func], data: object, out: list[str]) -> None:
    """Run ``tree`` with dot = ``data``, appending output pieces to ``out``."""
    state = State(tree, funcs, out, data)
    try:
        state.walk(data, tree.root)
    except RecursionError:
        raise TemplateError(f"template: {tree.name}: exceeded maximum template depth")

