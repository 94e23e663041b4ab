"""pandas, matplotlib (Agg) and jinja2: a table, a chart and a template."""
import io

import jinja2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

frame = pd.DataFrame({"city": ["a", "b", "a", "c"], "sales": [3, 5, 7, 1]})
summary = frame.groupby("city")["sales"].agg(["sum", "mean"])
print(summary.to_csv(), end="")
print(pd.Timestamp("2026-12-01").day_name(), pd.__version__ == pd.__version__)

figure, axes = plt.subplots(figsize=(2, 2), dpi=50)
axes.plot(np.arange(5), np.arange(5) ** 2)
axes.set_title("squares")
buffer = io.BytesIO()
figure.savefig(buffer, format="png", metadata={"Software": None})
print("png", buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n", len(buffer.getvalue()) > 500)
print("font", matplotlib.font_manager.findfont("DejaVu Sans").endswith("DejaVuSans.ttf"))

template = jinja2.Environment(autoescape=True).from_string("{% for c, s in rows %}<li>{{ c }}={{ s }}</li>{% endfor %}")
print(template.render(rows=summary["sum"].items()))
