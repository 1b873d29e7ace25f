"""A hostile server operator (#19): the database of a stopped server is changed, the server started again, and
the Python client (`samtal client ... read`, as a person runs it) must show what was done instead of showing
the case as if nothing happened. One test per attack; docs/protocol.md §20 says what each check catches."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from web.client.follow import Follower
from web.client.session import ClientSession

from .conftest import start_server, stop_server
from .helpers import CASE_DANA
from .test_cli import client

CHECK_FAILED = 4


# The server's own uniqueness rule is the operator's to drop: a copy of the table without it.
COPY_WITHOUT_UNIQUENESS = ("CREATE TABLE messages_copy AS SELECT * FROM messages", "DROP TABLE messages",
                           "ALTER TABLE messages_copy RENAME TO messages")


class Operator:
    """A server of our own for one test, and the power to change its database: stopped and started again
    around the change (`restart`), or under the running server, as an operator with a database console would."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.server = start_server(tmp)

    def tamper(self, change: Callable[[Any], None], restart: bool = False) -> None:
        """`change(db)` on the server's database, on either engine (a connection used as sqlite3's)."""
        if restart:
            stop_server(self.server)
        with self.server.db() as db:
            change(db)
        if restart:
            self.server = start_server(self.tmp)


@pytest.fixture
def operator(tmp_path: Path) -> Iterator[Operator]:
    op = Operator(tmp_path)
    yield op
    stop_server(op.server)



def swap_seqs(db: Any, first: int, second: int) -> None:
    """The operator swaps two stored messages of Dana's case (their seq numbers)."""
    db.execute("UPDATE messages SET seq = -1 WHERE case_id = ? AND seq = ?", (CASE_DANA, first))
    db.execute("UPDATE messages SET seq = ? WHERE case_id = ? AND seq = ?", (first, CASE_DANA, second))
    db.execute("UPDATE messages SET seq = ? WHERE case_id = ? AND seq = -1", (second, CASE_DANA))

def say(op: Operator, clients: Path, user: str, text: str) -> dict:
    """Send as `user`'s device in `clients` (the same device the CLI uses there); returns the ack."""
    async def send() -> dict:
        async with ClientSession(op.server.url, clients, user) as session:
            await session.start()
            socket = await session.transport.open_socket()
            try:
                return await session.send(socket, await session.case(CASE_DANA), text)
            finally:
                await socket.close()
    return asyncio.run(send())


def read(op: Operator, clients: Path, user: str) -> tuple[int, list[dict]]:
    result = client(op.server, clients, user, "read", CASE_DANA)
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def codes(line: dict) -> list[str]:
    return [p["code"] for p in line.get("problems", [])]


def test_a_message_changed_in_the_database_is_flagged_and_the_rest_still_shown(operator, tmp_path):
    clients = tmp_path / "clients"
    first = say(operator, clients, "dana", "Hej, här är jag.")
    second = say(operator, clients, "anna", "Hej Dana, jag läser.")
    third = say(operator, clients, "dana", "Bra, tack.")

    def flip_a_byte(db: Any) -> None:
        (env,) = db.execute("SELECT envelope FROM messages WHERE case_id = ? AND seq = ?",
                            (CASE_DANA, second["seq"])).fetchone()
        changed = bytearray(env)
        changed[-70] ^= 1  # inside the ciphertext
        db.execute("UPDATE messages SET envelope = ? WHERE case_id = ? AND seq = ?",
                   (bytes(changed), CASE_DANA, second["seq"]))

    operator.tamper(flip_a_byte, restart=True)
    code, lines = read(operator, clients, "dana")
    assert code == CHECK_FAILED
    by_seq = {line["seq"]: line for line in lines}
    assert by_seq[first["seq"]]["text"] == "Hej, här är jag." and not codes(by_seq[first["seq"]])
    assert by_seq[third["seq"]]["text"] == "Bra, tack."
    assert "text" not in by_seq[second["seq"]] and codes(by_seq[second["seq"]]) == ["bad_signature"]
    assert "changed" in by_seq[second["seq"]]["problems"][0]["reason"]
    # Dana's next message answered anna's as it was sent, which is not shown any more.
    assert codes(by_seq[third["seq"]]) == ["not_seen"]


