"""The repository stands on its own: no tracked file points outside it (a sibling
`shared` folder, a documents folder of one machine) or names the absolute path of the
checkout it was written in. The contract lives in docs/API.md and the generated
OpenAPI and AsyncAPI documents; committed benchmark results store paths relative to the
repository root."""
from __future__ import annotations

import subprocess
from pathlib import Path

from bench.servers import ROOT as BENCH_ROOT
from bench.servers import repo_relative

ROOT = Path(__file__).resolve().parent.parent
# Spelled in pieces so that this file, which is tracked too, does not match itself.
OUTSIDE = ["../" + "shared", "shared" + "/API.md", "/" + "work" + "/"]


def tracked_text_files() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    texts = {}
    for name in filter(None, names):
        path = ROOT / name
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary (images, fonts, fixtures)
        texts[name] = data.decode("utf-8", errors="replace")
    return texts


def offending_lines(texts: dict[str, str], needles: list[str]) -> list[str]:
    return [f"{name}:{number}: {line.strip()[:160]}"
            for name, text in texts.items()
            for number, line in enumerate(text.splitlines(), 1)
            if any(needle in line for needle in needles)]


def test_no_tracked_file_points_outside_the_repository():
    texts = tracked_text_files()
    assert "docs/API.md" in texts and any(name.startswith("bench/results/") for name in texts)
    needles = [*OUTSIDE, str(ROOT)]
    assert offending_lines(texts, needles) == []


def test_the_check_finds_what_it_looks_for():
    texts = {"README.md": "see ../" + "shared/" + "API.md\nfine\n",
             "bench/results/x.json": '{"file": "' + str(ROOT) + '/bench/results/p.txt"}'}
    assert [line.split(":")[0] for line in offending_lines(texts, [*OUTSIDE, str(ROOT)])] \
        == ["README.md", "bench/results/x.json"]


def test_benchmark_results_store_paths_relative_to_the_repository():
    assert BENCH_ROOT == ROOT
    assert repo_relative(ROOT / "bench" / "results" / "profile-send.txt") \
        == "bench/results/profile-send.txt"
    assert not repo_relative(str(ROOT / "bench" / "results" / "x.txt")).startswith("/")
