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
  instance, a function): the receiver can only call it or ask for its attributes by name;
- PyTorch tensors (the PyTorch labs) of the same dtypes, with ``requires_grad``, whether it is a
  ``Parameter``, its ``.grad``, and, from the worker, a reference to the tensor it copies (so
  that ``backward()`` on the referee's side is carried back to the worker's graph: see
  :mod:`grader.referee`); ``torch.Generator`` states, in step as the NumPy generators are;
- ``{"__mirror__": key}``: one of the referee's own objects (a model, an optimizer, a data
  loader) that the worker holds a copy of; its state travels with every message
  (:func:`state_of`, :func:`apply_state`), so both copies change together;
- ``{"__mirror__": {"key": "w<n>", "shadow": state}}`` from the worker: a model or optimizer
  the student's code built, as its state only; the referee rebuilds it from layers of
  ``torch.nn`` and optimizers of ``torch.optim`` (:func:`build`), and never unpickles
  anything the worker sends.

So no object made by student code ever reaches the referee: no ``__array__``, ``__float__``
or ``__eq__`` of a submission runs where the verdict is computed.

>>> import numpy as np
>>> decode(encode({"w": np.arange(3.0), "k": (1, None)}))
{'w': array([0., 1., 2.]), 'k': (1, None)}
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from collections.abc import Callable
from typing import Any, BinaryIO

import numpy as np

__all__ = ["MAX_MESSAGE", "CannotCross", "MirrorTable", "Ref", "RngTable", "apply_state", "decode",
           "encode", "read_message", "send_message", "state_of", "write_back"]

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
    """The generators that have crossed, by key (``prefix`` + a number): NumPy's, and
    ``torch.Generator`` (keys ending in ``t``), whose state is its bytes in base64."""

    def __init__(self, prefix: str) -> None:
        self.prefix, self.by_key = prefix, {}

    def key(self, generator) -> str:
        for key, known in self.by_key.items():
            if known is generator:
                return key
        suffix = "" if isinstance(generator, np.random.Generator) else "t"
        key = f"{self.prefix}{len(self.by_key)}{suffix}"
        self.by_key[key] = generator
        return key

    def get(self, key: str, state):
        generator = self.by_key.get(key)
        if key.endswith("t"):
            torch = _torch()
            if torch is None:
                raise ValueError("a torch.Generator crossed to a side without torch")
            if generator is None:
                generator = self.by_key[key] = torch.Generator()
            generator.set_state(_torch_bytes(state))
            return generator
        if generator is None:
            generator = self.by_key[key] = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = state if type(state) is dict else _pcg64_state(state)
        return generator

    def states(self) -> dict:
        return {key: _torch_state(g) if key.endswith("t") else json.dumps(g.bit_generator.state)
                for key, g in self.by_key.items()}

    def sync(self, states: Any) -> None:
        if type(states) is not dict:
            raise ValueError("malformed generator states")
        for key, state in states.items():
            if type(key) is not str or type(state) is not str:
                raise ValueError("malformed generator states")
            self.get(key, state)


def _torch():
    """PyTorch if this side has imported it (a NumPy-only worker cannot)."""
    return sys.modules.get("torch")


def _torch_state(generator) -> str:
    return base64.b64encode(generator.get_state().numpy().tobytes()).decode("ascii")


def _torch_bytes(text: str):
    torch = _torch()
    raw = np.frombuffer(base64.b64decode(text, validate=True), dtype=np.uint8).copy()
    return torch.from_numpy(raw)


def torch_globals() -> dict:
    """What PyTorch keeps per process and a call may depend on or change: the global random
    state and whether gradients are recorded."""
    torch = _torch()
    if torch is None:
        return {}
    return {"rng": _torch_state(torch.random.default_generator),
            "grad": bool(torch.is_grad_enabled())}


def set_torch_globals(state: Any) -> None:
    torch = _torch()
    if torch is None or not state:
        return
    if type(state) is not dict or type(state.get("rng")) is not str or type(
            state.get("grad")) is not bool:
        raise ValueError("malformed torch state")
    torch.random.default_generator.set_state(_torch_bytes(state["rng"]))
    torch.set_grad_enabled(state["grad"])


