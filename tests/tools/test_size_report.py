"""Tests of tools/size_report: the treemap's layout and SVG, reading link maps and archives,
attributing objects and packed resources, and the errors for bad inputs."""

from __future__ import annotations

import json
import random
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tools.formats import resources
from tools.size_report import size_report, treemap

_SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("seed", range(20))
def test_treemap_areas_are_proportional_and_fill_the_rectangle(seed):
    rng = random.Random(seed)
    rect = treemap.Rect(3.0, 5.0, rng.uniform(10, 900), rng.uniform(10, 900))
    sizes = [rng.choice([0, rng.randint(1, 10), rng.randint(1, 100_000)]) for _ in range(rng.randint(1, 80))]
    sizes[0] = max(sizes[0], 1)
    placed = treemap.squarify(sizes, rect)
    assert len(placed) == len(sizes)
    total = sum(sizes)
    for size, box in zip(sizes, placed):
        assert box.area == pytest.approx(size * rect.area / total, rel=1e-9, abs=1e-6)
        assert rect.x - 1e-9 <= box.x and box.x + box.width <= rect.x + rect.width + 1e-6
        assert rect.y - 1e-9 <= box.y and box.y + box.height <= rect.y + rect.height + 1e-6
    assert sum(box.area for box in placed) == pytest.approx(rect.area)
    # No two boxes overlap (their areas add up to the rectangle's, so they tile it).
    boxes = [b for b in placed if b.area > 0]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap_w = min(a.x + a.width, b.x + b.width) - max(a.x, b.x)
            overlap_h = min(a.y + a.height, b.y + b.height) - max(a.y, b.y)
            assert overlap_w <= 1e-6 or overlap_h <= 1e-6


def test_treemap_boxes_are_not_slivers():
    placed = treemap.squarify([1] * 16, treemap.Rect(0, 0, 400, 400))
    assert all(max(b.width / b.height, b.height / b.width) < 1.01 for b in placed)


def test_treemap_edge_cases():
    rect = treemap.Rect(0, 0, 10, 10)
    assert treemap.squarify([], rect) == []
    assert all(b.area == 0 for b in treemap.squarify([0, 0], rect))
    assert treemap.squarify([5], rect) == [rect]
    with pytest.raises(ValueError, match="negative"):
        treemap.squarify([1, -1], rect)


def test_human_size():
    assert treemap.human_size(0) == "0 B"
    assert treemap.human_size(1536) == "1.5 KiB"
    assert treemap.human_size(24_270_248) == "23.1 MiB"


def _svg_boxes(svg: str) -> tuple[ET.Element, list[ET.Element]]:
    root = ET.fromstring(svg)
    return root, [r for r in root.iter(_SVG + "rect") if r.get("stroke") == "#ffffff"]


def test_svg_escapes_labels_and_carries_tooltips():
    groups = [
        treemap.Group("a <group> & more", "#123456", [treemap.Box("<script>alert(1)</script>", 600, 'detail "quoted" & <b>')]),
        treemap.Group("other", "#654321", [treemap.Box("x&y", 400, "")]),
    ]
    svg = treemap.render_svg("title <&>", groups, 1000, width=400, height=300)
    root, boxes = _svg_boxes(svg)  # parses: everything is escaped
    assert "<script>" not in svg
    titles = [t.text for t in root.iter(_SVG + "title")]
    assert titles[0] == "title <&>"
    assert any("<script>alert(1)</script>" in t and 'detail "quoted" & <b>' in t and "600 bytes" in t and "60.0 %" in t
               for t in titles)
    texts = ["".join(t.itertext()) for t in root.iter(_SVG + "text")]
    assert any(t.startswith("<script>") for t in texts)
    assert len(boxes) == 2
    area = sum(float(b.get("width")) * float(b.get("height")) for b in boxes)
    assert area == pytest.approx(400 * 300)


def test_svg_leaves_unattributed_bytes_blank():
    groups = [treemap.Group("g", "#123456", [treemap.Box("half", 50, "")])]
    _, boxes = _svg_boxes(treemap.render_svg("t", groups, 100, width=200, height=100))
    assert sum(float(b.get("width")) * float(b.get("height")) for b in boxes) == pytest.approx(200 * 100 / 2)


