"""Run a notebook in a live tslab kernel as a user does, then re-run its first chart cell.

Used by test/notebooks/rerun.test.ts (not by `npm start`):

    python3 test/notebooks/live_rerun.py NOTEBOOK OUT_DIR

Every cell is executed in order in one kernel (nbclient, the way Jupyter's "Run All" sends them),
then the first cell that shows a chart is executed again in the same kernel: its outputs are
replaced, while the kernel keeps whatever state the first run left (the situation in which charts
used to vanish). The notebook is saved as OUT_DIR/NAME.ipynb, as a front end saves it, and exported
to OUT_DIR/NAME.html with nbconvert's `basic` template (outputs as nbconvert renders them, no
network resources). The last stdout line is `RERUN {json}`.
"""

import json
import os
import sys


def chart_outputs(cell):
    n = 0
    for o in cell.get("outputs", []):
        html = o.get("data", {}).get("text/html", "")
        html = "".join(html) if isinstance(html, list) else html
        n += html.count('class="nal-chart"')
    return n


def main(argv):
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    src, out_dir = os.path.abspath(argv[1]), os.path.abspath(argv[2])
    name = os.path.splitext(os.path.basename(src))[0]
    os.makedirs(out_dir, exist_ok=True)
    nb = nbformat.read(src, as_version=4)
    client = NotebookClient(nb, kernel_name="tslab", timeout=600, startup_timeout=120, allow_errors=False,
                            resources={"metadata": {"path": os.path.dirname(src)}})
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and chart_outputs(c) > 0)
        before = chart_outputs(nb.cells[first])
        client.execute_cell(nb.cells[first], first)
        after = chart_outputs(nb.cells[first])
    nbformat.write(nb, os.path.join(out_dir, name + ".ipynb"))
    body, _ = HTMLExporter(template_name="basic").from_notebook_node(nb)
    with open(os.path.join(out_dir, name + ".html"), "w", encoding="utf-8") as f:
        f.write('<!doctype html>\n<html><head><meta charset="utf-8"><title>%s</title></head><body>\n%s\n</body></html>\n' % (name, body))
    charts = sum(chart_outputs(c) for c in nb.cells)
    print("RERUN " + json.dumps({"name": name, "rerunCell": first, "chartsInCellBefore": before, "chartsInCellAfter": after, "charts": charts}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
