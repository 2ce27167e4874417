"""The pure parts: chunk splitting, the ledger cap and fault-rule bookkeeping."""
from plugins.simulator.faults import FaultBook
from plugins.simulator.ledger import Ledger
from plugins.simulator.streaming import split


def test_split_yields_exactly_n_pieces_that_join_to_the_content():
    words = ["a", "b", "c", "d", "e"]
    pieces = split(words, 3)
    assert len(pieces) == 3 and "".join(text for text, _ in pieces) == "a b c d e"
    assert sum(count for _, count in pieces) == 5
    assert len(split(["a"], 4)) == 4


def test_ledger_drops_oldest_beyond_cap():
    ledger = Ledger(max_entries=2)
    for index in range(3):
        ledger.record({"provider": "p", "model": "m", "n": index})
    assert [entry["n"] for entry in ledger.query()] == [1, 2]


def test_latency_rule_and_first_status_rule_both_apply():
    book = FaultBook()
    book.add({"provider": "groq", "latency_ms": 50, "times": 1})
    book.add({"model": "m", "status": 500})
    book.add({"status": 429, "times": 1})
    fault = book.take("groq", "m")
    assert (fault.status, fault.latency_ms) == (500, 50)
    assert [rule["status"] for rule in book.list()] == [500, 429]  # the unused 429 kept its one time