_TORCH_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8",
                 "bool", "complex64", "complex128")


def _encode_tensor(value, to_ref, rngs, hook):
    torch = _torch()
    name = str(value.dtype).removeprefix("torch.")
    if name not in _TORCH_DTYPES or value.layout != torch.strided or value.is_meta:
        raise CannotCross(f"a tensor of dtype {value.dtype} cannot cross")
    data = torch.Tensor.numpy(torch.Tensor.cpu(torch.Tensor.detach(value)), force=True)
    grad = getattr(value, "grad", None) if value.is_leaf else None
    ref = None
    if to_ref is not None and value.requires_grad:
        ref = to_ref(value).id
    return {"__tensor__": [encode(np.asarray(data), None, None), bool(value.requires_grad),
                           isinstance(value, torch.nn.Parameter),
                           None if grad is None else _encode_tensor(grad, None, None, None),
                           ref]}


def _decode_tensor(body, from_ref, rngs, tensor_hook):
    torch = _torch()
    if torch is None:
        raise ValueError("a tensor crossed to a side without torch")
    if type(body) is not list or len(body) != 5:
        raise ValueError("malformed tensor on the wire")
    data, requires_grad, is_param, grad, ref = body
    array = decode(data)
    if not isinstance(array, np.ndarray) or type(requires_grad) is not bool or type(
            is_param) is not bool or (ref is not None and type(ref) is not int):
        raise ValueError("malformed tensor on the wire")
    tensor = torch.from_numpy(array if array.flags.c_contiguous else array.copy())
    if is_param:
        tensor = torch.nn.Parameter(tensor, requires_grad=requires_grad)
    elif requires_grad:
        tensor.requires_grad_(True)
    if grad is not None:
        if type(grad) is not dict or set(grad) != {"__tensor__"}:
            raise ValueError("malformed gradient on the wire")
        tensor.grad = _decode_tensor(grad["__tensor__"], None, None, None)
    if tensor_hook is not None:
        tensor_hook(tensor, None if ref is None else Ref(ref))
    return tensor


def _pcg64_state(text: str) -> dict:
    state = json.loads(text)
    if type(state) is not dict or state.get("bit_generator") != "PCG64":
        raise ValueError("only PCG64 generator states may cross")
    return state


