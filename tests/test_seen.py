"""The ids kept while building: `SeenIds` answers exactly as the dict it stands in for."""

from __future__ import annotations

import random

import pytest

from retrieval import seen as seen_module
from retrieval.seen import SeenIds

IDS = [f"story-{i}" for i in range(40)] + ["", "é", "e\u0301", "\ud800 lone", "long " * 50]
FILES = ["a.jsonl", "b/c.md", "d.txt"]


@pytest.mark.parametrize("hashing", ["real", "few", "one"])
@pytest.mark.parametrize("seed", range(6))
def test_seen_ids_answer_as_a_dict_whatever_the_hashes(
    monkeypatch: pytest.MonkeyPatch, hashing: str, seed: int
) -> None:
    if hashing != "real":
        # Colliding hashes: the whole id must still tell two ids apart.
        monkeypatch.setattr(seen_module, "_hash", lambda raw: len(raw) % 3 if hashing == "few" else 2**64 - 1)
    monkeypatch.setattr(seen_module, "_RECENT", 4)  # sorted in often
    rng = random.Random(seed)
    ids, plain = SeenIds(), {}
    first = [(rng.choice(IDS), rng.choice(FILES)) for _ in range(rng.randrange(30))]
    ids.update(first)
    plain.update(first)
    for _ in range(400):
        article_id, file = rng.choice(IDS), rng.choice(FILES)
        if rng.random() < 0.5:
            assert ids.get(article_id) == plain.get(article_id)
        else:
            ids[article_id] = file
            plain[article_id] = file
    assert [ids.get(i) for i in IDS] == [plain.get(i) for i in IDS]


def test_ids_recorded_since_a_mark_are_forgotten_and_can_be_kept_again() -> None:
    ids = SeenIds()
    ids.update([("lake", "a.jsonl"), ("mill", "a.jsonl")])
    mark = len(ids)
    for article_id in ("choir", "reef"):
        assert ids.get(article_id) is None
        ids[article_id] = "b.jsonl"
    ids.forget_since(mark)
    assert [ids.get(i) for i in ("lake", "mill", "choir", "reef")] == ["a.jsonl", "a.jsonl", None, None]
    ids["reef"] = "c.jsonl"
    assert ids.get("reef") == "c.jsonl"


def test_an_id_given_twice_at_once_keeps_the_file_given_last() -> None:
    ids = SeenIds()
    ids.update([("lake", "a.jsonl"), ("mill", "a.jsonl"), ("lake", "b.jsonl"), ("lake", "c.jsonl")])
    assert (ids.get("lake"), ids.get("mill"), ids.get("choir")) == ("c.jsonl", "a.jsonl", None)
