"""The inputs of a result folder are hashed in a thread from the moment it is claimed; the
manifest holds the same records as hashing them at the end, and a failed run stops the thread."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from sinkplan.layers.files import HashStopped, sha256_file
from sinkplan.layers.resultfolder import ResultFolder


def test_manifest_inputs_hashed_beside_the_run(tmp_path):
    a, b = tmp_path / "a.bin", tmp_path / "b.csv"
    a.write_bytes(bytes(range(256)) * 9000)  # 2.2 MiB: three chunks
    b.write_text("code,name\n1,林地\n", encoding="utf-8")
    with ResultFolder(tmp_path / "out", kind=None, command="t", parameters={}, inputs=[a, None, tmp_path / "gone", b]) as rf:
        rf.write_json("x.json", {"k": 1})
    m = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    # the two files that exist, in input order, with hashlib's own digests
    assert [(r["path"], r["bytes"], r["sha256"]) for r in m["inputs"]] == [
        (str(a.resolve()), 2_304_000, hashlib.sha256(a.read_bytes()).hexdigest()),
        (str(b.resolve()), len(b.read_bytes()), hashlib.sha256(b.read_bytes()).hexdigest())]


def test_inputs_set_after_entry_are_the_ones_recorded(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("a"), b.write_text("bb")
    with ResultFolder(tmp_path / "out", kind=None, command="t", parameters={}, inputs=[a]) as rf:
        rf.inputs = [b]  # as result_folder() does for a library writer
    m = json.loads((tmp_path / "out" / "manifest.json").read_text("utf-8"))
    assert [(r["bytes"], r["sha256"]) for r in m["inputs"]] == [(2, hashlib.sha256(b"bb").hexdigest())]


def test_a_set_stop_event_ends_the_hash_and_a_failed_run_sets_it(tmp_path):
    a = tmp_path / "a.bin"
    a.write_bytes(b"x" * (3 << 20))
    stop = threading.Event()
    stop.set()
    with pytest.raises(HashStopped):
        sha256_file(a, stop=stop)
    assert sha256_file(a) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()
    rf = ResultFolder(tmp_path / "out", kind=None, command="t", parameters={}, inputs=[a])
    with pytest.raises(RuntimeError), rf:
        raise RuntimeError("the run failed")
    assert rf._hashes._call._stop.is_set() and not (tmp_path / "out").exists()
