"""Execute every notebook in notebooks/ headlessly; any error fails the test.

Each notebook gets 120 s in all (and no single cell more). The notebooks are run from a
copy in memory: the committed files (with their outputs) are not touched.
"""
import pathlib
import time

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
BUDGET = 120  # seconds per notebook


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nbformat = pytest.importorskip("nbformat", reason="notebook tests need nbformat")
    nbclient = pytest.importorskip("nbclient", reason="notebook tests need nbclient")
    pytest.importorskip("ipykernel", reason="notebook tests need ipykernel")
    pytest.importorskip("matplotlib", reason="the notebooks plot with matplotlib")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=BUDGET, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    start = time.monotonic()
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as e:
        pytest.fail(f"{path.name} failed:\n{e}")
    elapsed = time.monotonic() - start
    assert elapsed < BUDGET, f"{path.name} took {elapsed:.0f} s (budget {BUDGET} s)"


def test_notebooks_exist():
    assert NOTEBOOKS, "no notebooks found in notebooks/"
