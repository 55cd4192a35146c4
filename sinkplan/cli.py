"""The ``sinkplan`` command line: parses arguments, wires the packages together.

Each command lives in its own module exposing ``register(subparsers)``; the parser
below only collects them. Errors from :class:`~sinkplan.layers.errors.SinkplanError` become a
one-line message and exit code 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from importlib import metadata

from sinkplan.layers.errors import SinkplanError
from sinkplan.context import RunContext, configure_logging

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
                   help="cells per block (memory bound; default 4194304)")
    return p


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="sinkplan",
        description="Carbon-sink accounting and land planning: carbon stocks, forest coverage, "
        "new-energy siting and offline maps, with areas on the ellipsoid.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"sinkplan {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub, common)
    from sinkplan.examples import add_examples

    add_examples(sub)  # every command's --help ends with example command lines
    return parser


def context_from(args: argparse.Namespace) -> RunContext:
    """The run configuration from parsed arguments."""
    return RunContext(
        quiet=getattr(args, "quiet", False),
        debug=getattr(args, "debug", False),
        max_cells=getattr(args, "max_cells", None) or RunContext.max_cells,
        workers=getattr(args, "workers", 0) or 0,
        scheduler=getattr(args, "scheduler", None),
        overwrite=getattr(args, "overwrite", False),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sinkplan`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    ctx = context_from(args)
    configure_logging(ctx)
    if ctx.max_cells < 1024:
        parser.error(f"--max-cells {ctx.max_cells} is too small; give at least 1024")
    try:
        return int(args.func(args, ctx) or 0)
    except SinkplanError as exc:
        if ctx.debug:
            logger.exception("failed")
        print(f"sinkplan {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed early
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("sinkplan: interrupted; no partial result was kept", file=sys.stderr)
        return 130


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
