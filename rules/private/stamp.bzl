"""Whether `--stamp` is on, for rules whose `stamp = -1` follows it (as cc_binary's does)."""

StampSettingInfo = provider(
    doc = "The value of Bazel's --stamp flag in the current configuration.",
    fields = {"stamp": "Bool: --stamp is on."},
)

def _stamp_setting_impl(ctx):
    return [StampSettingInfo(stamp = ctx.attr.stamp)]

stamp_setting = rule(
    implementation = _stamp_setting_impl,
    doc = "Reports --stamp (its `stamp` attribute is a select on a config_setting of the flag).",
    attrs = {"stamp": attr.bool(mandatory = True, doc = "True when --stamp is on.")},
)

def stamping(ctx):
    """True when the target is stamped: its `stamp` attribute, -1 following --stamp."""
    if ctx.attr.stamp == -1:
        return ctx.attr._stamp_setting[StampSettingInfo].stamp
    return ctx.attr.stamp == 1
