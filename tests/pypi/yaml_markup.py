"""`import yaml, markupsafe` with their C extensions: the start-up benchmark's case and the
aarch64 test's program."""

import sys

import markupsafe
import yaml

print(markupsafe.escape("<i>&</i>"), yaml.load("[1, {a: b}]", Loader=yaml.CSafeLoader),
      "markupsafe._speedups" in sys.modules, yaml.__with_libyaml__)
