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
- ``getattr`` / ``setattr``: attributes of a referenced object.

Nothing here is trusted: the referee decodes every answer with :func:`grader.wire.decode`,
which rebuilds plain data only, and computes every expected value on its own side.
"""

from __future__ import annotations

import json
import os
import sys


def _serve(requests, answers) -> None:
    import wire  # the copy next to this file (the sandbox does not see the grader package)

    objects: list = []

    def to_ref(value):
        objects.append(value)
        return wire.Ref(len(objects) - 1)

    def from_ref(ref):
        return objects[ref.id]

    rngs = wire.RngTable("w")

    def dec(value):
        return wire.decode(value, from_ref, rngs)

    def enc(value):
        return wire.encode(value, to_ref, rngs)

    def resolve(target):  # a name in the submission's namespace, or a reference
        return namespace[target] if isinstance(target, str) else dec(target)

    shell = None
    namespace: dict = {}
    # Calls whose result stays here as a reference (a generator, an object): it may still change
    # the arguments later (a lazy mini-batch iterator shuffling X in place), so their arguments
    # are sent back with every answer. The last few such calls are kept.
    lazy: dict = {}
    while True:
        try:
            request = wire.read_message(requests)
        except EOFError:
            return
        op = request.get("op")
        try:
            rngs.sync(request.get("rngs", {}))
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
                if name not in namespace:
                    answer = {"missing": True}
                else:
                    answer = {"value": enc(namespace[name])}
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
            else:
                answer = {"error": ["ValueError", ["ValueError"], f"unknown request {op!r}"]}
        except BaseException as error:  # the student's exception, reported by name
            if isinstance(error, (KeyboardInterrupt, SystemExit)) and op != "call":
                raise
            mro = [k.__name__ for k in type(error).__mro__]
            answer = {"error": [type(error).__name__, mro, str(error)[:2000]]}
        try:
            answer["rngs"] = rngs.states()
            answer["lazy"] = {str(k): [enc(a), enc(kw)] for k, (a, kw) in lazy.items()}
            wire.send_message(answers, answer)
        except (TypeError, ValueError) as error:  # e.g. a result too large for the wire
            wire.send_message(answers, {"error": ["ValueError", ["ValueError"],
                                                  f"the result could not be sent: {error}"]})


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