def encode(value: Any, to_ref: Callable[[Any], Ref] | None = None,
           rngs: RngTable | None = None, hook: Callable[[Any], Any] | None = None) -> Any:
    """A JSON-able form of ``value``; objects that are not data go through ``to_ref``
    (``None``: they cannot cross, :class:`CannotCross` is raised). ``hook``, if given, is
    asked first about every value that is not a plain scalar: it returns an encoding (a
    mirrored object, say) or ``None``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if hook is not None and not isinstance(value, (int, float)):
        special = hook(value)
        if special is not None:
            return special
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
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        try:
            return _encode_tensor(value, to_ref, rngs, hook)
        except CannotCross:
            if to_ref is None:
                raise
            return {"__ref__": to_ref(value).id}
    if torch is not None and type(value) is torch.Generator and rngs is not None:
        return {"__rng__": [rngs.key(value), _torch_state(value)]}
    if type(value) in (list, tuple):
        items = [encode(v, to_ref, rngs, hook) for v in value]
        return items if type(value) is list else {"__tuple__": items}
    if type(value) is dict and all(type(k) in (str, int) for k in value):
        return {"__dict__": [[k, encode(v, to_ref, rngs, hook)] for k, v in value.items()]}
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
           rngs: RngTable | None = None, mirrors: Callable[[Any], Any] | None = None,
           tensor_hook: Callable | None = None) -> Any:
    """The value :func:`encode` encoded; anything else raises ``ValueError``. ``mirrors``
    turns a ``__mirror__`` body into the object it stands for; ``tensor_hook(tensor, ref)``
    sees every tensor decoded."""
    if value is None or type(value) in (bool, int, float, str):
        return value
    again = (from_ref, rngs, mirrors, tensor_hook)
    if type(value) is list:
        return [decode(v, *again) for v in value]
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
        return tuple(decode(v, *again) for v in body)
    if tag == "__tensor__":
        return _decode_tensor(body, from_ref, rngs, tensor_hook)
    if tag == "__mirror__" and mirrors is not None:
        return mirrors(body)
    if tag == "__dict__" and type(body) is list:
        out = {}
        for pair in body:
            if type(pair) is not list or len(pair) != 2 or type(pair[0]) not in (str, int):
                raise ValueError("malformed dict on the wire")
            out[pair[0]] = decode(pair[1], *again)
        return out
    if tag == "__rng__" and type(body) is list and len(body) == 2 and all(
            type(b) is str for b in body):
        if rngs is not None and body[0]:
            return rngs.get(body[0], body[1])
        state = _pcg64_state(body[1])
        generator = np.random.Generator(np.random.PCG64())
        generator.bit_generator.state = state
        return generator
    if tag == "__ref__" and type(body) is int:
        ref = Ref(body)
        return from_ref(ref) if from_ref is not None else ref
    raise ValueError(f"malformed value on the wire ({tag!r})")


def write_back(before, after) -> None:
    """Make the caller's argument look as the other side left it (in-place changes)."""
    torch = _torch()
    if isinstance(before, np.ndarray) and isinstance(after, np.ndarray):
        if before.shape == after.shape and before.flags.writeable:
            with np.errstate(all="ignore"):
                before[...] = after.astype(before.dtype, copy=False)
    elif isinstance(before, np.random.Generator) and isinstance(after, np.random.Generator):
        if before is not after:
            before.bit_generator.state = after.bit_generator.state
    elif torch is not None and isinstance(before, torch.Tensor) and isinstance(
            after, torch.Tensor):
        if before is after or before.shape != after.shape or before.dtype != after.dtype:
            return
        with torch.no_grad():
            if not torch.equal(before, after):
                before.copy_(after)
    elif type(before) is dict and type(after) is dict:
        # Entries are replaced, not written into: an array the caller still holds keeps its
        # values unless the other side wrote into it (then the write-back above already
        # happened for top-level arguments only; nested in-place edits are not mirrored,
        # which can only make the referee's verdict more lenient than the kernel's).
        before.clear()
        before.update(after)
    elif type(before) is list and type(after) is list:
        before[:] = after


# -- the referee's objects, copied into the worker ---------------------------------------------

def state_of(obj, hook: Callable | None = None, hook_keys: Callable | None = None) -> dict | None:
    """The state of a mirrored object as plain data: a module's parameters (with
    ``requires_grad`` and ``.grad``), buffers, train/eval flags, the class and plain
    attributes of each submodule (so that a layer of torch.nn can be rebuilt on the other
    side); an optimizer's class, hyperparameters, parameters (through ``hook``: by key where
    they belong to a mirrored model) and ``state_dict()``; a tensor's values and gradient.
    ``None`` for other objects (a data loader, a callback): copied once, not kept in step."""
    torch = _torch()
    if torch is None:
        return None
    if isinstance(obj, torch.nn.Module):
        # a module or tensor reachable by two paths (a layer also kept in an nn.Sequential,
        # tied weights) is sent once; its other paths name the first (an alias), so the
        # other side shares it too and counts its parameters once
        first: dict[int, str] = {}

        def alias(value, name):
            """The path ``value`` was first met under, if that is not ``name``."""
            earlier = first.setdefault(id(value), name)
            return earlier if earlier != name else None

        modules = []
        for name, module in obj.named_modules(remove_duplicate=False):
            kind = type(module)
            same = alias(module, name)
            if same is not None:
                modules.append([name, kind.__module__, kind.__qualname__, None, [], [], same])
                continue
            plain = {k: v for k, v in vars(module).items() if not k.startswith("__")
                     and _plain(v)}
            empty = [k for k, v in module._parameters.items() if v is None]
            empty_buffers = [k for k, v in module._buffers.items() if v is None]
            modules.append([name, kind.__module__, kind.__qualname__, encode(plain), empty,
                            empty_buffers, None])
        hooks = []
        if hook_keys is not None:  # the referee's side: its hooks, as call-back keys
            for name, module in obj.named_modules():
                for kind in _HOOKS:
                    table = getattr(module, kind, None) or {}
                    hooks.append([name, kind, [[int(handle), hook_keys(function)]
                                               for handle, function in table.items()]])

        def tensors(named):
            out = []
            for n, t in named:
                same = alias(t, n)
                out.append([n, None, same] if same is not None else [n, encode(t), None])
            return out

        return {"modules": modules, "hooks": hooks,
                "params": tensors(obj.named_parameters(remove_duplicate=False)),
                "buffers": tensors((n, b) for n, b in obj.named_buffers(remove_duplicate=False)
                                   if b is not None)}
    if isinstance(obj, torch.optim.Optimizer):
        kind = type(obj)
        return {"optimizer": encode(obj.state_dict()), "class": [kind.__module__,
                                                               kind.__qualname__],
                "defaults": encode({k: v for k, v in obj.defaults.items() if _plain(v)}),
                "params": encode([list(g["params"]) for g in obj.param_groups], None, None,
                                 hook)}
    if isinstance(obj, torch.Tensor) and obj.is_leaf:
        return {"tensor": encode(obj)}
    return None


