"""What may cross between the referee and the sandboxed worker: plain data, nothing else.

Every message is a 4-byte big-endian length and a UTF-8 JSON document. Values are encoded by
:func:`encode` and rebuilt by :func:`decode`, which accepts only:

- ``None``, ``bool``, ``int``, ``float`` (NaN and infinities included), ``str``;
- lists, tuples and dicts with ``str`` or ``int`` keys, nested;
- NumPy arrays and scalars of a boolean, integer, unsigned, float or complex dtype (the bytes
  are copied into a fresh array: no object dtype, no pickle);
- ``numpy.random.Generator`` over ``PCG64``, as a key and its bit-generator state. With an
  :class:`RngTable` on each side, one key stands for one generator object on both sides, and
  every message carries the states of all of them (:meth:`RngTable.states`,
  :meth:`RngTable.sync`): a generator the student's code keeps (a lazy mini-batch iterator)
  and the caller's generator advance together, as if both lived in one process;
- a *reference* ``{"__ref__": n}`` to an object that stays on the other side (a student's class
  instance, a function): the receiver can only call it or ask for its attributes by name.

So no object made by student code ever reaches the referee: no ``__array__``, ``__float__``
or ``__eq__`` of a submission runs where the verdict is computed.

>>> import numpy as np
>>> decode(encode({"w": np.arange(3.0), "k": (1, None)}))
{'w': array([0., 1., 2.]), 'k': (1, None)}
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

__all__ = ["MAX_MESSAGE", "CannotCross", "Ref", "RngTable", "decode", "encode", "read_message",
           "send_message"]

#: Largest message either side accepts (bytes).
MAX_MESSAGE = 128 * 1024**2
_KINDS = "biufc"


class CannotCross(TypeError):
    """A value that is not plain data (and may not travel as a reference)."""


class Ref:
    """A handle to an object that lives on the other side of the pipe."""

    __slots__ = ("id",)

    def __init__(self, id: int) -> None:
        self.id = int(id)

    def __repr__(self) -> str:
        return f"Ref({self.id})"


class RngTable:
    """The generators that have crossed, by key (``prefix`` + a number)."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.by_key = prefix, {}

    def key(self, generator: np.random.Generator) -> str:
        for key, known in self.by_key.items():
            if known is generator:
                return key
        key = f"{self.prefix}{len(self.by_key)}"
        self.by_key[key] = generator
        return key

    def get(self, key: str, state: dict) -> np.random.Generator:
        generator = self.by_key.get(key)
        if generator is None:
            generator = self.by_key[key] = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = state
        return generator

    def states(self) -> dict:
        return {key: json.dumps(g.bit_generator.state) for key, g in self.by_key.items()}

    def sync(self, states: Any) -> None:
        if type(states) is not dict:
            raise ValueError("malformed generator states")
        for key, state in states.items():
            if type(key) is not str or type(state) is not str:
                raise ValueError("malformed generator states")
            self.get(key, _pcg64_state(state))


def _pcg64_state(text: str) -> dict:
    state = json.loads(text)
    if type(state) is not dict or state.get("bit_generator") != "PCG64":
        raise ValueError("only PCG64 generator states may cross")
    return state


def encode(value: Any, to_ref: Callable[[Any], Ref] | None = None,
           rngs: RngTable | None = None) -> Any:
    """A JSON-able form of ``value``; objects that are not data go through ``to_ref``
    (``None``: they cannot cross, :class:`CannotCross` is raised)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if type(value) is int else int(value)
    if isinstance(value, float):
        return {"__float__": repr(float(value))} if value != value or value in (
            float("inf"), float("-inf")) else float(value)
    if isinstance(value, Ref):
        return {"__ref__": value.id}
    if isinstance(value, np.ndarray) and value.dtype.kind in _KINDS:
        data = value if value.flags.c_contiguous else value.copy(order="C")  # keeps 0-d
        return {"__nd__": [data.dtype.str, list(data.shape),
                           base64.b64encode(data.tobytes()).decode("ascii")]}
    if isinstance(value, np.generic) and value.dtype.kind in _KINDS:
        return {"__np__": [value.dtype.str, base64.b64encode(value.tobytes()).decode("ascii")]}
    if isinstance(value, np.random.Generator) and isinstance(value.bit_generator, np.random.PCG64):
        key = rngs.key(value) if rngs is not None else ""
        return {"__rng__": [key, json.dumps(value.bit_generator.state)]}
    if type(value) in (list, tuple):
        items = [encode(v, to_ref, rngs) for v in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict and all(type(k) in (str, int) for k in value):
        return {"__dict__": [[k, encode(v, to_ref, rngs)] for k, v in value.items()]}
    if to_ref is not None:
        return {"__ref__": to_ref(value).id}
    raise CannotCross(f"a {type(value).__name__} cannot be passed to the sandboxed worker")


def _array(dtype: str, shape: list, data: str) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind not in _KINDS or dt.hasobject:
        raise ValueError(f"refused dtype {dtype!r}")
    if not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"refused shape {shape!r}")
    raw = base64.b64decode(data, validate=True)
    if len(raw) != dt.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ValueError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dt).reshape(shape).copy()


def decode(value: Any, from_ref: Callable[[Ref], Any] | None = None,
           rngs: RngTable | None = None) -> Any:
    """The value :func:`encode` encoded; anything else raises ``ValueError``."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [decode(v, from_ref, rngs) for v in value]
    if type(value) is not dict or len(value) != 1:
        raise ValueError("malformed value on the wire")
    (tag, body), = value.items()
    if tag == "__float__" and body in ("nan", "inf", "-inf"):
        return float(body)
    if tag == "__nd__" and type(body) is list and len(body) == 3:
        return _array(*body)
    if tag == "__np__" and type(body) is list and len(body) == 2:
        return _array(body[0], [], body[1])[()]
    if tag == "__tuple__" and type(body) is list:
        return tuple(decode(v, from_ref, rngs) for v in body)
    if tag == "__dict__" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in (str, int):
                raise ValueError("malformed dict on the wire")
            out[pair[0]] = decode(pair[1], from_ref, rngs)
        return out
    if tag == "__rng__" and type(body) is list and len(body) == 2 and all(
            type(b) is str for b in body):
        state = _pcg64_state(body[1])
        if rngs is not None and body[0]:
            return rngs.get(body[0], state)
        generator = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = state
        return generator
    if tag == "__ref__" and type(body) is int:
        ref = Ref(body)
        return from_ref(ref) if from_ref is not None else ref
    raise ValueError(f"malformed value on the wire ({tag!r})")


def send_message(stream: BinaryIO, message: dict) -> None:
    data = json.dumps(message).encode()
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def read_message(stream: BinaryIO) -> dict:
    """The next message; ``EOFError`` when the other side is gone."""
    head = stream.read(4)
    if len(head) < 4:
        raise EOFError("the other side closed the pipe")
    (size,) = struct.unpack(">I", head)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes refused (limit {MAX_MESSAGE})")
    data = stream.read(size)
    if len(data) < size:
        raise EOFError("the other side closed the pipe mid-message")
    message = json.loads(data)
    if type(message) is not dict:
        raise ValueError("malformed message")
    return message
