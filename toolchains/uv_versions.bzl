"""The pinned uv (the resolver behind `bazel run @rules_py_standalone//tools/lock`): PyPI's `uv`
wheels, one per exec platform. Repositories are named `rps_uv_<exec platform>`."""

UV_VERSION = "0.13.9"

_FILES = "https://files.pythonhosted.org/packages"

UV_WHEELS = {
    "linux_x86_64": struct(
        url = _FILES + "/3d/aa/26d64642d808de4a652579ef950d7cd2d37f080a8babf9c67c6b75fc4c3f/uv-0.13.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        sha256 = "d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19",
        cpu = "x86_64",
    ),
    "linux_aarch64": struct(
        url = _FILES + "/fe/2f/51a5de367c602592c018a42a23d57fba5f2689fe6c3bf025dcf043b39c61/uv-0.13.9-py3-none-manylinux_2_28_aarch64.whl",
        sha256 = "ecb6028d79dc96fbeafffe5c8af62a7099487ebc05a701e76714eebcffd06375",
        cpu = "aarch64",
    ),
}
