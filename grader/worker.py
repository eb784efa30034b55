"""The sandboxed side of the second verdict: runs a submission's code, answers calls.

Started by :mod:`grader.referee` inside the same bubblewrap sandbox as a graded kernel (see
:mod:`grader.sandbox`), as ``python worker.py`` next to a copy of :mod:`grader.wire`. It
reads requests from stdin and answers on the original stdout; the student's own prints go to
``/dev/null``. Requests:

- ``run``: execute the submission's code cells (its answers and the lab's setup cells) in one
  IPython shell, so magics work as in the notebook; an exception in one cell is reported and
  the next cell still runs;
- ``get``: the value of a name (plain data) or a reference to it (a function, an object);
- ``call``: call a name or a reference with decoded arguments; the answer carries the result
  and the arguments as they are after the call (so the referee sees in-place changes);
- ``getattr`` / ``setattr``: attributes of a referenced object;
- ``backward``: the referee called ``backward()`` on its copy of a tensor this worker
  returned: the gradient it got there is carried into this worker's graph.

In the PyTorch labs the referee hands its own objects (a model, an optimizer, a data loader,
built by the instructor's test code) to the student's functions as pickled copies: the only
pickles here travel from the trusted side to the untrusted one, never back. Their state
(parameters, gradients, buffers, train/eval modes, optimizer state) travels back as plain data
with every answer (:class:`wire.MirrorTable`), and a function of the referee's (a transform, a
forward hook) becomes a :class:`Callback` that asks the referee to run it. The global torch
random state and the grad mode travel with every message both ways, so the two processes
behave as one.

Nothing here is trusted: the referee decodes every answer with :func:`grader.wire.decode`,
which rebuilds plain data only, and computes every expected value on its own side.
"""

from __future__ import annotations

import json
import os
import sys


