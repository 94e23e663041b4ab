"""Pinned wheels of the Python helper tools' third-party dependencies (PYPI_WHEELS) and of this
module's own tests and benchmarks (DEV_PYPI_WHEELS: a dev dependency, never a consumer's).

Pure-Python wheels (except PyInstaller's, for the benchmarks, and zstandard's), so the same files
serve every interpreter that runs the tools. Each entry: the wheel's URL, its sha256, the other
entries it imports and, optionally, `more_wheels` ({URL: sha256}) unpacked into the same
directory. Repositories are named `rps_pypi_<key>`.
"""

_FILES = "https://files.pythonhosted.org/packages"

PYPI_WHEELS = {
    "packaging": struct(
        url = _FILES + "/63/34/ba1c580383c9eada3711951fef0795c80b829a078d72188184bcab9dd527/packaging-26.3-py3-none-any.whl",
        sha256 = "d7193f7c8e4e93f444fde0262bf90af30e16fa0ad0ad44cb553c87339b23cd1c",
        deps = [],
    ),
    "pefile": struct(
        url = _FILES + "/54/16/12b82f791c7f50ddec566873d5bdd245baa1491bac11d15ffb98aecc8f8b/pefile-2024.8.26-py3-none-any.whl",
        sha256 = "76f8b485dcd3b1bb8166f1128d395fa3d87af26360c2358fb75b80019b957c6f",
        deps = [],
    ),
    "pyelftools": struct(
        url = _FILES + "/46/2a/f9697576603dae937727827505a6126a066affb227034e77e6f9068910da/pyelftools-0.33-py3-none-any.whl",
        sha256 = "f215ad5f47d3f1373a21496a6c9e0707c622840d0622f23ff7ce08678b020036",
        deps = [],
    ),
    # Compresses the bytecode of `compress = True` binaries (tools/pack, on the distribution's
    # interpreter) and reads it back in tests (on the host's). Not pure Python: one wheel per
    # CPython version, unpacked side by side (each version imports its own backend_c.cpython-3XX).
    "zstandard": struct(
        url = _FILES + "/63/4b/e3678b4e776db00f9f7b2fe58e547e8928ef32727d7a1ff01dea010f3f13/zstandard-0.25.0-cp313-cp313-manylinux2014_x86_64.manylinux_2_17_x86_64.whl",
        sha256 = "8e735494da3db08694d26480f1493ad2cf86e99bdd53e8e9771b2752a5c0246a",
        deps = [],
        more_wheels = {
            _FILES + "/bb/1f/e9cfd801a3f9190bf3e759c422bbfd2247db9d7f3d54a56ecde70137791a/zstandard-0.25.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.whl": "9300d02ea7c6506f00e627e287e0492a5eb0371ec1670ae852fefffa6164b072",
            _FILES + "/53/60/7be26e610767316c028a2cbedb9a3beabdbe33e2182c373f71a1c0b88f36/zstandard-0.25.0-cp312-cp312-manylinux2014_x86_64.manylinux_2_17_x86_64.whl": "5a56ba0db2d244117ed744dfa8f6f5b366e14148e00de44723413b2f3938a902",
            _FILES + "/31/dc/cc50210e11e465c975462439a492516a73300ab8caa8f5e0902544fd748b/zstandard-0.25.0-cp314-cp314-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl": "e09bb6252b6476d8d56100e8147b803befa9a12cea144bbe629dd508800d1ad0",
        },
    ),
}