_MAP = """\
             VMA              LMA     Size Align Out     In      Symbol
         10002e0          10002e0       1c     1 .interp
         10002e0          10002e0       1c     1         <internal>:(.interp)
         100a140          100a140      100    64 .rodata
         100a140          100a140       40     1         lib/libpython3.13.a(ceval.o):(.rodata)
         100a140          100a140        4     1                 some_symbol
         100a180          100a180       b0    16         /tmp/zig-cache/o/1/crt1.o:(.rodata.rps_resources)
         1d6de78          1d6de78       30     8 .eh_frame
         1d6de78          1d6de78       30     1         out/_objs/main.pic.o:(.eh_frame+0x18)

               0                0       29     1 .comment
"""


def test_parse_link_map():
    parsed = size_report.parse_link_map(_MAP, "x.map")
    assert parsed.outputs == {".interp": (0x10002e0, 0x1c), ".rodata": (0x100a140, 0x100), ".eh_frame": (0x1d6de78, 0x30),
                              ".comment": (0, 0x29)}
    assert [(i.output, i.source, i.section, i.size) for i in parsed.inputs] == [
        (".interp", "<internal>", ".interp", 0x1c),
        (".rodata", "lib/libpython3.13.a(ceval.o)", ".rodata", 0x40),
        (".rodata", "/tmp/zig-cache/o/1/crt1.o", ".rodata.rps_resources", 0xb0),
        (".eh_frame", "out/_objs/main.pic.o", ".eh_frame", 0x30),
    ]


def test_parse_link_map_errors_name_the_file_and_line():
    with pytest.raises(size_report.SizeReportError, match=r"x\.map: not a linker map"):
        size_report.parse_link_map("hello\n", "x.map")
    with pytest.raises(size_report.SizeReportError, match=r"x\.map:3: not a line of a linker map"):
        size_report.parse_link_map(_MAP.splitlines()[0] + "\n" + _MAP.splitlines()[1] + "\ngarbage\n", "x.map")


def _archive(members: dict[str, bytes]) -> bytes:
    """A GNU ar archive: names longer than 15 characters go to the // table."""
    long_names = b""
    headers = []
    for name in members:
        if len(name) > 15:
            headers.append(f"/{len(long_names)}")
            long_names += name.encode() + b"/\n"
        else:
            headers.append(name + "/")
    out = bytearray(b"!<arch>\n")

    def add(name: str, body: bytes) -> None:
        out.extend(f"{name:<16}{0:<12}{0:<6}{0:<6}{644:<8}{len(body):<10}`\n".encode())
        out.extend(body + (b"\n" if len(body) % 2 else b""))

    add("/", b"\0\0\0\0")
    if long_names:
        add("//", long_names)
    for header, body in zip(headers, members.values()):
        add(header, body)
    return bytes(out)


def test_archive_members(tmp_path):
    path = tmp_path / "libx.a"
    path.write_bytes(_archive({"a.o": b"odd", "a_very_long_member_name.o": b"even", "b.o": b""}))
    assert size_report.archive_members(str(path)) == {"a.o": b"odd", "a_very_long_member_name.o": b"even", "b.o": b""}


def test_archive_errors(tmp_path):
    with pytest.raises(size_report.SizeReportError, match=r"cannot read the archive .*missing\.a"):
        size_report.archive_members(str(tmp_path / "missing.a"))
    (tmp_path / "bad.a").write_bytes(b"not an archive")
    with pytest.raises(size_report.SizeReportError, match=r"bad\.a: not an ar archive"):
        size_report.archive_members(str(tmp_path / "bad.a"))


def _node(defined=(), undefined=()):
    return size_report._ObjectSymbols(set(defined), set(undefined))