def test_reordered_rows_are_flagged(operator, tmp_path):
    clients = tmp_path / "clients"
    question = say(operator, clients, "dana", "Får jag boka ett möte?")
    answer = say(operator, clients, "anna", "Ja, på torsdag.")
    assert read(operator, clients, "dana")[0] == 0

    operator.tamper(lambda db: swap_seqs(db, question["seq"], answer["seq"]))
    code, lines = read(operator, tmp_path / "fresh", "anna")  # even a device that never read the case
    assert code == CHECK_FAILED
    assert [line["text"] for line in lines] == ["Ja, på torsdag.", "Får jag boka ett möte?"]
    assert codes(lines[0]) == ["out_of_order"] and not codes(lines[1])


def test_a_message_replayed_under_a_new_seq_is_flagged(operator, tmp_path):
    clients = tmp_path / "clients"
    money = say(operator, clients, "anna", "Beslutet: du får 3 000 kr.")
    say(operator, clients, "dana", "Tack!")

    def replay(db: Any) -> None:
        for statement in COPY_WITHOUT_UNIQUENESS:
            db.execute(statement)
        db.execute("INSERT INTO messages SELECT case_id, (SELECT max(seq) + 1 FROM messages WHERE case_id = ?),"
                   " msg_id, sender_device, sender_user, envelope, stored_at + 1000 FROM messages"
                   " WHERE case_id = ? AND seq = ?", (CASE_DANA, CASE_DANA, money["seq"]))

    operator.tamper(replay)
    code, lines = read(operator, clients, "dana")
    assert code == CHECK_FAILED
    copies = [line for line in lines if line["msg_id"] == money["msg_id"]]
    assert len(copies) == 2 and not codes(copies[0]) and codes(copies[1]) == ["replayed"]
    assert copies[1]["problems"][0]["reason"].startswith(f"the same message was already shown at seq {money['seq']}")


def follow(op: Operator, clients: Path, user: str) -> tuple[list, list]:
    """What `user`'s device is pushed when it follows the case live from its start (web/client/follow.py):
    the messages, each as the follower shows it, and the problems of the case as a whole."""
    async def run() -> tuple[list, list]:
        async with ClientSession(op.server.url, clients, user) as session:
            await session.start()
            follower = Follower(session)
            await follower.follow(CASE_DANA)
            socket, pushed = await follower.connect()
            await socket.close()
            return pushed, follower.case_problems[CASE_DANA]
    return asyncio.run(run())


def _replay_first(db: Any, seq: int) -> None:
    for statement in COPY_WITHOUT_UNIQUENESS:
        db.execute(statement)
    db.execute("INSERT INTO messages SELECT case_id, (SELECT max(seq) + 1 FROM messages WHERE case_id = ?),"
               " msg_id, sender_device, sender_user, envelope, stored_at + 1000 FROM messages"
               " WHERE case_id = ? AND seq = ?", (CASE_DANA, CASE_DANA, seq))


def test_a_replayed_message_pushed_to_a_live_follower_is_flagged(operator, tmp_path):
    clients = tmp_path / "clients"
    money = say(operator, clients, "anna", "Beslutet: du får 3 000 kr.")
    say(operator, clients, "dana", "Tack!")
    pushed, _ = follow(operator, tmp_path / "before", "dana")
    assert [m.problems for m in pushed] == [(), ()]  # the honest case, as pushed, is clean

    operator.tamper(lambda db: _replay_first(db, money["seq"]))
    pushed, case_problems = follow(operator, clients, "dana")
    assert [m.body["text"] for m in pushed] == ["Beslutet: du får 3 000 kr.", "Tack!", "Beslutet: du får 3 000 kr."]
    assert [[code for code, _ in m.problems] for m in pushed] == [[], [], ["replayed"]]
    assert pushed[2].problems[0][1].startswith(f"the same message was already shown at seq {money['seq']}")
    assert case_problems == []


def test_a_reordered_message_pushed_to_a_live_follower_is_flagged(operator, tmp_path):
    clients = tmp_path / "clients"
    question = say(operator, clients, "dana", "Får jag boka ett möte?")
    answer = say(operator, clients, "anna", "Ja, på torsdag.")

    operator.tamper(lambda db: swap_seqs(db, question["seq"], answer["seq"]))
    pushed, _ = follow(operator, tmp_path / "fresh", "bo")
    assert [m.body["text"] for m in pushed] == ["Ja, på torsdag.", "Får jag boka ett möte?"]
    # The answer comes before the question it answers: at that moment it answers a message not shown.
    assert [[code for code, _ in m.problems] for m in pushed] == [["not_seen"], []]


