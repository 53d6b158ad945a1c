"""The ``autocoder`` command line. Commands parse arguments, call a task, map the result to an
exit code; they hold no compiler logic."""

from __future__ import annotations

import functools
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from autocoder import __version__
from autocoder.cli import service, supply, tasks
from autocoder.cli import validate as validate_cmd
from autocoder.cli.exit_codes import ExitCode
from autocoder.cli.output import info
from autocoder.diagnostics import DiagnosticSink, codes, render_json, render_text
from autocoder.validate.findings import TIERS

F = TypeVar("F", bound=Callable[..., Any])
FORMAT = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="How diagnostics are printed.",
)


def guarded(func: F) -> F:
    """Turn any unexpected exception into diagnostic AC9001 and exit code 70."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            code = func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("AUTOCODER_DEBUG"):
                traceback.print_exc()
            sink = DiagnosticSink()
            sink.report(
                codes.INTERNAL_ERROR,
                f"internal error: {type(exc).__name__}: {exc}",
                hint="this is a bug in Autocoder; rerun with AUTOCODER_DEBUG=1 for the "
                "traceback and report it with the input that caused it",
            )
            if kwargs.get("fmt") == "json":
                click.echo(render_json(sink.diagnostics), nl=False)
            else:
                click.echo(render_text(sink.diagnostics), nl=False, err=True)
            code = ExitCode.INTERNAL
        raise SystemExit(int(code))

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    __version__, "--version", prog_name="autocoder", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Autocoder: compile blueprints into a working, tested service and its deployment."""


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--name", help="System name (default: the directory name).")
@guarded
def init(directory: Path, name: str | None) -> int:
    """Write a starter architecture.yaml + deployment.yaml into DIRECTORY."""
    return tasks.init_task(directory, name)


def llm_options(func: F) -> F:
    """The options of the commands that may ask a model (``--prompt``, ``--prompt-file``)."""
    options = [
        click.option(
            "--prompt", help="Describe the system in words; a model writes the blueprints."
        ),
        click.option(
            "--prompt-file",
            type=click.Path(path_type=Path, dir_okay=False),
            help="The request in words, from a file (its autocoder.lock sits beside it).",
        ),
        click.option(
            "--accept-assumptions",
            is_flag=True,
            help="Accept the assumptions recorded in the blueprints (else reported; errors in CI).",
        ),
        click.option(
            "--provider",
            type=click.Choice(["anthropic", "openai-compatible"]),
            help="The model provider (default: anthropic; AUTOCODER_LLM_PROVIDER).",
        ),
        click.option("--model", help="The model (AUTOCODER_MODEL; autocoder.toml [llm] model)."),
        click.option(
            "--base-url", help="The provider's endpoint, e.g. an Ollama or vLLM server's /v1."
        ),
        click.option(
            "--offline/--online",
            default=None,
            help="Offline: answers only from autocoder.lock (the default when CI=true).",
        ),
        click.option(
            "--lock",
            "lock",
            type=click.Path(path_type=Path, dir_okay=False),
            help="The lockfile (default: beside --prompt-file, else ./autocoder.lock).",
        ),
        click.option(
            "--max-repairs",
            type=click.IntRange(0, 10),
            default=2,
            show_default=True,
            help="Rounds in which compiler diagnostics go back to the model.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _request(
    source: Path | None, prompt: str | None, prompt_file: Path | None
) -> tuple[str | None, Path | None]:
    """The request in words, if any; exactly one of SOURCE, --prompt, --prompt-file."""
    given = [x for x in (source, prompt, prompt_file) if x is not None]
    if len(given) != 1:
        raise click.UsageError("give exactly one of SOURCE, --prompt TEXT or --prompt-file FILE")
    if prompt_file is not None:
        try:
            return prompt_file.read_text(encoding="utf-8"), prompt_file
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"cannot read --prompt-file {prompt_file}: {exc}") from exc
    return prompt, None