def test_owners_follow_references_but_not_into_module_inits():
    nodes = {
        "main.o": _node(["main"], ["Py_Main"]),
        "inittab.o": _node(["_PyImport_Inittab"], ["PyInit__ssl", "PyInit__hashlib", "PyInit_posix"]),
        "lib.a(pylifecycle.o)": _node(["Py_Main", "PyLong_New"], ["_PyImport_Inittab", "crc32"]),
        "lib.a(posixmodule.o)": _node(["PyInit_posix"], ["PyLong_New"]),
        "lib.a(_ssl.o)": _node(["PyInit__ssl"], ["SSL_new", "EVP_md5", "PyLong_New"]),
        "lib.a(_hashopenssl.o)": _node(["PyInit__hashlib"], ["EVP_md5"]),
        "libssl.a(ssl_lib.o)": _node(["SSL_new"], ["EVP_md5"]),
        "libcrypto.a(digest.o)": _node(["EVP_md5"]),
        "libz.a(crc32.o)": _node(["crc32"]),
        "lib.a(unused.o)": _node(["nobody_calls_this"]),
    }
    owners = size_report.owners_of(nodes, ["main.o", "inittab.o"])
    assert owners["lib.a(pylifecycle.o)"] == {""}
    assert owners["libz.a(crc32.o)"] == {""}
    assert owners["lib.a(posixmodule.o)"] == {"posix"}
    assert owners["lib.a(_ssl.o)"] == {"_ssl"}
    assert owners["libssl.a(ssl_lib.o)"] == {"_ssl"}
    assert owners["libcrypto.a(digest.o)"] == {"_ssl", "_hashlib"}
    assert owners.get("lib.a(unused.o)", set()) == set()


def _blob_and_report():
    blob = resources.write({
        "modules": [
            resources.Entry("json", b"j" * 100, None, resources.PACKAGE),
            resources.Entry("json.decoder", b"d" * 50),
            resources.Entry("hello", b"h" * 30),
            resources.Entry("examples.hello", b"h" * 30),  # the same payload, stored once
            resources.Entry("yaml", b"y" * 70),
            resources.Entry("_rps_importer", b"r" * 20),
        ],
        "resources": [resources.Entry("json/data.txt", b"t" * 9)],
        "metadata": [resources.Entry("PyYAML-6.0.dist-info/METADATA", b"m" * 11)],
    })
    wheel = "PyYAML-6.0-cp313-cp313-manylinux.whl"
    report = {
        "format": "rps-pack-report-3",
        "blob_size": len(blob),
        "packages": [{"dist": "PyYAML", "version": "6.0", "wheel": wheel}],
        "modules": [
            {"name": "json", "origin": "<stdlib>/json/__init__.py"},
            {"name": "json.decoder", "origin": "<stdlib>/json/decoder.py"},
            {"name": "hello", "origin": "examples/hello.py"},
            {"name": "examples.hello", "origin": "examples/hello.py"},
            {"name": "yaml", "origin": wheel + "/yaml/__init__.py"},
            {"name": "_rps_importer", "origin": "<rules_py_standalone>/runtime/rps_importer.py"},
        ],
        "resources": [{"name": "json/data.txt", "origin": "<stdlib>/json/data.txt"}],
        "metadata": [{"name": "PyYAML-6.0.dist-info/METADATA", "origin": wheel + "/PyYAML-6.0.dist-info/METADATA"}],
        "libraries": [],
    }
    return blob, report


def test_resources_are_attributed_per_entry_and_add_up():
    blob, report = _blob_and_report()
    parts = {(p.group, p.name): p.size for p in size_report.attribute_resources(blob, report, "r.json")}
    assert parts[(size_report.STDLIB, "json")] == 100 + 50 + 9
    assert parts[(size_report.APPLICATION, "hello")] == 30
    assert (size_report.APPLICATION, "examples") not in parts
    assert parts[(size_report.PACKAGES, "PyYAML 6.0")] == 70 + 11
    assert parts[(size_report.RUNTIME, "rules_py_standalone runtime (Python)")] == 20
    assert sum(parts.values()) == len(blob)
    assert parts[(size_report.OVERHEAD, "resources index")] > 0


def test_the_zstd_dictionary_is_a_part_of_its_own():
    blob, report = _blob_and_report()
    modules = resources.Blob(blob)
    tables = {table: [resources.Entry(r.name, bytes(modules.payload(r)[0]), None, r.flags) for r in records]
              for table, records in modules.tables.items()}
    with_dictionary = resources.write(tables, b"\x37\xa4\x30\xec" + b"D" * 996)
    parts = {(p.group, p.name): p.size
             for p in size_report.attribute_resources(with_dictionary, dict(report, blob_size=len(with_dictionary)), "r.json")}
    assert parts[(size_report.OVERHEAD, "zstd dictionary")] == 1000
    assert sum(parts.values()) == len(with_dictionary) and parts[(size_report.OVERHEAD, "resources padding")] < 16 * 8