def test_the_last_message_deleted_is_noticed_by_a_live_follower_that_saw_it(operator, tmp_path):
    clients = tmp_path / "clients"
    say(operator, clients, "anna", "Kan du skicka kontoutdraget?")
    last = say(operator, clients, "dana", "Här kommer det.")
    follow(operator, clients, "anna")  # anna's device was pushed it, and remembers it
    operator.tamper(lambda db: db.execute("DELETE FROM messages WHERE case_id = ? AND seq = ?",
                                          (CASE_DANA, last["seq"])))
    pushed, case_problems = follow(operator, clients, "anna")
    assert [m.body["text"] for m in pushed] == ["Kan du skicka kontoutdraget?"]
    assert [code for code, _ in case_problems] == ["gone"]


def test_a_message_deleted_in_the_middle_is_noticed(operator, tmp_path):
    clients = tmp_path / "clients"
    say(operator, clients, "dana", "Jag har fått ett nytt jobb.")
    hidden = say(operator, clients, "dana", "Lönen kommer den 25:e.")
    say(operator, clients, "anna", "Tack för beskedet.")

    operator.tamper(lambda db: db.execute("DELETE FROM messages WHERE case_id = ? AND seq = ?",
                                          (CASE_DANA, hidden["seq"])))
    code, lines = read(operator, tmp_path / "fresh", "bo")  # a colleague's device that never read the case
    assert code == CHECK_FAILED
    assert [line["text"] for line in lines] == ["Jag har fått ett nytt jobb.", "Tack för beskedet."]
    assert codes(lines[1]) == ["not_seen"]  # anna had seen the deleted message when she answered


def test_the_last_message_deleted_is_noticed_by_who_saw_it_and_by_its_sender(operator, tmp_path):
    clients = tmp_path / "clients"
    say(operator, clients, "anna", "Kan du skicka kontoutdraget?")
    say(operator, clients, "dana", "Här kommer det.")
    last = say(operator, clients, "dana", "Jag flyttar i mars.")
    assert read(operator, clients, "anna")[0] == 0  # anna's device showed it

    operator.tamper(lambda db: db.execute("DELETE FROM messages WHERE case_id = ? AND seq = ?",
                                          (CASE_DANA, last["seq"])))
    code, lines = read(operator, clients, "anna")
    assert code == CHECK_FAILED
    assert [line.get("text") for line in lines if "seq" in line] == ["Kan du skicka kontoutdraget?", "Här kommer det."]
    assert [line["problem"] for line in lines if "problem" in line] == ["gone"]
    code, lines = read(operator, clients, "dana")  # the sender's device knows it sent two
    assert code == CHECK_FAILED and [line["problem"] for line in lines if "problem" in line] == ["own_missing"]


def test_a_device_relabelled_to_another_owner_is_not_shown_as_theirs(operator, tmp_path):
    clients = tmp_path / "clients"
    say(operator, clients, "dana", "Hej, jag väntar på besked.")
    forged = say(operator, clients, "anna", "Ring 070-123 45 67 och uppge BankID-koden.")
    with operator.server.db() as db:
        (device,) = db.execute("SELECT sender_device FROM messages WHERE case_id = ? AND seq = ?",
                               (CASE_DANA, forged["seq"])).fetchone()

    def relabel(db: Any) -> None:  # anna's device, and what it sent, now "dana's"
        db.execute("UPDATE devices SET user_id = 'dana' WHERE id = ?", (device,))
        db.execute("UPDATE messages SET sender_user = 'dana' WHERE sender_device = ?", (device,))

    operator.tamper(relabel, restart=True)
    code, lines = read(operator, clients, "dana")
    assert code == CHECK_FAILED
    line = next(line for line in lines if line["seq"] == forged["seq"])
    assert "text" not in line and codes(line) == ["wrong_sender"]  # never shown as dana's own
    code, lines = read(operator, tmp_path / "fresh", "bo")  # nor to anyone else
    assert codes(next(line for line in lines if line["seq"] == forged["seq"])) == ["wrong_sender"]
