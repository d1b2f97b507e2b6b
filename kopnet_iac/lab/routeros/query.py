"""API ``print`` queries (``?`` words, evaluated on a stack) and ``.proplist`` selection."""

from __future__ import annotations

from collections.abc import Callable

from kopnet_iac.lab.routeros.store import RosError

Row = dict[str, str]
Predicate = Callable[[Row], bool]
_TRUTH = {"yes": "true", "no": "false"}


def _norm(value: str) -> str:
    return _TRUTH.get(value, value)


def _less(left: str, right: str) -> bool:
    try:
        return int(left) < int(right)
    except ValueError:
        return left < right


def _compile_word(word: str) -> Predicate | str:
    """A query word as a predicate, or the operator string of a ``?#`` word."""
    body = word[1:]
    if body.startswith("#"):
        return body[1:]
    if body.startswith(("=", "<", ">")):
        op, rest = body[0], body[1:]
        if "=" not in rest:
            raise RosError(f"unknown query word {word}")
        key, value = rest.split("=", 1)
    elif body.startswith("-"):
        key = body[1:]
        return lambda row: key not in row
    elif "=" in body:
        op = "="
        key, value = body.split("=", 1)
    else:
        return lambda row: body in row
    value = _norm(value)
    if op == "=":
        return lambda row: _norm(row.get(key, "")) == value
    if op == "<":
        return lambda row: key in row and _less(row[key], value)
    return lambda row: key in row and _less(value, row[key])


def compile_query(words: list[str]) -> Predicate:
    """Turn the ``?`` words of a sentence into one predicate (empty: everything)."""
    program = [_compile_word(word) for word in words]

    def run(row: Row) -> bool:
        stack: list[bool] = []
        for step in program:
            if not isinstance(step, str):
                stack.append(step(row))
                continue
            for op in step:
                if op in "|&":
                    if len(stack) < 2:
                        raise RosError("query stack underflow")
                    right, left = stack.pop(), stack.pop()
                    stack.append(left or right if op == "|" else left and right)
                elif op == "!":
                    if not stack:
                        raise RosError("query stack underflow")
                    stack.append(not stack.pop())
                elif op == ".":
                    if not stack:
                        raise RosError("query stack underflow")
                    stack.append(stack[-1])
                elif op.isdigit():
                    index = int(op)
                    if index >= len(stack):
                        raise RosError("query stack underflow")
                    stack.append(stack[index])
                else:
                    raise RosError(f"unknown query operation {op}")
        return all(stack)

    return run


def select_props(row: Row, proplist: str | None) -> Row:
    if not proplist:
        return row
    keys = [key for key in proplist.split(",") if key]
    return {key: row[key] for key in keys if key in row}