def test_resources_from_another_build_are_refused():
    blob, report = _blob_and_report()
    with pytest.raises(size_report.SizeReportError, match=r"r\.json: blob_size .* another build"):
        size_report.attribute_resources(blob, dict(report, blob_size=1), "r.json")
    report["modules"] = report["modules"][1:]
    with pytest.raises(size_report.SizeReportError, match=r"r\.json: no modules entry 'json'"):
        size_report.attribute_resources(blob, report, "r.json")
    with pytest.raises(size_report.SizeReportError, match="packed resources cannot be read"):
        size_report.attribute_resources(b"x" * 100, report, "r.json")


def test_text_report_sorts_and_totals():
    parts = [size_report.Part(size_report.STDLIB, "json", 700), size_report.Part(size_report.OVERHEAD, "ELF headers", 300)]
    text = size_report.text_report("app", parts, 1000)
    lines = text.splitlines()
    assert lines[0] == "app: 1,000 bytes (1000 B)"
    assert "700   70.0 %" in lines[3] and lines[3].endswith("json")
    assert lines[-1].split() == ["1,000", "100.0", "%", "total"]


def _python_json(tmp_path: Path) -> Path:
    doc = {
        "version": "8", "target_triple": "x86_64-unknown-linux-gnu", "python_version": "3.13.1",
        "python_major_minor_version": "3.13", "python_tag": "cp313", "python_bytecode_magic_number": "f30d0d0a",
        "python_exe": "install/bin/python3", "python_paths": {"stdlib": "install/lib/python3.13"},
        "python_stdlib_test_packages": [], "python_extension_module_loading": ["builtin"],
        "libpython_link_mode": "static", "crt_features": [],
        "build_info": {"core": {"objs": [], "links": [], "static_lib": "build/lib/libpython3.13.a"}, "extensions": {}},
    }
    path = tmp_path / "PYTHON.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def inputs(tmp_path):
    blob, report = _blob_and_report()
    (tmp_path / "app").write_bytes(b"\x7fELF" + b"\0" * 60)
    (tmp_path / "app.modules.json").write_text(json.dumps(report))
    (tmp_path / "link.map").write_text(_MAP)
    return {
        "--executable": tmp_path / "app",
        "--link-map": tmp_path / "link.map",
        "--module-report": tmp_path / "app.modules.json",
        "--python-json": _python_json(tmp_path),
        "--svg": tmp_path / "app.size.svg",
        "--text": tmp_path / "app.size.txt",
    }


def _main(inputs: dict, **changes) -> int:
    argv = []
    for option, value in dict(inputs, **changes).items():
        argv += [option, str(value)]
    return size_report.main(argv)


@pytest.mark.parametrize("option, content, message", [
    ("--executable", None, r"cannot read the executable .*missing"),
    ("--executable", b"not an ELF file", r"app: not an ELF file"),
    ("--link-map", None, r"cannot read the link map .*missing"),
    ("--link-map", b"no map\n", r"link\.map: not a linker map"),
    ("--module-report", None, r"cannot read the module report .*missing"),
    ("--module-report", b"{not json", r"cannot read the module report .*app\.modules\.json"),
    ("--module-report", b'{"format": "something else"}', r"app\.modules\.json: not a module report of tools/pack"),
    ("--python-json", b"{}", r"PYTHON\.json"),
])
def test_bad_inputs_are_named_without_a_traceback(inputs, capsys, option, content, message):
    if content is None:
        changes = {option: inputs[option].with_name("missing")}
    else:
        inputs[option].write_bytes(content)
        changes = {}
    assert _main(inputs, **changes) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert re.search(message, err), err
    assert not inputs["--svg"].exists() and not inputs["--text"].exists()


def test_a_map_of_another_link_is_refused(inputs, capsys, tmp_path):
    # A real ELF file (any will do: the test's own interpreter), against a map that is not its link's.
    inputs["--executable"] = Path(sys.executable).resolve()
    assert _main(inputs) == 1
    err = capsys.readouterr().err
    assert "the link map does not describe" in err, err


