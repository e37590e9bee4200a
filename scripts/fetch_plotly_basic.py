"""Refresh the plotly.js basic bundle shipped in src/driftwise/report/assets/.

The report inlines plotly's basic partial bundle (scatter, bar, pie), of the version the
installed plotly python writes figures for. After upgrading plotly, run from the
repository root (needs ``npm`` and the network):

    python scripts/fetch_plotly_basic.py

It packs ``plotly.js-basic-dist-min@<version>`` with npm in a temporary folder, writes
``plotly-basic-<version>.min.js`` and its MIT license atomically, and removes the bundles
of other versions.
"""

from __future__ import annotations

import subprocess
import tarfile
import tempfile
from pathlib import Path

import plotly.offline

from driftwise._atomic import write_text

ASSETS = Path(__file__).resolve().parents[1] / "src" / "driftwise" / "report" / "assets"
PACKAGE = "plotly.js-basic-dist-min"


def fetch(version: str, assets: Path = ASSETS) -> Path:
    """Pack the npm bundle of ``version`` and write it (and its license) into ``assets``."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"{PACKAGE}@{version}"], cwd=tmp, check=True,
                       capture_output=True)
        (tarball,) = Path(tmp).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            bundle = _member(archive, "package/plotly-basic.min.js")
            license_text = _member(archive, "package/LICENSE")
    target = assets / f"plotly-basic-{version}.min.js"
    for old in assets.glob("plotly-basic-*.min.js"):
        if old != target:
            old.unlink()
    write_text(target, bundle)
    write_text(assets / "plotly-basic-LICENSE.txt", license_text)
    return target


def _member(archive: tarfile.TarFile, name: str) -> str:
    handle = archive.extractfile(name)
    if handle is None:
        raise FileNotFoundError(f"{name} missing from the npm package {PACKAGE}")
    return handle.read().decode("utf-8")


if __name__ == "__main__":
    print(fetch(plotly.offline.get_plotlyjs_version()))