def _llm_options(llm: dict[str, Any]) -> Any:
    from autocoder.cli.nl import LLMOptions

    return LLMOptions(
        provider=llm["provider"],
        model=llm["model"],
        base_url=llm["base_url"],
        offline=llm["offline"],
        lock=llm["lock"],
        max_repairs=llm["max_repairs"],
    )


def _from_words(
    request: str,
    origin: Path | None,
    out: Path,
    llm: dict[str, Any],
    *,
    accept_assumptions: bool,
    force: bool,
    fmt: str,
) -> int:
    """Blueprints written by a model from ``request`` into OUT (``compile --prompt``)."""
    from autocoder.cli.nl import compile_prompt_task

    return compile_prompt_task(
        request,
        origin,
        out,
        options=_llm_options(llm),
        accept_assumptions=accept_assumptions,
        force=force,
        fmt=fmt,
    )


@cli.command("compile")
@click.argument("source", type=click.Path(path_type=Path), required=False)
@click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Output directory (architecture.yaml, deployment.yaml, ir.v1.json).",
)
@click.option("--force", is_flag=True, help="Overwrite files in OUT even if they were edited.")
@llm_options
@click.option(
    "--revise",
    metavar="TEXT",
    help="Change the blueprints in SOURCE as described, minimally; prints the blueprint diff.",
)
@click.option(
    "--allow-breaking", is_flag=True, help="Let --revise make changes that break the contract."
)
@FORMAT
@guarded
def compile_cmd(
    source: Path | None,
    out: Path,
    force: bool,
    fmt: str,
    prompt: str | None,
    prompt_file: Path | None,
    accept_assumptions: bool,
    revise: str | None,
    allow_breaking: bool,
    **llm: Any,
) -> int:
    """Compile blueprints in SOURCE (a directory, an architecture.yaml or an OpenAPI document)
    into OUT; with --prompt/--prompt-file, have a model write them from a request; with
    --revise TEXT, have it change the blueprints in SOURCE."""
    if revise is not None:
        if source is None or prompt is not None or prompt_file is not None:
            raise click.UsageError("--revise TEXT changes the blueprints in SOURCE: give SOURCE")
        from autocoder.cli.nl import revise_task

        return revise_task(
            revise,
            source,
            out,
            options=_llm_options(llm),
            allow_breaking=allow_breaking,
            accept_assumptions=accept_assumptions,
            force=force,
            fmt=fmt,
        )
    if allow_breaking:
        raise click.UsageError("--allow-breaking goes with --revise")
    request, origin = _request(source, prompt, prompt_file)
    if source is not None:
        return tasks.compile_task(
            source, out, force=force, fmt=fmt, accept_assumptions=accept_assumptions
        )
    return _from_words(
        request or "", origin, out, llm, accept_assumptions=accept_assumptions, force=force, fmt=fmt
    )


OUTPUT = click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(path_type=Path),
    required=True,
    help="Output directory (blueprints, ir.v1.json, service/, deploy/, supply-chain records).",
)
SIGN_KEY = click.option(
    "--sign-key",
    type=click.Path(path_type=Path),
    help="Ed25519 private key (PEM, from `autocoder keygen`) that signs the provenance.",
)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@OUTPUT
@click.option("--force", is_flag=True, help="Overwrite generated files even if they were edited.")
@SIGN_KEY
@FORMAT
@guarded
def generate(source: Path, out: Path, force: bool, fmt: str, sign_key: Path | None) -> int:
    """Generate OUT/service, OUT/deploy and the supply-chain records from SOURCE: a compiled
    OUT (holding ir.v1.json), an IR file, or a blueprint directory (compiled first)."""
    return service.generate_task(source, out, force=force, fmt=fmt, sign_key=sign_key)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path), required=False)
