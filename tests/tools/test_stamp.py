"""Unit tests of tools/stamp."""

from tools.emit import emit
from tools.stamp import stamp


def test_only_stable_keys_and_the_label_are_stamped():
    status = ("BUILD_EMBED_LABEL v1.2\nBUILD_HOST builder-7\nBUILD_USER me\n"
              "STABLE_VERSION 1.2 rc1\nSTABLE_A x\nOTHER y\n")
    assert stamp.stamp_text(status) == b"BUILD_EMBED_LABEL v1.2\nSTABLE_A x\nSTABLE_VERSION 1.2 rc1\n"
    assert stamp.stamp_text("BUILD_EMBED_LABEL \nBUILD_HOST h\n") == b""


def test_writes_an_object_with_the_stamp(tmp_path):
    status = tmp_path / "stable-status.txt"
    status.write_text("STABLE_VERSION 9\n")
    out = tmp_path / "stamp.o"
    assert stamp.main(["--status", str(status), "--machine", "x86_64", "--out", str(out)]) == 0
    assert out.read_bytes() == emit.writer_for("x86_64").write(b"STABLE_VERSION 9\n", "rps_stamp")
    assert stamp.main(["--machine", "aarch64", "--out", str(out)]) == 0
    assert out.read_bytes() == emit.writer_for("aarch64").write(b"", "rps_stamp")


def test_unreadable_status_is_an_error(tmp_path, capsys):
    assert stamp.main(["--status", str(tmp_path / "missing"), "--machine", "x86_64", "--out", str(tmp_path / "o")]) == 1
    assert "stamp: cannot read the workspace status" in capsys.readouterr().err