DEV_PYPI_WHEELS = {
    "altgraph": struct(
        url = _FILES + "/a9/ba/000a1996d4308bc65120167c21241a3b205464a2e0b58deda26ae8ac21d1/altgraph-0.17.5-py2.py3-none-any.whl",
        sha256 = "f3a22400bce1b0c701683820ac4f3b159cd301acab067c51c653e06961600597",
        deps = [],
    ),
    "bazel_runfiles": struct(
        url = _FILES + "/97/2b/32fac1be1ae78ebc7e9ebe8ea139205ab9002b07c3ac31b713c22da900ae/bazel_runfiles-2.4.6-py3-none-any.whl",
        sha256 = "b8c53e37a954f3e1c7be2d705dfb0dbba8ee00db5bfb63cb3c81b987ea8bf930",
        deps = [],
    ),
    "certifi": struct(
        url = _FILES + "/08/ba/95dd616042484f7c83a06974388b37b837732740ee70bc5dc715b5fcd55a/certifi-2026.10.18-py3-none-any.whl",
        sha256 = "73191c47aaa79da394e8fee2dbc2ec827432cab56311122c9e47abf79e390f62",
        deps = [],
    ),
    "charset_normalizer": struct(
        url = _FILES + "/fc/ad/d07d7862a62ffa6d79d68074d14823243dd235a77c45262acbf6adeb28bf/charset_normalizer-3.5.2-py3-none-any.whl",
        sha256 = "b6b751274acb69d77b3323d6b7dbaa3c7fdfc1eb829b7eb61d262f32e1af9685",
        deps = [],
    ),
    "idna": struct(
        url = _FILES + "/58/a2/bb081bab032533a855d44de1d56f8e8426114ff1ba5d1f07a438a0a654f8/idna-3.20-py3-none-any.whl",
        sha256 = "ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c",
        deps = [],
    ),
    "iniconfig": struct(
        url = _FILES + "/56/43/4ca9e49d27a1fcf6bece6f6aec0ea46bb9112489b93d4b688fb415457bdb/iniconfig-2.3.1-py3-none-any.whl",
        sha256 = "9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7",
        deps = [],
    ),
    "pluggy": struct(
        url = _FILES + "/40/9e/2b38731e0fc536806f16490e1a12d7f0dc2a1235aa8cc07bcc75416a7daa/pluggy-1.7.0-py3-none-any.whl",
        sha256 = "7dd7b0d8832ba3cb632c306926ded123429211b83641b35dc5c41ad2d34f9bec",
        deps = [],
    ),
    "pygments": struct(
        url = _FILES + "/71/46/17f022dd3e953bf20a04a028a21ec746d942f8d2af30fa0f124fa0e6a684/pygments-2.21.0-py3-none-any.whl",
        sha256 = "2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9",
        deps = [],
    ),
    # The benchmarks' PyInstaller --onefile builds (benchmarks/, run with the host's Python). Not
    # pure Python: its Linux x86_64 bootloader is in the wheel.
    "pyinstaller": struct(
        url = _FILES + "/7b/b6/dd21d61fc5e25377be24eabf13e99e4e46548a5abe2bf7b15d8b3d9cc74a/pyinstaller-6.22.3-py3-none-manylinux2014_x86_64.whl",
        sha256 = "451a4ae14b719365bf1a2f0a99dae7b3463060061c3a394c70d5264cfb439528",
        deps = ["altgraph", "packaging", "pyinstaller_hooks_contrib", "setuptools"],
    ),
    "pyinstaller_hooks_contrib": struct(
        url = _FILES + "/93/fe/ded0e20de0580257d97dbabb4db7ab4d96ad8ade7d41149e66308057cf52/pyinstaller_hooks_contrib-2026.9-py3-none-any.whl",
        sha256 = "fb3e67dd64122561724c48ad0366ac9e8c16e638b63bf7d85de03bf3fdbf06c3",
        deps = ["packaging"],
    ),
    "pytest": struct(
        url = _FILES + "/51/39/1f5d8c8877a0fa327db959c19341d4be61660de1ab6b7391f9eb805bcd67/pytest-9.2.0-py3-none-any.whl",
        sha256 = "07acdcf88ec174f907dc01af70bf52d49b014bbab03faeeade31c96b18c2e588",
        deps = ["iniconfig", "packaging", "pluggy", "pygments"],
    ),
    "requests": struct(
        url = _FILES + "/a0/f4/c67b0b3f1b9245e8d266f0f112c500d50e5b4e83cb6f3b71b6528104182a/requests-2.34.2-py3-none-any.whl",
        sha256 = "2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0",
        deps = ["certifi", "charset_normalizer", "idna", "urllib3"],
    ),
    "setuptools": struct(
        url = _FILES + "/ef/55/6dc6d6bb953bdfc52519a0059592c52b6e3b8ad51cf8256dffceb55b0610/setuptools-84.2.1-py3-none-any.whl",
        sha256 = "ca140b45d5325a9478f880e351484f62fef15f336462e449ca0c03c873d589c2",
        deps = [],
    ),
    "urllib3": struct(
        url = _FILES + "/92/9d/c4e665119135114480843e7ab388fa94d8480650450e6f8e26b70d323a4c/urllib3-2.8.0-py3-none-any.whl",
        sha256 = "0cf3cae568d36aa9576b28dfb35f11328f1cb974ca7647d9475ebb86c75ac6e3",
        deps = [],
    ),
}
