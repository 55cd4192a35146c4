"""Result folders for the command line: the library's writer (:mod:`sinkplan.layers.resultfolder`)."""

from __future__ import annotations

from sinkplan.layers.resultfolder import ResultFolder, file_record, package_versions, write_json_atomic

__all__ = ["ResultFolder", "file_record", "package_versions", "write_json_atomic"]
