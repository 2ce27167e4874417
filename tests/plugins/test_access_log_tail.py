"""Reading Envoy's access log from a saved position: every complete line once, across restarts,
rotations (renamed away, or rotated while the reader was stopped) and truncation."""
import os

from plugins.access_log_tail import ROTATION_GRACE_SECONDS, LogTail, Position, rotated_name


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _append(path, *lines: str, end: str = "\n") -> None:
    with open(path, "a") as file:
        file.write("\n".join(lines) + end)


def test_complete_lines_are_read_once_and_a_line_being_written_waits(tmp_path):
    log = tmp_path / "access.log"
    _append(log, "one", "two")
    _append(log, '{"half', end="")
    tail = LogTail(log)
    assert tail.read() == [b"one", b"two"]
    assert tail.read() == []
    _append(log, ' a line"}')
    assert tail.read() == [b'{"half a line"}']
    assert tail.position == Position(os.stat(log).st_ino, log.stat().st_size)


def test_a_restart_resumes_at_the_saved_position(tmp_path):
    log = tmp_path / "access.log"
    _append(log, "one", "two")
    first = LogTail(log)
    first.read()
    saved = first.position
    first.close()
    _append(log, "three")
    assert LogTail(log, saved).read() == [b"three"]


def test_a_file_renamed_away_is_read_to_its_end_then_the_new_one_from_its_start(tmp_path):
    log, clock = tmp_path / "access.log", Clock()
    _append(log, "one")
    tail = LogTail(log, clock=clock)
    assert tail.read() == [b"one"]
    os.rename(log, rotated_name(log))
    _append(rotated_name(log), "late flush into the old file")
    _append(log, "first of the new file")
    assert tail.read() == [b"late flush into the old file"]
    assert tail.read() == []  # the old file may still get a flush: kept for the grace period
    clock.now += ROTATION_GRACE_SECONDS
    assert tail.read() == [b"first of the new file"]
    assert tail.at_path


def test_a_file_rotated_while_the_reader_was_stopped_is_finished_from_its_saved_position(tmp_path):
    log = tmp_path / "access.log"
    _append(log, "read before the stop")
    before = LogTail(log)
    before.read()
    saved = before.position
    before.close()
    _append(log, "written while stopped")
    os.rename(log, rotated_name(log))
    _append(log, "in the new file")
    clock = Clock()
    tail = LogTail(log, saved, clock=clock)
    assert tail.read() == [b"written while stopped"]
    assert tail.read() == []
    clock.now += ROTATION_GRACE_SECONDS
    assert tail.read() == [b"in the new file"]


def test_a_file_truncated_in_place_is_read_again_from_its_start(tmp_path):
    log = tmp_path / "access.log"
    _append(log, "a long line before the truncation")
    tail = LogTail(log)
    tail.read()
    log.write_text("new\n")  # copytruncate, then Envoy writes on
    assert tail.read() == [b"new"]


def test_no_file_yet_is_nothing_to_read(tmp_path):
    log = tmp_path / "access.log"
    tail = LogTail(log)
    assert tail.read() == [] and tail.position is None
    _append(log, "one")
    assert tail.read() == [b"one"]