@OUTPUT
@click.option("--force", is_flag=True, help="Overwrite generated files even if they were edited.")
@SIGN_KEY
@llm_options
@click.option(
    "--no-validate",
    "run_validate",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Do not run the validation tiers after generating.",
)
@FORMAT
@guarded
def build(
    source: Path | None,
    out: Path,
    force: bool,
    fmt: str,
    sign_key: Path | None,
    run_validate: bool,
    prompt: str | None,
    prompt_file: Path | None,
    accept_assumptions: bool,
    **llm: Any,
) -> int:
    """Compile the blueprints in SOURCE (or have a model write them from --prompt or
    --prompt-file), generate the service and its deployment package into OUT, and validate
    the result (every tier), in one step."""
    request, origin = _request(source, prompt, prompt_file)
    words = source is None
    if source is None:
        from autocoder.ir.serialize import IR_FILENAME

        code = _from_words(
            request or "",
            origin,
            out,
            llm,
            accept_assumptions=accept_assumptions,
            force=force,
            fmt=fmt,
        )
        if code != ExitCode.OK:
            return code
        source = out / IR_FILENAME
    code = service.build_task(
        source,
        out,
        force=force,
        fmt=fmt,
        sign_key=sign_key,
        accept_assumptions=accept_assumptions,
    )
    if code == ExitCode.OK:
        from autocoder.cli.nl import lock_path, logic_task

        options = _llm_options(llm)
        # The model's answers sit beside what they answer: the request file, or the blueprints.
        if words:
            beside = origin.parent if origin is not None else None
        else:
            beside = source if source.is_dir() else source.parent
        code = logic_task(out, lock_path(options, beside), options, fmt)
    if code != ExitCode.OK or not run_validate:
        if code == ExitCode.OK:
            info("validation: skipped (--no-validate); `autocoder validate OUT` runs it", fmt)
        return code
    return validate_cmd.validate_task(
        out,
        tiers=(),
        skips=(),
        reason=None,
        baseline=None,
        update_baseline=False,
        cache=True,
        fmt=fmt,
    )


FAIL_ON = click.option(
    "--fail-on",
    type=click.Choice(["breaking", "potentially-breaking"]),
    default="breaking",
    show_default=True,
    help="The lowest level of change that fails the command.",
)


@cli.command("diff")
@click.argument("base")
@click.argument("head")
@FAIL_ON
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "sarif", "junit"]),
    default="text",
    show_default=True,
    help="How the changes are printed.",
)
@click.option("--changelog", is_flag=True, help="Print a human changelog of the change instead.")
@guarded
def diff_cmd(base: str, head: str, fail_on: str, fmt: str, changelog: bool) -> int:
    """Classify every change from BASE to HEAD (blueprint directories, compiled OUT
    directories, IR files, or git revisions `git:REV:path`) as breaking, potentially breaking
    or compatible; exit 1 when one at or above --fail-on is not suppressed."""
    from autocoder.cli.diff import diff_task

    return diff_task(base, head, fail_on=fail_on, fmt=fmt, as_changelog=changelog)  # type: ignore[arg-type]


@cli.command("check")
@click.argument("source", type=click.Path(path_type=Path), default=".", required=False)
@click.option("--base", metavar="REV", help="Git revision to diff against (e.g. origin/main).")
@FAIL_ON
@click.option(
    "--reports",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("autocoder-reports"),
    show_default=True,
    help="Where the SARIF, JSON and JUnit reports and summary.md go.",
)
@guarded
def check_cmd(source: Path, base: str | None, fail_on: str, reports: Path) -> int:
    """What a CI job runs: compile SOURCE, diff it against --base, generate it into a scratch
    directory and run the fast validation tiers; one exit code, reports in --reports."""
    from autocoder.cli.diff import check_task

    return check_task(source, base=base, fail_on=fail_on, reports=reports)  # type: ignore[arg-type]


@cli.group("lock")
def lock_group() -> None:
    """The lockfile of model answers (autocoder.lock)."""


