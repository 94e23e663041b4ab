"""`platform_table`: the platform table (toolchains/platforms.bzl) as a JSON file, for the tests
that hold other files to it (the audit policies)."""

load("//toolchains:platforms.bzl", "BUILD_MACHINE_PLATFORM", "PLATFORMS")

def _platform_table_impl(ctx):
    out = ctx.actions.declare_file(ctx.label.name + ".json")
    ctx.actions.write(out, json.encode_indent({"build_machine": BUILD_MACHINE_PLATFORM, "platforms": PLATFORMS}) + "\n")
    return [DefaultInfo(files = depset([out]))]

platform_table = rule(
    implementation = _platform_table_impl,
    doc = "Writes `<name>.json`: {\"build_machine\": name, \"platforms\": [every PLATFORMS entry's fields]}.",
)
