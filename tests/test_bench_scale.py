"""`make bench-scale` runs end to end at tiny sizes and writes its results in the shape
docs/PERFORMANCE.md quotes, with a plot; timings are not checked (speed is the bench's
business, never a test's)."""
from __future__ import annotations

import json

from bench import scale, scale_seed


def test_the_scale_bench_seeds_measures_and_writes_its_results(tmp_path, monkeypatch):
    # The fixed part of the scene at a tenth or less (1,000 rooms, 500 of them mine and a
    # post with 1,000 comments at every size otherwise); the operations keep their names.
    monkeypatch.setattr(scale_seed, "OTHER_ROOMS", 60)
    monkeypatch.setattr(scale_seed, "MY_ROOMS", 30)
    monkeypatch.setattr(scale_seed, "BIG_POST_COMMENTS", 50)
    out, png = tmp_path / "results" / "scale-test.json", tmp_path / "scale.png"
    scale.run([200, 2000], "memory", out, png, repeat=1)
    results = json.loads(out.read_text())
    assert results["sizes"] == [200, 2000]
    assert set(results["ops"]) == {
        "history_latest", "history_half_back", "catch_up_1000", "unread_500_rooms",
        "topic_list", "posts_hot", "posts_new", "posts_top", "post_page_1000_comments",
        "message_search", "post_search", "notifications"}
    for by_size in results["ops"].values():
        assert set(by_size) == {"200", "2000"}
        for figures in by_size.values():
            assert set(figures) == {"p50_ms", "p99_ms"}
            assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert '"/' not in out.read_text()  # no absolute path of this machine
    assert png.read_bytes().startswith(b"\x89PNG")
