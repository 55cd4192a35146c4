"""The ``sinkplan`` command line: parses arguments, wires the packages together.

Each command lives in its own module exposing ``register(subparsers)``; the parser
below only collects them. A run imports the module of its own command only (the others
are listed by name and help line, from :data:`COMMANDS`), so ``sinkplan --help`` imports no
command module and ``sinkplan carbon`` none of siting's. Errors from
:class:`~sinkplan.layers.errors.SinkplanError` become a one-line message and exit code 2
(``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
from importlib import metadata

from sinkplan.layers.errors import SinkplanError
from sinkplan.context import RunContext, configure_logging
from sinkplan.params import cli_messages, cli_text
from sinkplan.layers.files import display_path, terminal_text
from sinkplan.layers.writing import check_output_path, write_error
from sinkplan.options import check_options
from sinkplan.signals import Interrupted, exit_code, signals_as_interrupts

__all__ = ["main", "build_parser"]

logger = logging.getLogger("sinkplan")

#: Command modules, each with ``register(subparsers)``; the order is the help order.
COMMAND_MODULES = (
    "sinkplan.cmd_demo",
    "sinkplan.cmd_info",
    "sinkplan.cmd_carbon",
    "sinkplan.cmd_coverage",
    "sinkplan.cmd_change",
    "sinkplan.cmd_map",
    "sinkplan.cmd_site",
    "sinkplan.cmd_learn",
)


#: Command → (module, help line), in help order: what ``sinkplan --help`` lists without
#: importing the modules (a test checks each line is the module's own).
COMMANDS = {
    "demo": ("sinkplan.cmd_demo", "build the synthetic demo region and run every step on it"),
    "info": ("sinkplan.cmd_info", "describe a raster or a vector layer"),
    "carbon": ("sinkplan.cmd_carbon", "carbon stocks per zone, class and pool (Mg C), with uncertainty"),
    "coverage": ("sinkplan.cmd_coverage", "forest coverage and stock volume per zone and year, against the targets"),
    "change": ("sinkplan.cmd_change", "land-cover transitions and carbon change between years; restoration effect"),
    "map": ("sinkplan.cmd_map", "one offline HTML map of result folders"),
    "figures": ("sinkplan.cmd_map", "PNG figures of a result folder"),
    "site": ("sinkplan.cmd_site", "screen land for PV or wind bases (exclusions, parcels, ranking)"),
    "classify": ("sinkplan.cmd_learn", "classify an image into land cover (scikit-learn)"),
    "area-estimate": ("sinkplan.cmd_learn", "error-adjusted class areas with 95 %% CIs (Olofsson et al. 2014)"),
    "density-model": ("sinkplan.cmd_learn", "carbon-density map from field plots (regression)"),
}


def _version() -> str:
    try:
        return metadata.version("sinkplan")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def common_options() -> argparse.ArgumentParser:
    """Options every command accepts (also after the command name)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("common options")
    g.add_argument("--quiet", "-q", action="store_true", default=argparse.SUPPRESS, help="no progress bars; warnings and errors only")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks and debug logs")
    g.add_argument("--max-cells", type=int, default=argparse.SUPPRESS, metavar="N",
                   help="cells per block (memory bound; default 4194304, site 1048576)")
    return p