def _serve(requests, answers) -> None:
    import builtins
    import pickle

    import wire  # the copy next to this file (the sandbox does not see the grader package)

    objects: list = []
    mirrors = wire.MirrorTable()  # the referee's objects this worker holds copies of

    def to_ref(value):
        objects.append(value)
        return wire.Ref(len(objects) - 1)

    def from_ref(ref):
        return objects[ref.id]

    rngs = wire.RngTable("w")

    class Callback:
        """A function of the referee's (a transform, a hook): calling it asks the referee."""

        def __init__(self, key):
            self.key = key

        def __call__(self, *args, **kwargs):
            return callback(self.key, args, kwargs)

    wire.make_callback = Callback

    class Unpickler(pickle.Unpickler):  # what the referee sends: its own objects, trusted
        def persistent_load(self, pid):
            kind, key = pid[0], pid[1]
            if kind == "ref":
                return objects[key]
            if kind == "name":
                return namespace[key]
            if kind == "rng":
                return rngs.by_key[key]
            if kind == "callback":
                return Callback(key)
            return mirrors.find({"key": key, "path": pid[2]})

    def mirror(body):
        if type(body) is dict and body.get("pickle"):
            import base64
            import io

            obj = Unpickler(io.BytesIO(base64.b64decode(body["pickle"]))).load()
            mirrors.add(body["key"], obj)
            return obj
        if type(body) is dict and body.get("callback"):
            return Callback(body["key"])
        return mirrors.find(body)

    def dec(value):
        return wire.decode(value, from_ref, rngs, mirror)

    known = mirrors.hook()
    made = [0]

    def shadow(value):
        """A model or optimizer the student's code made goes to the referee as its state
        (the referee rebuilds it, a student's layer class as a stand-in that calls back
        here), kept in step as the referee's own objects are."""
        found = known(value)
        if found is not None:
            return found
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(value, (torch.nn.Module, torch.optim.Optimizer)):
            return None
        key = f"w{made[0]}"
        made[0] += 1
        mirrors.add(key, value)
        return {"__mirror__": {"key": key, "shadow": wire.state_of(value, known)}}

    def enc(value):
        return wire.encode(value, to_ref, rngs, shadow)

    def resolve(target):  # a name in the submission's namespace, or a reference
        return namespace[target] if isinstance(target, str) else dec(target)

    def shared(answer):  # what both sides keep in step, added to every message
        answer["rngs"] = rngs.states()
        answer["torch"] = wire.torch_globals()
        answer["mirrors"] = mirrors.states()
        answer["lazy"] = {str(k): [enc(a), enc(kw)] for k, (a, kw) in lazy.items()}
        return answer

    def receive(message):
        rngs.sync(message.get("rngs", {}))
        wire.set_torch_globals(message.get("torch"))
        mirrors.drop(message.get("dropped", []))
        mirrors.sync(message.get("mirrors", {}), dec, early=True)

    def callback(key, args, kwargs):
        wire.send_message(answers, shared({"callback": key, "args": enc(list(args)),
                                           "kwargs": enc(dict(kwargs))}))
        while True:
            request = wire.read_message(requests)
            if request.get("op") != "return":
                send(handle(request))
                continue
            receive(request)
            if "error" in request:
                name, message = request["error"]
                kind = getattr(builtins, name, None) if isinstance(name, str) else None
                if not (isinstance(kind, type) and issubclass(kind, Exception)):
                    kind = RuntimeError
                raise kind(message)
            for before, after in zip(args, dec(request["args"]), strict=False):
                wire.write_back(before, after)
            return dec(request["value"])

    def send(answer):
        try:
            wire.send_message(answers, shared(answer))
        except (TypeError, ValueError) as error:  # e.g. a result too large for the wire
            wire.send_message(answers, {"error": ["ValueError", ["ValueError"],
                                                  f"the result could not be sent: {error}"]})

    shell = None
    namespace: dict = {}
    # Calls whose result stays here as a reference (a generator, an object): it may still change
    # the arguments later (a lazy mini-batch iterator shuffling X in place), so their arguments
    # are sent back with every answer. The last few such calls are kept.
    lazy: dict = {}

    def handle(request):
        nonlocal shell, namespace
        op = request.get("op")
        try:
            receive(request)
            if op == "run":
                from IPython.core.interactiveshell import InteractiveShell

                shell = InteractiveShell.instance()
                namespace = shell.user_ns
                errors = []
                for index, source in enumerate(request["cells"]):
                    result = shell.run_cell(source, store_history=False, silent=True)
                    error = result.error_in_exec or result.error_before_exec
                    if error is not None:
                        errors.append([index, type(error).__name__, str(error)[:500]])
                answer = {"errors": errors}
            elif op == "get":
                name = request["name"]
                value = namespace.get(name, namespace)
                torch = sys.modules.get("torch")
                if value is namespace:
                    answer = {"missing": True}
                elif torch is not None and isinstance(value, type) and issubclass(
                        value, torch.nn.Module):
                    answer = {"value": enc(value), "module_class": [value.__module__,
                                                                    value.__qualname__]}
                else:
                    answer = {"value": enc(value)}
            elif op == "call":
                function = resolve(request["target"])
                if request.get("attr"):
                    function = getattr(function, request["attr"])
                args, kwargs = dec(request["args"]), dec(request["kwargs"])
                result = function(*args, **kwargs)
                answer = {"value": enc(result), "args": enc(args), "kwargs": enc(kwargs)}
                if "__ref__" in json.dumps(answer["value"]) and "id" in request:
                    lazy[request["id"]] = (args, kwargs)
                    while len(lazy) > 8:
                        lazy.pop(next(iter(lazy)))
            elif op == "getattr":
                answer = {"value": enc(getattr(resolve(request["target"]), request["attr"]))}
            elif op == "setattr":
                setattr(resolve(request["target"]), request["attr"], dec(request["value"]))
                answer = {"value": None}
            elif op == "backward":  # the referee called backward() on a copy of this tensor
                resolve(request["target"]).backward(dec(request["grad"]))
                answer = {"value": None}
            else:
                answer = {"error": ["ValueError", ["ValueError"], f"unknown request {op!r}"]}
        except BaseException as error:  # the student's exception, reported by name
            if isinstance(error, (KeyboardInterrupt, SystemExit)) and op != "call":
                raise
            mro = [k.__name__ for k in type(error).__mro__]
            answer = {"error": [type(error).__name__, mro, str(error)[:2000]]}
        return answer

    while True:
        try:
            request = wire.read_message(requests)
        except EOFError:
            return
        send(handle(request))


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    answers = os.fdopen(os.dup(1), "wb")
    requests = os.fdopen(os.dup(0), "rb")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    sys.stdin = open(os.devnull)
    sys.stdout = open(os.devnull, "w")
    _serve(requests, answers)


if __name__ == "__main__":
    main()
