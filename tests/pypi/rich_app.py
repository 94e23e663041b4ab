"""Renders a table and markdown with rich to the file named by argv[1]."""

import sys

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

with open(sys.argv[1], "w", encoding="utf-8") as out:
    console = Console(file=out, width=60, color_system="truecolor", force_terminal=True)
    table = Table(title="Packages")
    table.add_column("name")
    table.add_column("kind", justify="right")
    table.add_row("rich", "pure")
    table.add_row("numpy", "compiled")
    console.print(table)
    console.print(Markdown("# Title\n\n* one\n* **two**\n\n```python\nprint('x')\n```\n"))
