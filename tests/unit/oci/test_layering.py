"""Which distributions get a layer of their own, and what the shared layer keeps."""

from __future__ import annotations

from pathlib import Path

from uvdock.oci.layering import distributions, entries_for, rest_entries, split

SITE = "app/.venv/lib/python3.13/site-packages"


def _dist(site: Path, name: str, version: str, files: dict[str, int]) -> None:
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    rows = []
    for path, size in files.items():
        target = site / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"x" * size)
        rows.append(f"{path},sha256=x,{size}")
    rows.append(f"{info.name}/RECORD,,")
    rows.append("../../../bin/tool,sha256=x,1")  # a script: stays in the shared layer
    (info / "RECORD").write_text("\n".join(rows) + "\n")


def test_large_distributions_get_their_own_layers(tmp_path: Path) -> None:
    site = tmp_path / SITE
    _dist(site, "numpy", "2.1.0", {"numpy/core.so": 3000, "numpy.libs/libopenblas.so": 4000})
    _dist(site, "six", "1.16.0", {"six.py": 100})
    _dist(site, "Pandas", "2.2.0", {"pandas/core.so": 5000})
    (tmp_path / "app/.venv/bin").mkdir(parents=True)
    (tmp_path / "app/.venv/bin/tool").write_text("#!/app/.venv/bin/python\n")
    found = {d.name: d for d in distributions(site)}
    assert found["numpy"].tops == ("numpy", "numpy-2.1.0.dist-info", "numpy.libs")
    chosen = split(site, threshold=4000, budget=5)
    assert [d.name for d in chosen] == ["numpy", "pandas"]  # sorted by name, not size
    assert [d.name for d in split(site, threshold=4000, budget=1)] == ["numpy"]  # the largest
    own = {e.path.lstrip("/") for e in entries_for(site, "/" + SITE, found["numpy"].tops)}
    assert f"{SITE}/numpy.libs/libopenblas.so" in own
    taken = {t for d in chosen for t in d.tops}
    rest = {e.path.lstrip("/") for e in rest_entries(tmp_path, "/" + SITE, taken)}
    assert f"{SITE}/six.py" in rest
    assert "app/.venv/bin/tool" in rest
    assert not any(p.startswith((f"{SITE}/numpy", f"{SITE}/pandas")) for p in rest)