def _plain(value) -> bool:
    if value is None or type(value) in (bool, int, float, str):
        return True
    return type(value) in (tuple, list) and all(_plain(v) for v in value)


#: How a side builds a module of a class that is not a layer of torch.nn (a student's class,
#: seen from the referee): ``make_module(module_name, qualname, key, path)``. None: refused.
make_module: Callable | None = None


def _rebuild(module_name: str, qualname: str, key=None, path=""):
    """A bare instance of a layer class of ``torch.nn`` (or what :data:`make_module` makes)."""
    import importlib

    torch = _torch()
    if not module_name.startswith("torch.nn.modules.") or "." in qualname:
        if make_module is not None:
            return make_module(module_name, qualname, key, path)
        raise CannotCross(f"a module of class {module_name}.{qualname} was put into the "
                          "grader's model: only layers of torch.nn can be copied back")
    kind = getattr(importlib.import_module(module_name), qualname, None)
    if not (isinstance(kind, type) and issubclass(kind, torch.nn.Module)):
        raise CannotCross(f"unknown layer {module_name}.{qualname}")
    module = object.__new__(kind)
    torch.nn.Module.__init__(module)
    return module


def build(state, decode_value, key: str):
    """A new object from the state of one the other side holds (:func:`state_of`): a module
    rebuilt layer by layer, an optimizer of ``torch.optim`` over the parameters named."""
    import importlib

    torch = _torch()
    if type(state) is not dict:
        raise ValueError("malformed state")
    if "modules" in state:
        first = state["modules"][0] if state["modules"] else None
        if not (type(first) is list and len(first) == 7 and first[0] == ""):
            raise ValueError("malformed module state")
        obj = _rebuild(str(first[1]), str(first[2]), key, "")
        apply_state(obj, state, decode_value, key)
        return obj
    if "optimizer" in state:
        module_name, qualname = state["class"]
        kind = getattr(importlib.import_module(module_name), qualname, None) if str(
            module_name).startswith("torch.optim") and "." not in str(qualname) else None
        if not (isinstance(kind, type) and issubclass(kind, torch.optim.Optimizer)):
            raise CannotCross(f"an optimizer of class {module_name}.{qualname} cannot be "
                              "copied: only those of torch.optim")
        groups = decode_value(state["params"])
        defaults = decode_value(state["defaults"])
        obj = object.__new__(kind)
        torch.optim.Optimizer.__init__(obj, [{"params": g} for g in groups], defaults)
        obj.load_state_dict(decode_value(state["optimizer"]))
        return obj
    raise CannotCross("only modules and optimizers are copied back")