@lock_group.command("status")
@click.option(
    "--prompt-file",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    required=True,
    help="The request whose lockfile (beside it, or --lock) is checked.",
)
@click.option("--lock", "lock", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--provider", type=click.Choice(["anthropic", "openai-compatible"]))
@click.option("--model")
@click.option("--prune", is_flag=True, help="Remove the entries nothing uses any more.")
@FORMAT
@guarded
def lock_status(
    prompt_file: Path,
    lock: Path | None,
    provider: str | None,
    model: str | None,
    prune: bool,
    fmt: str,
) -> int:
    """Replay the request offline and report drift: answers the lockfile no longer has for the
    current prompts, and entries nothing uses any more (exit 1 when either is found)."""
    from autocoder.cli.nl import LLMOptions, lock_status_task

    options = LLMOptions(provider=provider, model=model, lock=lock)
    return lock_status_task(prompt_file, options, fmt, prune=prune)


@cli.command("validate")
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--tier",
    "tiers",
    multiple=True,
    metavar="TIER",
    help=f"Run only these tiers (repeatable): {', '.join(TIERS)}.",
)
@click.option(
    "--skip", "skips", multiple=True, metavar="TIER", help="Skip a tier (needs --reason)."
)
@click.option("--reason", help="Why the --skip'ped tiers are skipped (recorded in the report).")
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="Accept the findings whose fingerprints this file lists.",
)
@click.option(
    "--update-baseline",
    is_flag=True,
    help="Rewrite --baseline: new when absent, else only the accepted findings still present.",
)
@click.option("--no-cache", is_flag=True, help="Run every tier even if its inputs are unchanged.")
@FORMAT
@guarded
def validate_command(
    out: Path,
    tiers: tuple[str, ...],
    skips: tuple[str, ...],
    reason: str | None,
    baseline: Path | None,
    update_baseline: bool,
    no_cache: bool,
    fmt: str,
) -> int:
    """Run the validation tiers on the generated system in OUT; reports go to OUT/reports/."""
    return validate_cmd.validate_task(
        out,
        tiers=tiers,
        skips=skips,
        reason=reason,
        baseline=baseline,
        update_baseline=update_baseline,
        cache=not no_cache,
        fmt=fmt,
    )


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--port", type=int, help="Port on 127.0.0.1 (default: PORT or 8000).")
@click.option("--env", "environment", help="Environment of deployment.yaml (AUTOCODER_ENV).")
@click.option(
    "--python",
    help="Interpreter that has the service's dependencies "
    "(default: AUTOCODER_SERVICE_PYTHON, else OUT/.venv, created on first run).",
)
@guarded
def run(out: Path, port: int | None, environment: str | None, python: str | None) -> int:
    """Serve the generated service in OUT on 127.0.0.1 with embedded defaults (SQLite)."""
    return service.run_task(out, port=port, environment=environment, python=python)


@cli.command()
@click.option(
    "-o",
    "--output",
    "prefix",
    type=click.Path(path_type=Path),
    default=supply.DEFAULT_KEY_PREFIX,
    show_default=True,
    help="Write PREFIX.key (private, mode 0600) and PREFIX.pub.",
)
@FORMAT
@guarded
def keygen(prefix: Path, fmt: str) -> int:
    """Create an Ed25519 key pair for signing provenance; never overwrites a key."""
    return supply.keygen_task(prefix, fmt=fmt)


@cli.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--key",
    "key",
    type=click.Path(path_type=Path),
    help="Public key (PEM) whose signature the provenance must carry.",
)
@FORMAT
@guarded
def verify(out: Path, key: Path | None, fmt: str) -> int:
    """Check OUT against its build.lock and provenance (and the signature, with --key)."""
    return supply.verify_task(out, key_path=key, fmt=fmt)


@cli.command()
@click.argument("source", type=click.Path(path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True
)
@guarded
def graph(source: Path, fmt: str) -> int:
    """Print the component graph of SOURCE (streams solid, calls dashed)."""
    return tasks.graph_task(source, fmt)


@cli.command()
@click.argument("code")
@guarded
def explain(code: str) -> int:
    """Explain a diagnostic CODE (AC3001 or unknown-component)."""
    return tasks.explain_task(code)


@cli.command()
@click.argument("name", type=click.Choice(["architecture", "deployment", "ir"]))
@click.option("--path", "show_path", is_flag=True, help="Print the file's path instead.")
@guarded
def schema(name: str, show_path: bool) -> int:
    """Print the JSON Schema of a blueprint file or of the IR."""
    return tasks.schema_task(name, show_path)


def main() -> None:
    cli(prog_name="autocoder")
