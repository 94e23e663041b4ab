"""tools/source_edits: exact-text edits of pinned sources, each checked against its tarball."""

import os
import tarfile
from pathlib import Path

import pytest

from tools.source_edits import source_edits


def _members(archive_variable: str, *suffixes: str) -> dict[str, str]:
    """The text of the archive's members ending in `suffixes`, by suffix (first directory dropped)."""
    found = {}
    with tarfile.open(os.environ[archive_variable]) as archive:
        for member in archive:
            relative = member.name.partition("/")[2]
            if relative in suffixes:
                found[relative] = archive.extractfile(member).read().decode("utf-8")
    assert set(found) == set(suffixes), f"{archive_variable} lacks {set(suffixes) - set(found)}"
    return found


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(text)
    return tmp_path


def test_mimalloc_edit_applies_to_the_pinned_cpython(tmp_path):
    root = _tree(tmp_path, _members("CPYTHON_3_13_ARCHIVE", "Objects/mimalloc/init.c"))
    assert source_edits.main(["mimalloc-lazy-process-load", "--root", str(root)]) == 0
    text = (root / "Objects/mimalloc/init.c").read_text()
    assert "__attribute__((constructor))" not in text
    # The first mi_process_init() runs the load the constructor ran; mi_thread_init() calls it.
    init = text.index("void mi_process_init(void) mi_attr_noexcept {")
    assert text.index("if (os_preloading) { mi_process_load(); return; }", init) < text.index("mi_atomic_once", init)
    assert text.index("static void mi_process_load(void)") < init
    thread_init = text.index("void mi_thread_init(void) mi_attr_noexcept")
    assert "mi_process_init();" in text[thread_init:thread_init + 200]


def test_xz_edit_selects_the_first_call_dispatch(tmp_path):
    sources = _members("XZ_ARCHIVE", "src/liblzma/check/crc32_fast.c", "src/liblzma/check/crc64_fast.c")
    for text in sources.values():
        # Without the define, the pinned liblzma resolves the CRC function on its first call.
        assert "#ifndef HAVE_FUNC_ATTRIBUTE_CONSTRUCTOR" in text
        assert "_dispatch(const uint8_t *buf, size_t size" in text
    # config.h as xz's configure writes it when the compiler has constructors.
    root = _tree(tmp_path, {"config.h": "#define HAVE_FUNCTION 1\n#define HAVE_FUNC_ATTRIBUTE_CONSTRUCTOR 1\n"})
    assert source_edits.main(["xz-crc-dispatch-on-first-call", "--root", str(root)]) == 0
    assert "#define HAVE_FUNC_ATTRIBUTE_CONSTRUCTOR" not in (root / "config.h").read_text()
    assert "#define HAVE_FUNCTION 1" in (root / "config.h").read_text()


@pytest.mark.parametrize("archive, edits, libraries", [
    ("CPYTHON_3_11_ARCHIVE", ["bundled-libraries-native"], ["LIBMPDEC", "LIBEXPAT"]),
    ("CPYTHON_3_13_ARCHIVE", ["bundled-libraries-native", "hacl-native"], ["LIBMPDEC", "LIBEXPAT", "LIBHACL"]),
])
def test_lto_edits_compile_the_bundled_libraries_natively(tmp_path, archive, edits, libraries):
    root = _tree(tmp_path, _members(archive, "Makefile.pre.in"))
    assert source_edits.main([*edits, "--root", str(root)]) == 0
    lines = (root / "Makefile.pre.in").read_text().splitlines()
    for library in libraries:
        # The last -flto/-fno-lto wins: each flag line ends with it, after the modules' flags.
        [flags] = [line for line in lines if line.startswith(library + "_CFLAGS=")]
        assert flags.endswith("$(PY_STDMODULE_CFLAGS) $(CCSHARED) -fno-lto")
        # and every object of the library is compiled with that variable.
        rules = [line for line in lines if line.startswith("\t$(CC) -c") and f"$({library}_CFLAGS)" in line]
        assert rules
    # No other compile rule changed.
    assert sum("-fno-lto" in line for line in lines) == len(libraries)


def test_a_changed_source_stops_the_build_and_leaves_the_tree_as_it_was(tmp_path, capsys):
    original = "void mi_process_init(void) mi_attr_noexcept {\n  static int once;\n}\n"
    root = _tree(tmp_path, {"Objects/mimalloc/init.c": original})
    assert source_edits.main(["mimalloc-lazy-process-load", "--root", str(root)]) == 1
    error = capsys.readouterr().err
    assert "edit 'mimalloc-lazy-process-load'" in error
    assert "Objects/mimalloc/init.c holds the passage to replace 0 times" in error
    assert "tools/source_edits/source_edits.py" in error
    # The first replacement matched, but nothing was written.
    assert (root / "Objects/mimalloc/init.c").read_text() == original


def test_a_passage_found_twice_is_refused(tmp_path, capsys):
    twice = "#define HAVE_FUNC_ATTRIBUTE_CONSTRUCTOR 1\n" * 2
    root = _tree(tmp_path, {"config.h": twice})
    assert source_edits.main(["xz-crc-dispatch-on-first-call", "--root", str(root)]) == 1
    assert "2 times, not once" in capsys.readouterr().err
    assert (root / "config.h").read_text() == twice


def test_a_missing_file_and_an_unknown_edit_are_named(tmp_path, capsys):
    assert source_edits.main(["xz-crc-dispatch-on-first-call", "--root", str(tmp_path)]) == 1
    assert "cannot read config.h" in capsys.readouterr().err
    assert source_edits.main(["no-such-edit", "--root", str(tmp_path)]) == 1
    error = capsys.readouterr().err
    assert "unknown edit 'no-such-edit'" in error and "mimalloc-lazy-process-load" in error


@pytest.mark.parametrize("name", sorted(source_edits.EDITS))
def test_every_edit_says_why(name):
    assert len(source_edits.EDITS[name].why) > 40
