"""read_small_text: the one reader of small user-named files (config, benchmark result, MQTT password)."""
import os
import threading

import pytest

from pipeline.config.files import read_small_text
from pipeline.errors import ConfigError, InputError

LIMIT = 64


def read(path, **hints):
    return read_small_text(path, LIMIT, InputError, "notes file", **hints)


def test_reads_utf8_text_up_to_the_limit(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("é" * (LIMIT // 2), encoding="utf-8")  # exactly LIMIT bytes
    assert read(path) == "é" * (LIMIT // 2)


@pytest.mark.parametrize("make, message", [
    (lambda p: None, "notes.txt: notes file not found"),
    (lambda p: p.mkdir(), "notes.txt: is a directory, not a notes file"),
    (lambda p: p.write_bytes(b"x" * (LIMIT + 1)), r"notes.txt is larger than 64 bytes \(try the other one\)"),
    (lambda p: p.write_bytes(b"ok \xff"), r"notes.txt is not UTF-8 text \(byte 3\); write UTF-8"),
])
def test_each_failure_is_one_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "notes.txt"
    make(path)
    with pytest.raises(InputError, match=message):
        read(path, size_hint=" (try the other one)", encoding_hint="; write UTF-8")


def test_prefix_and_error_class_are_the_callers(tmp_path):
    with pytest.raises(ConfigError, match=r"^daemon.mqtt.password_file: .*secret: password file not found$"):
        read_small_text(tmp_path / "secret", LIMIT, ConfigError, "password file", prefix="daemon.mqtt.password_file: ")


def test_a_device_without_a_size_is_read_only_to_the_limit():
    with pytest.raises(InputError, match="/dev/zero is larger than 64 bytes"):
        read("/dev/zero")


def test_other_os_errors_name_the_reason(tmp_path):
    (tmp_path / "plain").write_text("a file, not a folder")
    with pytest.raises(InputError, match="plain/notes.txt: cannot read: Not a directory"):
        read(tmp_path / "plain" / "notes.txt")


def test_a_named_pipe_without_a_writer_reads_as_empty_instead_of_hanging(tmp_path):
    fifo = tmp_path / "notes.txt"
    os.mkfifo(fifo)
    result = []
    reader = threading.Thread(target=lambda: result.append(read(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert result == [""]
