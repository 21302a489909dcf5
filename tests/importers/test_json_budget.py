"""JSON from outside read within its budget: size, nesting and text, each refused by name."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from worker.importers.json_budget import JSONRefusedError, loads, nesting


def test_a_deep_body_is_refused_by_its_depth_not_by_recursion() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(deep)  # what the standard library does with it
    with pytest.raises(JSONRefusedError, match="nested 100000 deep; the limit is 8"):
        loads(deep, max_bytes=1 << 20, max_depth=8)


def test_brackets_inside_strings_are_not_nesting() -> None:
    assert nesting(b'{"a": "[[[{{\\"[[", "b": [1, [2]]}') == 3
    assert loads(b'{"a": "[[[[[[[[[["}', max_bytes=100, max_depth=1) == {"a": "[" * 10}


def test_a_lone_surrogate_is_not_text() -> None:
    assert json.loads(b'{"id": "\\ud800"}') == {"id": "\ud800"}  # accepted by json
    for body in (b'{"id": "\\ud800"}', b'{"\\udfff": 1}', b'[["a", "\\udc00"]]'):
        with pytest.raises(JSONRefusedError, match="lone surrogate"):
            loads(body, max_bytes=100)
    assert loads(b'"\\ud83d\\ude00"', max_bytes=100) == "\U0001f600"  # a pair is a character


def test_size_and_syntax_are_named() -> None:
    with pytest.raises(JSONRefusedError, match="is 11 bytes; the limit is 10"):
        loads(b'"123456789"', max_bytes=10)
    with pytest.raises(JSONRefusedError, match="is not JSON"):
        loads(b"{", max_bytes=10)
    with pytest.raises(JSONRefusedError, match="is not JSON"):
        loads(b'"\xff"', max_bytes=10)  # not UTF-8


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                    lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))  # fmt: skip
def test_whatever_json_writes_within_the_budget_reads_back(value: object) -> None:
    data = json.dumps(value).encode()
    assert loads(data, max_bytes=len(data), max_depth=nesting(data)) == value
