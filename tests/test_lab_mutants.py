"""The hidden tests of the labs catch typical mistakes and accept correct alternatives.

For each lab one kernel runs the solution notebook (:class:`tools.mutants.LabKernel`) and
tries every variant of the lab's table in :mod:`tools.variants`: each wrong variant must make
its named test cells fail (so it loses that function's points), each correct variant must
score 100 with no failing cell, and the unmodified solution must score 100 before and after
all of them. Variants that break the harness on purpose (an error at definition, rebound
globals) run first, so the table itself proves that they leave no trace. Finally, for three labs of
different kinds, one wrong variant is submitted to the real nbgrader: its gradebook score must
equal the harness's.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import one_thread_per_kernel, start_ahead
from tools.labs import ROOT, grade_in_temp_course, student_solution
from tools.mutants import LabKernel, Variant, VariantResult, resolve, wrong
from tools.variants import LABS, cross_check, variants_for


def _marks(lab: str) -> list:
    return [pytest.mark.slow, getattr(pytest.mark, lab.split("_")[0])]


def _lab_params() -> list:
    return [pytest.param(lab, marks=_marks(lab), id=lab) for lab in LABS]


def _saboteurs(kernel: LabKernel) -> list[Variant]:
    """Variants that attack the harness: an error while the cell is defined, and the right
    code followed by lines that rebind globals the tests rely on."""
    first = next(iter(kernel.solutions))
    first_test = kernel.tests[0][0]
    rebind = "\nnp = None\ncheck_close = check_shape = check_unchanged = lambda *a, **k: None\n"
    return [
        wrong("raises while being defined", {first: "raise RuntimeError('broken cell')"},
              first_test),
        Variant("rebinds the globals the tests use", "correct",
                {first: kernel.solutions[first] + rebind}),
    ]


def _try_all(lab: str) -> dict:
    """One kernel per lab: saboteurs, the solution, every variant, the solution again."""
    with LabKernel(lab) as kernel:
        saboteurs = [kernel.try_variant(v) for v in _saboteurs(kernel)]
        before = kernel.baseline()
        results = [kernel.try_variant(v) for v in variants_for(lab)]
        after = kernel.baseline()
    return {"lab": lab, "saboteurs": saboteurs, "before": before, "after": after,
            "results": results}


_one_thread_per_kernel = pytest.fixture(scope="module", autouse=True)(one_thread_per_kernel)
_TRIES: dict = {}  # lab -> Future of _try_all, started ahead of its tests


@pytest.fixture(scope="module", params=_lab_params())
def tried(request) -> dict:
    """The results of :func:`_try_all` for one lab."""
    if not _TRIES:  # each lab has its own kernel
        _TRIES.update(start_ahead(request, "tried", _try_all))
    future = _TRIES.get(request.param)
    return future.result() if future is not None else _try_all(request.param)


def _describe(result: VariantResult) -> str:
    errors = "; ".join(f"{where}: {error}" for where, error in result.errors.items())
    return (f"{result.name!r} ({result.kind}) scored {result.score:g}/{result.max_score:g}, "
            f"failing {list(result.failed)}, expected {list(result.expected)}; {errors or '-'}")


@pytest.mark.parametrize("lab", _lab_params())
def test_variant_tables_cover_enough_mistakes(lab):
    variants = variants_for(lab)
    kinds = [v.kind for v in variants]
    assert kinds.count("wrong") >= 8, f"{lab}: only {kinds.count('wrong')} wrong variants"
    assert kinds.count("correct") >= 3, f"{lab}: only {kinds.count('correct')} correct variants"
    names = [v.name for v in variants]
    assert len(set(names)) == len(names), f"{lab}: variant names must be unique"


def test_unmodified_solution_scores_full_marks(tried):
    for result in (tried["before"], tried["after"]):
        assert result.max_score == 100, f"{tried['lab']}: the points add up to {result.max_score}"
        assert result.ok, f"{tried['lab']}: {_describe(result)}"


def test_wrong_variants_fail_their_tests(tried):
    missed = [_describe(r) for r in tried["results"] if r.kind == "wrong" and not r.ok]
    assert not missed, f"{tried['lab']}: mistakes the tests do not catch:\n" + "\n".join(missed)


def test_correct_variants_score_full_marks(tried):
    punished = [_describe(r) for r in tried["results"] if r.kind == "correct" and not r.ok]
    assert not punished, f"{tried['lab']}: correct code punished:\n" + "\n".join(punished)


def test_broken_variants_leave_no_trace(tried):
    raised, rebound = tried["saboteurs"]
    assert any(where.endswith("(definition)") for where in raised.errors), _describe(raised)
    assert raised.score < 100, _describe(raised)
    assert rebound.failed, "with np = None the solution cannot pass: " + _describe(rebound)
    # the globals were restored: the solution and every variant after it are judged normally
    assert tried["before"].ok and tried["after"].ok, _describe(tried["before"])


# The real nbgrader grades one wrong variant of three labs that differ in kind (NumPy arrays,
# a PyTorch training lab, frozen modules and optimizers): equal scores there show that the
# harness grades as nbgrader does; doing it for every lab cost about 35 s of CI per lab.
CROSS_CHECKED = ("lab01_linear_regression", "lab05_cnn_pytorch", "lab08_transfer_learning")


def test_real_nbgrader_gives_the_harness_score(tried, tmp_path):
    lab = tried["lab"]
    if lab not in CROSS_CHECKED:
        pytest.skip("the harness is compared with nbgrader on " + ", ".join(CROSS_CHECKED))
    name = cross_check(lab)
    variant = next(v for v in variants_for(lab) if v.name == name)
    harness = next(r for r in tried["results"] if r.name == name)
    notebook = student_solution(ROOT / "labs" / lab / f"{lab}.ipynb",
                                ROOT / "solutions" / lab / f"{lab}.ipynb")
    sources = resolve(variant.replace, LabKernel(lab).solutions)  # parses, starts no kernel
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in sources:
            cell["source"] = sources[grade_id].strip().splitlines(keepends=True)
    graded = grade_in_temp_course(lab, tmp_path, submissions={"mutant": json.dumps(notebook)})
    assert graded["autograde"].returncode == 0, graded["autograde"].stderr[-3000:]
    score, max_score = graded["scores"]["mutant"]
    assert (score, max_score) == (harness.score, harness.max_score), (
        f"{lab}, {name!r}: nbgrader gave {score}/{max_score}, the harness "
        f"{harness.score}/{harness.max_score} (failing {list(harness.failed)})"
    )
