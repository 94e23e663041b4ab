"""Run as __main__ by rps_embed_run_module: prints what it sees, exits with sys.argv's status."""

import sys

print(f"plugin {__name__} argv={sys.argv}", flush=True)
if len(sys.argv) > 1 and sys.argv[1].startswith("exit="):
    sys.exit(int(sys.argv[1][5:]))