def build_parser(command: str | None = None, *, full: bool = True) -> argparse.ArgumentParser:
    """The argument parser: every command in full (default), or with ``full=False`` only
    ``command``'s module imported and registered (the other commands listed by name)."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="sinkplan",
        description="Carbon-sink accounting and land planning: carbon stocks, forest coverage, "
        "new-energy siting and offline maps, with areas on the ellipsoid.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"sinkplan {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    if full:
        for name in COMMAND_MODULES:
            importlib.import_module(name).register(sub, common)
    else:
        if command in COMMANDS:
            importlib.import_module(COMMANDS[command][0]).register(sub, common)
        registered = dict(sub.choices)
        sub.choices.clear()
        sub._choices_actions.clear()
        for name, (_, help_line) in COMMANDS.items():  # in help order; stubs for the others
            if name in registered:
                sub.choices[name] = registered[name]
                sub._choices_actions.append(argparse.Action([], dest=name, help=help_line, metavar=None))
            else:
                sub.add_parser(name, parents=[common], help=help_line)
    from sinkplan.examples import add_examples

    add_examples(sub)  # every command's --help ends with example command lines
    return parser


def context_from(args: argparse.Namespace) -> RunContext:
    """The run configuration from parsed arguments."""
    return RunContext(
        quiet=getattr(args, "quiet", False),
        debug=getattr(args, "debug", False),
        max_cells=RunContext.max_cells if getattr(args, "max_cells", None) is None else args.max_cells,
        max_cells_given=getattr(args, "max_cells", None) is not None,
        workers=getattr(args, "workers", 0) or 0,
        scheduler=getattr(args, "scheduler", None),
        overwrite=getattr(args, "overwrite", False),
        lang=getattr(args, "lang", None) or "zh",
    )


def console_main() -> None:
    """The ``sinkplan`` console script: :func:`main`, then the process ends without the
    interpreter's teardown.

    Once a command has returned, every output is closed and in place; what is left is
    freeing modules one by one, and numba's compiler, pandas and GDAL took 0.15-0.2 s to
    tear down, 10-15 % of a 100 Mpx ``carbon`` run. The exit handlers still run (logging
    flushed, temporary folders removed, Dask closed) and the streams are flushed; then
    ``os._exit`` ends the process with the command's exit code. Library use and
    ``main()`` called from Python keep the normal interpreter exit.

    Before anything imports numpy, two process settings of a short-lived command, measured on
    a 100 Mpx ``carbon`` (1.5-1.6 s, 2 cores):

    - ``OPENBLAS_NUM_THREADS=1`` unless set: numpy's and scipy's OpenBLAS each start a thread
      per core that spins about 0.1 s waiting for work that never comes (no command does
      large linear algebra), 8 % of the run's CPU, taken from the pass. Dask's nanny sets
      the same for its workers.
    - The cyclic collector's first threshold 50 000 allocations instead of 700 (the next two
      stay 10 and 10, so full collections still come, every 5 million allocations):
      importing numba, pandas and GDAL's bindings ran 412 collections, 0.12 s, which freed
      2 825 objects in all.
    """
    import atexit
    import gc
    import os

    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    gc.set_threshold(50_000, 10, 10)
    code = main()
    try:
        atexit._run_exitfuncs()  # what the interpreter would run first on exit (public since 3.0, unlisted)
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
    except BaseException:  # a flush to a closed pipe, an interrupt: exit the ordinary way
        raise SystemExit(code)
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the command line (the console script's :func:`console_main` runs it);
    returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    for stream in (sys.stdout, sys.stderr):  # a name that is not UTF-8 prints as escapes, never raises
        if hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass
    with signals_as_interrupts():  # SIGTERM and SIGHUP clean up like Ctrl-C
        try:
            parser = build_parser(_command_in(argv), full=False)
            args = parser.parse_args(argv)
        except KeyboardInterrupt as exc:
            return exit_code(exc)
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        check_options(args)
        if getattr(args, "out", None):
            check_output_path(args.out)  # a folder that can never be written is said before any work
        if getattr(args, "scheduler", None):
            from sinkplan.layers.parallel import check_scheduler

            check_scheduler(args.scheduler)  # and a scheduler nobody answers at
        ctx = context_from(args)
        configure_logging(ctx)
        with cli_messages():  # library warnings as WARNING lines, parameters named by their options
            return int(args.func(args, ctx) or 0)
    except SinkplanError as exc:
        if getattr(args, "debug", False):
            logger.exception("failed")
        print(f"sinkplan {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except OSError as exc:  # a write no guard wrapped: a full disk, a permission... still one line
        err = write_error(exc, getattr(exc, "filename", None) or getattr(args, "out", None) or ".", assume_write=False)
        if err is None:
            raise
        if getattr(args, "debug", False):
            logger.exception("failed")
        print(f"sinkplan {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        how = f" by {exc.name}" if isinstance(exc, Interrupted) and exc.signum != signal.SIGINT else ""
        print(f"sinkplan {args.command}: interrupted{how}; no partial result was kept", file=sys.stderr)
        return exit_code(exc)


def _command_in(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first known command word not taken as an option's value)."""
    for i, a in enumerate(argv):
        if a in COMMANDS and not (i and argv[i - 1] == "--max-cells"):
            return a
    return None


def _one_line(exc: BaseException) -> str:
    # one line (whitespace runs, newlines too, are one space) in reading order (ESC, right-to-left marks escaped)
    return terminal_text(display_path(" ".join(cli_text(str(exc), getattr(exc, "params", ())).split())))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
