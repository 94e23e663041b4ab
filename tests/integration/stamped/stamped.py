"""Prints the release stamp of the binary it runs in (tests/integration/test_reproducible.py)."""

import _rps_blob

for key, value in sorted(_rps_blob.stamp().items()):
    print(f"{key}={value}")