_CLASSIFY_MAP = """\
             VMA              LMA     Size Align Out     In      Symbol
            1000             1000     1000    16 .text
            1000             1000       10     1         bazel-out/bin/app/_objs/app/main.pic.o:(.text)
            1010             1010      100     1         external/dist/python/build/lib/libpython3.13.a(pylifecycle.o):(.text)
            1110             1110       20     1         external/dist/python/build/lib/libpython3.13.a(_ssl.o):(.text)
            1130             1130       40     1         external/dist/python/build/lib/libpython3.13.a(_hashopenssl.o):(.text)
            1170             1170      200     1         hidden/build/lib/libcrypto.a(digest.o):(.text)
            1370             1370        8     1         /tmp/sandbox/zig-cache/o/1/crt1.o:(.text)
            1378             1378        8     1         external/zig/libm_forward/libm_forward.o:(.text)
            1380             1380       30     1         external/dist/python/build/core/ceval.o:(.text)
            2000             2000      100    16 .rodata
            2000             2000       50     1         <internal>:(.rodata.str1.1)
            2050             2050       40    16         bazel-out/bin/app/app.rps/resources.o:(.rodata.rps_resources)
            3000             3000       20     8 .rela.dyn
            3000             3000       20     8         <internal>:(.rela.dyn)
            4000             4000      100    64 .bss
            4000             4000      100     1         bazel-out/bin/app/_objs/app/main.pic.o:(.bss)
"""


def test_linked_code_is_attributed_by_who_needs_it(monkeypatch):
    symbols = {
        "bazel-out/bin/app/_objs/app/main.pic.o": _node(["main"], ["Py_Main", "PyInit__ssl"]),
        "external/dist/python/build/lib/libpython3.13.a(pylifecycle.o)": _node(["Py_Main"], ["_PyEval"]),
        "external/dist/python/build/lib/libpython3.13.a(_ssl.o)": _node(["PyInit__ssl"], ["EVP_md5"]),
        "external/dist/python/build/lib/libpython3.13.a(_hashopenssl.o)": _node(["PyInit__hashlib"], ["EVP_md5"]),
        "hidden/build/lib/libcrypto.a(digest.o)": _node(["EVP_md5"]),
        "external/dist/python/build/core/ceval.o": _node(["_PyEval"]),
    }
    read = []

    def archive_members(path):
        read.append(path)
        return {key[len(path) + 1:-1]: key.encode() for key in symbols if key.startswith(path + "(")}

    monkeypatch.setattr(size_report, "archive_members", archive_members)
    monkeypatch.setattr(size_report, "_object_symbols", lambda data: symbols[data.decode()])
    monkeypatch.setattr(size_report, "_file_symbols", lambda path: symbols.get(path, _node()))
    dist = type("Dist", (), {"core_static_lib": "build/lib/libpython3.13.a"})()
    link_map = size_report.parse_link_map(_CLASSIFY_MAP, "m")
    parts, blob_inputs = size_report.attribute_code(link_map, dist, ["external/dist/python", "hidden"],
                                                    {".text", ".rodata", ".rela.dyn"})
    found = {(p.group, p.name): p.size for p in parts}
    assert found == {
        (size_report.RUNTIME, "rules_py_standalone runtime (C)"): 0x10,
        (size_report.INTERPRETER, "CPython core (libpython)"): 0x100 + 0x30,
        (size_report.EXTENSIONS, "_ssl"): 0x20,
        (size_report.EXTENSIONS, "_hashlib"): 0x40,
        (size_report.EXTENSIONS, "shared by _hashlib, _ssl"): 0x200,
        (size_report.RUNTIME, "C runtime (zig)"): 0x10,
        (size_report.OVERHEAD, "merged C strings, constants"): 0x50,
        (size_report.OVERHEAD, "dynamic linking tables"): 0x20,
    }
    assert [i.source for i in blob_inputs] == ["bazel-out/bin/app/app.rps/resources.o"]
    core = next(p for p in parts if p.name == "CPython core (libpython)")
    assert "pylifecycle.o: 256 bytes" in core.detail and "ceval.o: 48 bytes" in core.detail
    assert sorted(set(read)) == ["external/dist/python/build/lib/libpython3.13.a", "hidden/build/lib/libcrypto.a"]
    assert "/tmp" not in "".join(p.detail for p in parts)
