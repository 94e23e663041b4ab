"""The platform table: every target platform of rules_py_standalone, as data.

Each entry becomes //platforms:<name> (and //platforms:is_<name>), a zig cc toolchain per exec
platform (toolchains/zig), the CPython toolchain's platform facts (machine, triple, audit policy:
toolchains/private/cpython_toolchain.bzl), the python-build-standalone triples an archive may
have, OpenSSL's configure target, the PyPI extension's wheel configurations
(rules/private/pypi/targets.bzl) and the unsupported-platform message. Adding a target is one
entry here plus its audit policy file (tools/audit/policies/<audit_policy>.json): see
docs/toolchain.md, "Adding a platform".

Fields:
  name: the platform's name (//platforms:<name>).
  zig_target: zig's -target (a glibc target names its glibc floor).
  cpu: @platforms//cpu:<cpu>; also the ELF machine name tools/emit and tools/stamp take.
  libc: "gnu" or "musl" (//platforms:<libc>).
  glibc: the oldest glibc the output may need (//platforms:glibc_<X_Y>), or None for musl.
  libc_version: the glibc floor, or the musl zig links (zig 0.17 bundles musl 1.2.5: 1.2); the
    PEP 600/656 wheel tags the platform accepts follow from it (tools/pypi/lock_reader.py).
  static: the output is fully static (no dynamic loader).
  pbs_triple: python-build-standalone's target_triple (PYTHON.json) of its CPython builds.
  elf_machine: the ELF e_machine of its binaries (pyelftools' name); its audit policy's `machine`
    must be the same (tests/tools/test_platform_policies.py).
  audit_policy: tools/audit/policies/<audit_policy>.json.
  openssl_target: OpenSSL's ./Configure target.
  runs_on_build_machine: an x86_64 Linux build machine runs its programs (so its own CPython
    build compiles bytecode; otherwise the same version built for `cpython_of` or x86_64 does).
  cpython_of: the platform whose CPython build this one embeds (one build serves both; only the
    link and the wheels differ), or None for its own build.
"""

PLATFORMS = [
    struct(
        name = "linux_x86_64_gnu",
        zig_target = "x86_64-linux-gnu.2.17",
        cpu = "x86_64",
        libc = "gnu",
        glibc = "2.17",
        libc_version = "2.17",
        static = False,
        pbs_triple = "x86_64-unknown-linux-gnu",
        elf_machine = "EM_X86_64",
        audit_policy = "linux_x86_64_gnu",
        openssl_target = "linux-x86_64",
        runs_on_build_machine = True,
        cpython_of = None,
    ),
    # For packages whose wheels need manylinux_2_28 (docs/pypi.md): binaries run on glibc 2.28+.
    struct(
        name = "linux_x86_64_gnu_2_28",
        zig_target = "x86_64-linux-gnu.2.28",
        cpu = "x86_64",
        libc = "gnu",
        glibc = "2.28",
        libc_version = "2.28",
        static = False,
        pbs_triple = "x86_64-unknown-linux-gnu",
        elf_machine = "EM_X86_64",
        audit_policy = "linux_x86_64_gnu_2_28",
        openssl_target = "linux-x86_64",
        runs_on_build_machine = True,
        cpython_of = "linux_x86_64_gnu",
    ),
    struct(
        name = "linux_x86_64_musl",
        zig_target = "x86_64-linux-musl",
        cpu = "x86_64",
        libc = "musl",
        glibc = None,
        libc_version = "1.2",
        static = True,
        pbs_triple = "x86_64-unknown-linux-musl",
        elf_machine = "EM_X86_64",
        audit_policy = "linux_x86_64_musl",
        openssl_target = "linux-x86_64",
        runs_on_build_machine = True,
        cpython_of = None,
    ),
    struct(
        name = "linux_aarch64_gnu",
        zig_target = "aarch64-linux-gnu.2.17",
        cpu = "aarch64",
        libc = "gnu",
        glibc = "2.17",
        libc_version = "2.17",
        static = False,
        pbs_triple = "aarch64-unknown-linux-gnu",
        elf_machine = "EM_AARCH64",
        audit_policy = "linux_aarch64_gnu",
        openssl_target = "linux-aarch64",
        runs_on_build_machine = False,
        cpython_of = None,
    ),
]

# The machine that runs the build, as a target platform (see rules/private/platform_transition.bzl).
BUILD_MACHINE_PLATFORM = "linux_x86_64_gnu"

PLATFORMS_BY_NAME = {p.name: p for p in PLATFORMS}

GLIBC_FLOORS = sorted({p.glibc: None for p in PLATFORMS if p.glibc}.keys())

def platform_constraints(platform):
    """The constraint values of a platform (and of its toolchains), as labels of this module."""
    constraints = ["@platforms//os:linux", "@platforms//cpu:" + platform.cpu, "//platforms:" + platform.libc]
    if platform.glibc:
        constraints.append("//platforms:glibc_" + platform.glibc.replace(".", "_"))
    return constraints

def platform_select(value_of, platforms = PLATFORMS):
    """A select() dict: //platforms:is_<name> -> value_of(platform), for each platform."""
    return {Label("//platforms:is_" + p.name): value_of(p) for p in platforms}

def select_cross_build(cross, native):
    """select(): `cross` for the platforms whose programs the build machine cannot run (their
    builds need a build-machine twin, e.g. CPython's build Python), `native` for the others."""
    branches = platform_select(lambda p: cross, [p for p in PLATFORMS if not p.runs_on_build_machine])
    branches["//conditions:default"] = native
    return select(branches)

def autoconf_triple(platform):
    """autoconf's name of a platform (--host/--build): its zig target without the glibc floor."""
    return platform.zig_target.split(".")[0]

def select_platform_field(strings, field):
    """select() of `strings` with "{<field>}" replaced by each platform's value of `field`
    (for BUILD files, which cannot define functions)."""
    return select(platform_select(lambda p: [s.replace("{%s}" % field, getattr(p, field)) for s in strings]))
