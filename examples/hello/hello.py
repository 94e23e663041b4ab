"""The main example: prints a greeting and where it runs from."""

import sys


def main() -> int:
    print(f"Hello from Python {sys.version_info.major}.{sys.version_info.minor}!")
    return 0


if __name__ == "__main__":
    sys.exit(main())
