"""Analysis tests of how `compress` wires the build (rules/private/standalone_steps.bzl): the pack
action's arguments and inputs, and the runtime variant with zstd's decoder linked only when asked;
and of the runtime variants themselves (runtime/BUILD.bazel): the decoder compiled into those
that say so."""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")

def _actions(env, mnemonic):
    return [a for a in analysistest.target_actions(env) if a.mnemonic == mnemonic]

def _compiled_sources(env):
    """The basenames of the C/assembly sources the target's compile actions compile."""
    sources = []
    for action in _actions(env, "CppCompile"):
        sources += [f.basename for f in action.inputs.to_list() if f.extension in ("c", "S") and f.path in action.argv]
    return sources

def _linked_runtime_variants(env):
    """The //runtime variants whose objects the target's link takes (runtime/_objs/<variant>/)."""
    variants = {}
    for action in _actions(env, "CppLink"):
        for f in action.inputs.to_list():
            if "/runtime/_objs/" in f.path:
                variants[f.path.partition("/runtime/_objs/")[2].partition("/")[0]] = None
    return sorted(variants.keys())

def _check(env, compress, startup_too):
    packs = _actions(env, "PyStandalonePack")
    asserts.equals(env, 1, len(packs), "one pack action")
    argv = packs[0].argv
    asserts.equals(env, compress, "--compress" in argv, "--compress in the pack arguments")
    asserts.equals(env, startup_too, "--compress-startup-modules" in argv, "--compress-startup-modules")
    zstandard_inputs = [f for f in packs[0].inputs.to_list() if f.path.endswith("/zstandard/__init__.py")]
    asserts.equals(env, compress, len(zstandard_inputs) == 1, "the zstandard package among the pack inputs")
    if compress:
        directory = argv[argv.index("--zstandard") + 1]
        asserts.equals(env, zstandard_inputs[0].dirname, directory + "/zstandard", "--zstandard names its directory")
    variants = _linked_runtime_variants(env)
    asserts.equals(env, ["binary_runtime_zstd" if compress else "binary_runtime"], variants, "the runtime variant linked")
    asserts.equals(env, ["inittab.c"], _compiled_sources(env), "the binary compiles only its inittab")

def _uncompressed_impl(ctx):
    env = analysistest.begin(ctx)
    _check(env, compress = False, startup_too = False)
    return analysistest.end(env)

def _compressed_impl(ctx):
    env = analysistest.begin(ctx)
    _check(env, compress = True, startup_too = False)
    return analysistest.end(env)

def _compressed_all_impl(ctx):
    env = analysistest.begin(ctx)
    _check(env, compress = True, startup_too = True)
    return analysistest.end(env)

uncompressed_test = analysistest.make(_uncompressed_impl, doc = "Without compress: no zstd anywhere.")
compressed_test = analysistest.make(_compressed_impl, doc = "compress: pack compresses with zstandard; the decoder is compiled in.")
compressed_all_test = analysistest.make(_compressed_all_impl, doc = "compress_startup_modules reaches pack.")

def _runtime_variant_test(zstd):
    def _impl(ctx):
        env = analysistest.begin(ctx)
        sources = _compiled_sources(env)
        asserts.true(env, "rps_blob.c" in sources and "main.c" in sources, "the runtime is compiled: " + str(sources))
        asserts.equals(env, zstd, "zstd_decompress.c" in sources, "zstd's decoder compiled: " + str(sources))
        defines = {arg: None for a in _actions(env, "CppCompile") for arg in a.argv if arg.startswith("-DRPS_ZSTD=")}
        asserts.equals(env, ["-DRPS_ZSTD=%d" % (1 if zstd else 0)], sorted(defines.keys()), "RPS_ZSTD's value")
        return analysistest.end(env)

    return analysistest.make(_impl, doc = "A runtime variant compiles zstd's decoder iff it says so.")

runtime_with_zstd_test = _runtime_variant_test(zstd = True)
runtime_without_zstd_test = _runtime_variant_test(zstd = False)

def _library_runtime_impl(ctx):
    env = analysistest.begin(ctx)
    asserts.equals(env, ["embed_runtime_zstd"], _linked_runtime_variants(env), "the runtime variant linked")
    return analysistest.end(env)

library_runtime_test = analysistest.make(
    _library_runtime_impl,
    doc = "A compressed shared library links the library runtime with zstd's decoder.",
)