def apply_state(obj, state, decode_value=None, key=None) -> None:
    """Make ``obj`` hold ``state`` (from :func:`state_of` on the other side): values and
    gradients copied into its own tensors, layers rebuilt where the other side replaced
    them. Raises :class:`CannotCross` where that is not possible."""
    torch = _torch()
    dec = decode_value or decode
    if type(state) is not dict:
        raise ValueError("malformed state")
    if "optimizer" in state:
        obj.load_state_dict(dec(state["optimizer"]))
        return
    if "tensor" in state:
        _set_tensor(obj, dec(state["tensor"]))
        return
    seen = set()
    for entry in state["modules"]:
        if type(entry) is not list or len(entry) != 7:
            raise ValueError("malformed module state")
        name, module_name, qualname, plain, empty, empty_buffers, same = entry
        seen.add(name)
        if same is not None:  # the module already placed at path `same`
            if type(same) is not str or same not in seen or not name or same == name:
                raise ValueError("malformed module alias")
            parent_name, _, leaf = name.rpartition(".")
            parent, shared = obj.get_submodule(parent_name), obj.get_submodule(same)
            if parent._modules.get(leaf) is not shared:
                parent._modules[leaf] = shared
            continue
        if not name:
            target = obj
        else:
            parent_name, _, leaf = name.rpartition(".")
            parent = obj.get_submodule(parent_name)
            target = parent._modules.get(leaf)
            if target is None or (type(target).__module__, type(target).__qualname__) != (
                    module_name, qualname):
                target = _rebuild(module_name, qualname, key, name)
                parent._modules[leaf] = target
        for attr, value in dec(plain).items():
            if type(attr) is not str or attr.startswith("__") or not _plain(value):
                raise ValueError("malformed module attributes")
            if attr in target._parameters or attr in target._buffers or \
                    attr in target._modules:
                continue
            if vars(target).get(attr, _MISSING) != value:
                object.__setattr__(target, attr, value)
        for attr in empty:
            if type(attr) is str and target._parameters.get(attr) is not None:
                target._parameters[attr] = None
            elif type(attr) is str:
                target._parameters.setdefault(attr, None)
        for attr in empty_buffers:
            if type(attr) is str:
                target._buffers[attr] = None
    for name, module in list(obj.named_modules(remove_duplicate=False)):
        for leaf in list(module._modules):
            path = f"{name}.{leaf}" if name else leaf
            if path not in seen:
                del module._modules[leaf]
    if state.get("hooks") and make_callback is not None:
        _apply_hooks(obj, state["hooks"])
    placed: dict[str, object] = {}
    for kind, entries in (("_parameters", state["params"]), ("_buffers", state["buffers"])):
        wanted = set()
        for entry in entries:
            if type(entry) is not list or len(entry) != 3 or type(entry[0]) is not str:
                raise ValueError("malformed tensor state")
            name, value, same = entry
            wanted.add(name)
            module_name, _, leaf = name.rpartition(".")
            owner = obj.get_submodule(module_name)
            if same is not None:  # the tensor already placed at path `same`
                if same not in placed:
                    raise ValueError("malformed tensor alias")
                if getattr(owner, kind).get(leaf) is not placed[same]:
                    getattr(owner, kind)[leaf] = placed[same]
                continue
            new = dec(value)
            current = getattr(owner, kind).get(leaf)
            if current is None or current.shape != new.shape or current.dtype != new.dtype:
                if kind == "_parameters" and not isinstance(new, torch.nn.Parameter):
                    new = torch.nn.Parameter(new.detach(), requires_grad=new.requires_grad)
                getattr(owner, kind)[leaf] = new
                current = new
            else:
                _set_tensor(current, new)
            placed[name] = current
        for name, module in obj.named_modules(remove_duplicate=False):
            for leaf in list(getattr(module, kind)):
                if (f"{name}.{leaf}" if name else leaf) not in wanted and getattr(
                        module, kind)[leaf] is not None:
                    del getattr(module, kind)[leaf]


_MISSING = object()


