"""Running the report's notebook with papermill: atomically, and a failing cell in one line."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..outputs import atomic_write_text

__all__ = ["ReportError", "execute", "failure_message"]


class ReportError(InputError):
    """The report notebook failed; the message names the cell and the error."""


def failure_message(exc: Exception, notebook: Path) -> str:
    """One line: the cell that failed, its error, and where the partly executed notebook is."""
    idx = getattr(exc, "cell_index", None)
    count = getattr(exc, "exec_count", None)
    source = (getattr(exc, "source", "") or "").strip().splitlines()
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    where = f"cell {idx}" if idx is not None else "a cell"
    if count is not None:
        where += f" (execution count {count})"
    if source:
        where += f" starting {source[0][:60]!r}"
    return (
        f"report notebook failed in {where}: {ename}: {evalue}; the partly executed notebook "
        f"is kept at {notebook}"
    )


def execute(
    template: str | Path, notebook: Path, params: dict[str, Any], *, kernel: str, progress: bool
) -> Any:
    """Execute ``template`` with papermill into ``notebook`` and return the executed notebook.

    Papermill rewrites its output notebook in place after every cell, so a report stopped midway
    (even by SIGKILL) would leave a partly executed ``report.ipynb`` that looks finished. It runs
    into a hidden temporary folder beside ``notebook`` instead, and the executed notebook (or,
    when a cell fails, the partly executed one the error message names) is then written to
    ``notebook`` atomically.
    """
    import nbformat
    import papermill as pm

    tmp = Path(tempfile.mkdtemp(prefix=f".{notebook.name}.", suffix=".tmp", dir=notebook.parent))
    running = tmp / notebook.name  # papermill wants the .ipynb extension
    failure = None
    try:
        try:
            pm.execute_notebook(
                str(template),
                str(running),
                parameters=params,
                kernel_name=kernel,
                cwd=str(notebook.parent),
                progress_bar=progress,
                # the kernel talks to this process over loopback only; its warning about TCP
                # without encryption says nothing a report reader can act on
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
        except pm.PapermillExecutionError as exc:
            failure = ReportError(failure_message(exc, notebook))
        executed = nbformat.read(str(running), as_version=4)
        if "papermill" in executed.metadata:
            executed.metadata["papermill"]["output_path"] = str(notebook)
        atomic_write_text(notebook, nbformat.writes(executed))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if failure is not None:
        raise failure
    return executed
