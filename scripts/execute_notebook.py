"""Execute one notebook headlessly with Jupyter's nbclient and nbconvert, and write the executed
notebook and a self-contained HTML report.

Called by scripts/notebooks.mjs (``npm start -- --executor nbclient``, the Python path kept for
comparison with the Node executor); not meant to be run by hand:

    python3 scripts/execute_notebook.py NOTEBOOK OUT_DIR --cwd notebooks --kernel tslab \
        --timeout 600 --template-dir scripts/nbconvert-templates

The kernel starts in ``--cwd`` (default: the notebook's folder), so a prepared copy of a notebook
(parameters injected, provenance cell added) can be run from a scratch folder. Cells tagged
``remove-input`` show only their outputs in the HTML report.

Execution stops at the first failing cell (a cell tagged ``raises-exception`` may fail). tslab
reports a failed cell (a TypeScript compile error or a thrown exception) only as a stderr stream
plus an execute_reply with status "error", never as an ``error`` output, so a failed cell (also one
allowed to fail) gets a standard ``error`` output appended here: Jupyter tools, the HTML report and the runner's checks then
all see it.

The last stdout line is ``NAL_RESULT {json}`` with the outcome; the exit status is 0 when the
notebook ran to the end, 1 when a cell failed, 2 on a usage or environment problem.
"""

import argparse
import json
import os
import re
import sys
import time


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("out_dir")
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    ap.add_argument("--startup-timeout", type=int, default=120)
    ap.add_argument("--template-dir", required=True)
    ap.add_argument("--cwd", help="the kernel's working folder (default: the notebook's folder)")
    args = ap.parse_args(argv)

    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
        from nbconvert import HTMLExporter
    except ImportError as e:  # the Node side checks this first; keep a clear message anyway
        print("missing Python package: %s" % e, file=sys.stderr)
        return 2

    src = os.path.abspath(args.notebook)
    name = os.path.splitext(os.path.basename(src))[0]
    os.makedirs(args.out_dir, exist_ok=True)
    nb = nbformat.read(src, as_version=4)

    class Client(NotebookClient):
        current_index = None

        async def async_execute_cell(self, cell, cell_index, *a, **kw):
            self.current_index = cell_index
            return await super().async_execute_cell(cell, cell_index, *a, **kw)

    failed_allowed = []  # cells tagged raises-exception that failed: they get an error output too

    def on_cell_error(cell, cell_index, execute_reply):
        if "raises-exception" in cell.metadata.get("tags", []):
            failed_allowed.append(cell_index)

    client = Client(
        nb,
        on_cell_error=on_cell_error,
        kernel_name=args.kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=False,
        resources={"metadata": {"path": os.path.abspath(args.cwd) if args.cwd else os.path.dirname(src)}},
    )

    status, message, failed_cell = "ok", None, None
    t0 = time.time()
    try:
        client.execute()
    except CellExecutionError:
        status, failed_cell = "error", client.current_index
        message = "cell %s failed" % _cell_label(failed_cell)
    except CellTimeoutError:
        status, failed_cell = "timeout", client.current_index
        message = "cell %s ran longer than %d s" % (_cell_label(failed_cell), args.timeout)
    except DeadKernelError as e:
        status, failed_cell = "dead-kernel", client.current_index
        message = "the kernel died in cell %s: %s" % (_cell_label(failed_cell), e)
    except Exception as e:  # kernel did not start, no such kernel, ...
        status = "failed-to-run"
        message = "%s: %s" % (type(e).__name__, e)
    seconds = time.time() - t0

    for index in failed_allowed:
        _append_error_output(nbformat, nb.cells[index], "error", "cell %s failed" % _cell_label(index))
    if failed_cell is not None and 0 <= failed_cell < len(nb.cells):
        _append_error_output(nbformat, nb.cells[failed_cell], status, message)

    nb.metadata.setdefault("nal", {})
    nb.metadata["nal"]["execution"] = {
        "status": status,
        "message": message,
        "failedCell": failed_cell,
        "seconds": round(seconds, 2),
    }

    ipynb_path = os.path.join(args.out_dir, name + ".ipynb")
    nbformat.write(nb, ipynb_path)

    html_path = os.path.join(args.out_dir, name + ".html")
    from traitlets.config import Config

    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {"remove-input", "remove_input"}
    exporter = HTMLExporter(config=config, template_name="nal", extra_template_basedirs=[os.path.abspath(args.template_dir)])
    title = nb.metadata.get("title") or _first_heading(nb) or name
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(body)

    result = {
        "name": name,
        "status": status,
        "message": message,
        "failedCell": failed_cell,
        "seconds": round(seconds, 2),
        "ipynb": ipynb_path,
        "html": html_path,
    }
    print("NAL_RESULT " + json.dumps(result))
    return 0 if status == "ok" else 1


def _cell_label(index):
    return "?" if index is None else "#%d" % (index + 1)


def _append_error_output(nbformat, cell, status, message):
    """Give a failed cell a standard `error` output built from what tslab wrote to stderr."""
    if cell.get("cell_type") != "code":
        return
    if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
        return
    stderr = "".join(
        o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    ename, evalue = "ExecutionError", message or status
    m = re.search(r"^(?:UncaughtException: )?((?:[A-Za-z_$][\w$]*)?(?:Error|Exception))(?::\s*(.*))?$", stderr, re.M)
    if m:
        ename, evalue = m.group(1), (m.group(2) or "").strip()
    elif status == "error" and re.search(r"^\d+:\d+ - ", stderr, re.M):
        ename = "CompileError"
        evalue = "; ".join(line for line in stderr.splitlines() if re.match(r"^\d+:\d+ - ", line))
    elif status != "error":
        ename = {"timeout": "CellTimeoutError", "dead-kernel": "DeadKernelError"}.get(status, ename)
    cell.outputs.append(
        nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[line for line in stderr.splitlines() if line] or [evalue])
    )


def _first_heading(nb):
    for cell in nb.cells:
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#+\s+(.+)$", cell.get("source", ""), re.M)
            if m:
                return m.group(1).strip()
    return None


if __name__ == "__main__":
    sys.exit(main())
