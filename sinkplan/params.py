"""Library parameters and the command line's options: the one table that maps them.

Library messages (errors, warnings, log lines) name the parameters of the library call, as an
API user writes them (``land_area_ha``, ``max_cells``); an error or warning lists those names
in its ``params`` (a log record in its ``extra={"params": ...}``). The command line shows the
same message with each listed parameter replaced by its option (``--land-area-ha``): this table
where the option is not ``--`` + the name with dashes, the rule otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import re
import warnings
from collections.abc import Iterable, Iterator

__all__ = ["OPTIONS", "option", "cli_text", "cli_messages"]

#: Parameter of a library function → the command-line option that sets it, where that is not
#: ``--`` + the parameter with dashes for underscores (``land_area_ha`` → ``--land-area-ha``).
OPTIONS: dict[str, str] = {
    "folder": "--out",                    # write_carbon(result, folder) … / --out DIR
    "out": "--out",
    "output folder": "--out",             # layers.writing: "choose another output folder"
    "an output folder": "--out",
    "the output folder": "--out",
    "years": "YEAR=RASTER arguments",    # forest_coverage({2015: ...}) / coverage 2015=a.tif …
    "the scheduler address": "--scheduler",  # layers.parallel: "fix the scheduler address"
    "a scheduler address": "--scheduler",
    "overrides": "--set",                 # load_profile(..., overrides={...}) / --set KEY=VALUE
    "overwrite=True": "--overwrite",        # write_carbon(..., overwrite=True)
    "on_raster=None": "--no-raster",       # carbon_stocks(on_raster=None) / write_carbon(raster=False)
    "valuation": "--carbon-price",         # land_change(valuation=Valuation(price_per_t_co2e=...))
    "price_per_t_co2e": "--carbon-price",
    "discount_rate_pct": "--discount-rate",
    "price_change_pct": "--price-change",
}


def option(param: str) -> str:
    """The command-line option of a library parameter.

    Examples
    --------
    >>> option("land_area_ha"), option("folder"), option("max_cells")
    ('--land-area-ha', '--out', '--max-cells')
    """
    return OPTIONS.get(param) or "--" + param.replace("_", "-")


def cli_text(message: str, params: Iterable[str] = ()) -> str:
    """``message`` as the command line shows it: each parameter of ``params`` named by its option
    where the message first names it (a later mention is of something else: a rule, a column);
    ``name#2`` replaces the second mention instead.

    Only whole names are replaced (not part of another word, a path, a dotted key or an option).

    Examples
    --------
    >>> cli_text("land_area_ha: zone 'X' is not in the zone layer; zones: A", ("land_area_ha",))
    "--land-area-ha: zone 'X' is not in the zone layer; zones: A"
    >>> cli_text("precip_field 'mm' needs zones: it is a field of the zone layer", ("precip_field", "zones"))
    "--precip-field 'mm' needs --zones: it is a field of the zone layer"
    >>> cli_text("sandy_closure given, but the profile lists no sandy_closure rule", ("sandy_closure",))
    '--sandy-closure given, but the profile lists no sandy_closure rule'
    >>> cli_text("not checked: ghi (rule) — no ghi given", ("ghi#2",))
    'not checked: ghi (rule) — no --ghi given'
    >>> cli_text("wind.* does not apply to tech pv; use pv.x or tech wind", ("tech", "tech#2"))
    'wind.* does not apply to --tech pv; use pv.x or --tech wind'
    """
    wanted: dict[str, set[int]] = {}
    for p in params:
        name, _, nth = str(p).partition("#")
        wanted.setdefault(name, set()).add(int(nth) if nth.isdigit() else 1)
    for p in sorted(wanted, key=len, reverse=True):
        hits = list(re.finditer(rf"(?<![\w.\-/\\]){re.escape(p)}(?![\w\-/\\])", message))
        for k in sorted(wanted[p], reverse=True):  # from the end, so earlier offsets hold
            if len(hits) >= k:
                m = hits[k - 1]
                message = message[: m.start()] + option(p) + message[m.end():]
    return message


class _OptionNames(logging.Filter):
    """Rewrites a record that lists ``params`` so that it names the options, and every record's
    message so that it stays one line in reading order: control characters and bidi marks of a
    zone name or path escaped (:func:`sinkplan.layers.files.terminal_text`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from sinkplan.layers.files import terminal_text

        params = getattr(record, "params", None)
        text = record.getMessage()
        if params:
            text = cli_text(text, params)
            record.params = ()
        safe = terminal_text(text)
        if params or safe != text:
            record.msg, record.args = safe, ()
        return True


@contextlib.contextmanager
def cli_messages() -> Iterator[None]:
    """For one command: every :class:`~sinkplan.layers.warnings.SinkplanWarning` shown (each time,
    not once per place) as a ``WARNING logger: message`` log line naming options, and log lines
    that list their parameters rewritten the same way."""
    from sinkplan.layers.warnings import SinkplanWarning

    handlers = list(logging.getLogger().handlers)
    flt = _OptionNames()
    for h in handlers:
        h.addFilter(flt)
    with warnings.catch_warnings():
        warnings.simplefilter("always", SinkplanWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if isinstance(message, SinkplanWarning):
                logging.getLogger(message.logger).warning(cli_text(str(message), message.params))
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        try:
            yield
        finally:
            for h in handlers:
                h.removeFilter(flt)
