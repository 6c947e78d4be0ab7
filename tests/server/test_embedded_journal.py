"""The journal's batches: many records of one commit written as a few multi-row statements (padded
to a handful of row counts) must leave exactly the final state of each document, in the order the
records came, whatever the batch's size and mix."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from server.embedded_journal import Journal, Record, encode, encode_document


def _expected(records: list[Record]) -> dict[tuple[str, Any], dict[str, Any]]:
    state: dict[tuple[str, Any], dict[str, Any]] = {}
    for record in records:
        if record[0] == "put":
            state[(record[1], record[2])] = record[4]
        elif record[0] == "del":
            state.pop((record[1], record[2]), None)
        elif record[0] == "drop":
            state = {k: v for k, v in state.items() if k[0] != record[1]}
    return state


def _batch(rng: random.Random, size: int) -> list[Record]:
    """Puts (several of one document among them), deletes, and now and then a drop or an index."""
    records: list[Record] = []
    for _ in range(size):
        collection = rng.choice(["a", "b", "c"])
        key = rng.randrange(size // 3 + 1)
        roll = rng.random()
        if roll < 0.7:
            doc = {"_id": key, "n": rng.randrange(1000), "text": "x" * rng.randrange(50)}
            records.append(("put", collection, encode(key), encode_document(doc), doc))
        elif roll < 0.97:
            records.append(("del", collection, encode(key)))
        elif roll < 0.99:
            records.append(("drop", collection))
        else:
            records.append(("index", collection, "n_1", '{"keys": [["n", 1]]}'))
    return records


def _stored(path: Path) -> dict[tuple[str, Any], dict[str, Any]]:
    journal = Journal(path, background=False)
    try:
        return {(collection, encode(doc["_id"])): doc for collection, doc in journal.documents()}
    finally:
        journal.close()


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 513, 1500])
async def test_a_batch_leaves_each_documents_last_state(tmp_path: Path, background: bool, size: int) -> None:
    rng = random.Random(size)
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, background=background)
    records: list[Record] = []
    for _ in range(3):  # several commits, each a batch of `size` records
        batch = _batch(rng, size)
        records += batch
        seq = journal.append([r[:4] for r in batch])
        await journal.durable(seq)
    journal.close()
    assert _stored(path) == _expected(records)


async def test_a_lone_put_and_a_lone_delete_commit(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite"
    journal = Journal(path, background=True)
    doc = {"_id": "k", "v": 1}
    await journal.durable(journal.append([("put", "a", encode("k"), encode_document(doc))]))
    await journal.durable(journal.append([("put", "a", encode("j"), encode_document({"_id": "j"}))]))
    await journal.durable(journal.append([("del", "a", encode("j"))]))
    journal.close()
    assert _stored(path) == {("a", encode("k")): doc}
