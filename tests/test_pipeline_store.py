"""Tests of immunopet.pipeline.store's code fingerprint: an edited step gets a new task key,
so a rerun recomputes it instead of reusing its stale cached output."""

from __future__ import annotations

import functools
import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

from immunopet.pipeline import EXIT_OK, Task, run_tasks
from immunopet.pipeline.store import code_fingerprint, task_key
from support.workload import scan_regions

STEP_MODULE = '''
import pandas as pd


def _scale():
    return {scale}


def unrelated():
    return {unrelated}


def produce(options, upstream):
    """A toy step."""
    return pd.DataFrame({{"value": [{value} * _scale()]}})


def consume(options, upstream):
    (df,) = upstream.values()
    return pd.DataFrame({{"value": df["value"] + 1.0}})
'''


def _step_module(
    folder: Path, *, value: str = "1.0", scale: str = "2.0", unrelated: str = "0"
) -> ModuleType:
    """Write and import a step module; every version gets the same module name."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "toy_steps.py"
    path.write_text(STEP_MODULE.format(value=value, scale=scale, unrelated=unrelated))
    spec = importlib.util.spec_from_file_location("toy_steps", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _key(func) -> str:  # type: ignore[no-untyped-def]
    return task_key(func, {"a": 1}, (), {}, "0.1.0")


def test_changed_step_source_gives_a_new_key_unchanged_the_same(tmp_path: Path) -> None:
    base = _step_module(tmp_path / "v1")
    same = _step_module(tmp_path / "v2")  # identical text in another file
    edited = _step_module(tmp_path / "v3", value="3.0")
    assert base.produce is not same.produce
    assert _key(base.produce) == _key(same.produce)
    assert _key(base.produce) != _key(edited.produce)
    assert _key(base.consume) == _key(edited.consume)  # consume's code did not change


def test_edited_same_module_helper_changes_the_key_of_its_callers_only(tmp_path: Path) -> None:
    base = _step_module(tmp_path / "v1")
    helper = _step_module(tmp_path / "v2", scale="5.0")
    other = _step_module(tmp_path / "v3", unrelated="42")
    assert _key(base.produce) != _key(helper.produce)  # produce calls _scale
    assert _key(base.consume) == _key(helper.consume)  # consume does not
    assert _key(base.produce) == _key(other.produce)  # unrelated() is not called


def test_functions_without_source_fall_back_to_their_bytecode() -> None:
    def compiled(body: str):  # type: ignore[no-untyped-def]
        scope: dict[str, object] = {}
        exec(textwrap.dedent(body), scope)  # no source file: inspect fails
        return scope["step"]

    one = compiled("def step(options, upstream):\n    return {'x': 1}\n")
    again = compiled("def step(options, upstream):\n    return {'x': 1}\n")
    two = compiled("def step(options, upstream):\n    return {'x': 2}\n")
    assert code_fingerprint(one) == code_fingerprint(again)
    assert code_fingerprint(one) != code_fingerprint(two)


def test_wrapped_and_partial_functions_are_fingerprinted_by_their_code(tmp_path: Path) -> None:
    base = _step_module(tmp_path / "v1")
    edited = _step_module(tmp_path / "v2", value="3.0")

    def wrap(func):  # type: ignore[no-untyped-def]
        @functools.wraps(func)
        def wrapper(options, upstream):  # type: ignore[no-untyped-def]
            return func(options, upstream)

        return wrapper

    assert code_fingerprint(wrap(base.produce)) == code_fingerprint(base.produce)
    assert code_fingerprint(wrap(base.produce)) != code_fingerprint(wrap(edited.produce))
    assert code_fingerprint(functools.partial(base.produce)) == code_fingerprint(base.produce)


def test_real_step_key_is_stable() -> None:
    assert code_fingerprint(scan_regions) == code_fingerprint(scan_regions)
    assert len(code_fingerprint(scan_regions)) == 64


def test_rerun_after_editing_a_step_recomputes_it_and_its_dependants(tmp_path: Path) -> None:
    out = tmp_path / "out"

    def tasks(module: ModuleType) -> list[Task]:
        return [
            Task("produce", "produce", module.produce, table="values"),
            Task("consume", "consume", module.consume, deps=("produce",), table="derived"),
        ]

    v1 = _step_module(tmp_path / "v1")
    first = run_tasks(tasks(v1), out, workers=0)
    assert first.exit_code == EXIT_OK and first.n_computed == 2
    again = run_tasks(tasks(_step_module(tmp_path / "v1b")), out, workers=0)
    assert (again.n_cached, again.n_computed) == (2, 0)  # same code: all cached
    edited = run_tasks(tasks(_step_module(tmp_path / "v2", value="3.0")), out, workers=0)
    # produce changed; consume's code did not, but its upstream key did
    assert (edited.n_cached, edited.n_computed) == (0, 2)
    assert len(list((out / ".cache" / "produce").glob("*.parquet"))) == 2
