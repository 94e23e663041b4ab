"""What differs between CPython versions, printed the same way by a binary and by the
distribution's own python (test_versions.py compares the two)."""

import multiprocessing
import sys


def square(x: int) -> int:
    return x * x


def main() -> int:
    print("version:", "%d.%d" % sys.version_info[:2])
    # The default start method: fork before 3.14, forkserver from 3.14 on (Linux).
    default = multiprocessing.get_start_method()
    print("default start method:", default)
    for method in sorted({default, "spawn", "forkserver"}):
        with multiprocessing.get_context(method).Pool(2) as pool:
            print(f"multiprocessing {method}:", pool.map(square, range(5)))
    if sys.version_info >= (3, 14):
        import version_tour_3_14

        version_tour_3_14.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