def _apply_hooks(obj, hooks) -> None:
    """The worker's side: the referee's hooks on its model, as call backs (the student's own
    hooks on the same modules are left alone)."""
    for entry in hooks:
        if type(entry) is not list or len(entry) != 3 or entry[1] not in _HOOKS:
            raise ValueError("malformed hooks")
        name, kind, wanted = entry
        table = getattr(obj.get_submodule(name), kind)
        keys = {int(h): k for h, k in wanted}
        for handle in [h for h, f in table.items() if isinstance(f, make_callback)
                       and keys.get(h) != f.key]:
            del table[handle]
        for handle, key in keys.items():
            if handle not in table:
                table[handle] = make_callback(key)


def _set_tensor(current, new) -> None:
    torch = _torch()
    with torch.no_grad():
        if current.shape != new.shape or current.dtype != new.dtype:
            raise CannotCross("a tensor the grader passed changed its shape or dtype")
        if not torch.equal(current, new):
            current.copy_(new)
    if current.is_leaf:
        if current.requires_grad != new.requires_grad:
            current.requires_grad_(new.requires_grad)
        grad = new.grad
        if grad is None:
            current.grad = None
        elif current.grad is None or current.grad.shape != grad.shape or not torch.equal(
                current.grad, grad):
            current.grad = grad


class MirrorTable:
    """Objects shared by the two sides, by key: the referee's own (``m`` keys, the worker
    holds copies) and those the student's code made (``w`` keys, the referee holds rebuilt
    copies). Each side keeps a fingerprint of every state it last sent or received, so a
    message carries only the states that changed since. With ``weak`` (the referee's side)
    an object the tests no longer hold is dropped, and the other side told so."""

    def __init__(self, weak: bool = False) -> None:
        self.weak = weak
        self._refs: dict = {}
        self.digests: dict = {}
        self.pending: dict = {}
        self.dropped: list = []
        self.hook_keys: Callable | None = None  # the referee's: function -> callback key
        self._index: dict | None = None

    def add(self, key: str, obj, synced: bool = True) -> None:
        """Keep ``obj`` under ``key``; ``synced=False``: its state goes with the next message
        (a pickle does not carry a tensor's ``.grad``). A state that arrived before its
        object (the object was in the same message) is applied now."""
        ref = None
        if self.weak:
            import weakref

            try:
                ref = weakref.ref(obj)
            except TypeError:
                ref = None
        self._refs[key] = ref if ref is not None else (lambda obj=obj: obj)
        self._index = None
        pending = self.pending.pop(key, None)
        if pending is not None:
            apply_state(obj, pending[0], pending[1], key)
        if synced or pending is not None:
            self.digests[key] = _fingerprint(obj)

    def get(self, key):
        ref = self._refs.get(key)
        return None if ref is None else ref()

    def items(self) -> list:
        out = []
        for key, ref in list(self._refs.items()):
            obj = ref()
            if obj is None:
                del self._refs[key]
                self.digests.pop(key, None)
                self.dropped.append(key)
            else:
                out.append((key, obj))
        return out

    def drop(self, keys) -> None:
        for key in keys if type(keys) is list else []:
            self._refs.pop(key, None)
            self.digests.pop(key, None)
        self._index = None

    def clear(self) -> None:
        self._refs.clear()
        self.digests.clear()
        self.pending.clear()
        self._index = None

    def index(self) -> dict:
        """id of every mirrored object and of its parameters, buffers and submodules ->
        (object, its ``__mirror__`` body)."""
        torch = _torch()
        if self._index is None:
            index = {}
            for key, obj in self.items():
                if torch is not None and isinstance(obj, torch.nn.Module):
                    for kind in ("modules", "parameters", "buffers"):
                        for name, sub in getattr(obj, f"named_{kind}")(remove_duplicate=False):
                            index.setdefault(id(sub), (sub, {"key": key, "path": [kind, name]}))
                index[id(obj)] = (obj, {"key": key, "path": None})
            self._index = index
        return self._index

    def hook(self):
        """An :func:`encode` hook that sends mirrored objects (and their parts) by key."""
        def hook(value):
            found = self.index().get(id(value))
            if found is not None and found[0] is value:
                return {"__mirror__": found[1]}
            return None
        return hook

    def find(self, body):
        """The object a ``__mirror__`` body names (``ValueError`` if none)."""
        if type(body) is not dict or type(body.get("key")) is not str:
            raise ValueError("malformed mirror reference")
        obj = self.get(body["key"])
        if obj is None:
            raise ValueError(f"unknown mirrored object {body['key']!r}")
        path = body.get("path")
        if path is None:
            return obj
        if type(path) is not list or len(path) != 2 or path[0] not in (
                "modules", "parameters", "buffers") or type(path[1]) is not str:
            raise ValueError("malformed mirror path")
        getter = {"modules": obj.get_submodule, "parameters": obj.get_parameter,
                  "buffers": obj.get_buffer}[path[0]]
        try:
            return getter(path[1])
        except AttributeError as error:
            raise ValueError(f"no {path[0][:-1]} {path[1]!r} in the mirrored model") from error

    def states(self) -> dict:
        """The states that changed since last sent or received."""
        self._index = None  # the objects may have changed since (a layer replaced)
        hook = self.hook()
        out = {}
        for key, obj in self.items():
            digest = _fingerprint(obj)
            if digest is None or self.digests.get(key) == digest:
                continue
            out[key] = state_of(obj, hook, self.hook_keys)
            self.digests[key] = digest
        return out

    def sync(self, states, decode_value=None, early: bool = False) -> None:
        """Apply the states the other side sent; ``early``: a state may come before its
        object (the worker, whose new copies are in the arguments decoded next)."""
        if type(states) is not dict:
            raise ValueError("malformed mirror states")
        for key, state in states.items():
            obj = self.get(key)
            if obj is None and early:
                self.pending[key] = (state, decode_value)
                continue
            if obj is None:
                continue  # dropped here meanwhile (the other side learns it next message)
            apply_state(obj, state, decode_value, key)
            self._index = None
            self.digests[key] = _fingerprint(obj)


