"""Renders the reStructuredText file argv[1] with docutils' writers into the directory argv[2].

Each writer reads its data files by path next to its module: the HTML writers embed their CSS
(embed_stylesheet, math.css), the LaTeX writers read their templates (and docutils.sty when
imported), `.. include:: <isonum.txt>` reads the rst parser's include directory, the S5 writer
copies a theme tree (following its `__base__` files) and the ODT writer reads styles.odt as a zip.
"""

import os
import sys
from pathlib import Path

import docutils.core

# No configuration files (/etc/docutils.conf, ./docutils.conf, ~/.docutils); a warning fails.
COMMON = {"_disable_config": True, "halt_level": 2, "embed_stylesheet": True, "input_encoding": "utf-8"}

# The coming defaults of Docutils 1.0 (the current ones warn).
LATEX = {"use_latex_citations": True, "legacy_column_widths": False}

OUTPUTS = [
    ("html4css1.html", "html4css1", {"math_output": "HTML math.css"}),
    ("html5.html", "html5", {"stylesheet_path": "minimal.css,plain.css,responsive.css",
                             "math_output": "HTML math.css"}),
    ("html5_de.html", "html5", {"stylesheet_path": "tuftig.css,italic-field-names.css",
                                "math_output": "MathML", "language_code": "de"}),
    ("latex.tex", "latex", LATEX),
    ("latex_titlepage.tex", "latex", {"template": "titlepage.tex", "language_code": "fr", **LATEX}),
    ("xetex.tex", "xetex", LATEX),
    ("s5.html", "s5", {"theme": "medium-black"}),
    # ODT has no math: its warning is left out of the document.
    ("document.odt", "odt", {"halt_level": 3, "report_level": 3}),
]


def main() -> int:
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    text = source.read_text(encoding="utf-8")
    for name, writer, overrides in OUTPUTS:
        settings = dict(COMMON, output_path=str(out / name), **overrides)
        rendered = docutils.core.publish_string(text, source_path=str(source), destination_path=str(out / name),
                                                writer=writer, settings_overrides=settings)
        (out / name).write_bytes(rendered)
    print(" ".join(sorted(os.listdir(out))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