def _fingerprint(obj) -> str | None:
    """A digest of what :func:`state_of` would send, from the raw bytes (no encoding)."""
    torch = _torch()
    if torch is None:
        return None
    digest = hashlib.sha1()

    def tensor(t):
        if t is None:
            digest.update(b"none")
            return
        digest.update(f"{t.dtype}{tuple(t.shape)}{t.requires_grad}".encode())
        t = t.detach()
        if t.dtype == torch.bfloat16 or t.is_meta:
            digest.update(repr(t).encode())
        else:
            digest.update(np.ascontiguousarray(t.cpu().numpy(force=True)).view(np.uint8).data)

    if isinstance(obj, torch.nn.Module):
        for name, module in obj.named_modules(remove_duplicate=False):
            digest.update(f"|{name}|{type(module).__module__}.{type(module).__qualname__}|"
                          .encode())
            digest.update(repr(sorted((k, v) for k, v in vars(module).items()
                                      if not k.startswith("__") and _plain(v))).encode())
            digest.update(repr([k for k, v in module._parameters.items() if v is None]).encode())
            for kind in _HOOKS:
                hooks = getattr(module, kind, None)
                if hooks:
                    digest.update(f"{kind}{list(hooks)}".encode())
        for _, p in obj.named_parameters(remove_duplicate=False):
            tensor(p)
            tensor(p.grad)
        for _, b in obj.named_buffers(remove_duplicate=False):
            tensor(b)
        return digest.hexdigest()
    if isinstance(obj, torch.optim.Optimizer):
        return _digest(state_of(obj))
    if isinstance(obj, torch.Tensor) and obj.is_leaf:
        tensor(obj)
        tensor(obj.grad)
        return digest.hexdigest()
    return None


#: The forward hooks of a module that travel with its state (as call backs to the referee).
_HOOKS = ("_forward_hooks", "_forward_pre_hooks")

#: The worker's class of call-back proxies: ``make_callback(key)`` stands for a hook the
#: referee registered (set by :mod:`grader.worker`; None on the referee's side).
make_callback: type | None = None


def _digest(state) -> str:
    return hashlib.sha1(json.dumps(state, sort_keys=True).encode()).hexdigest()


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
