"""Write offline.html: the page of `dvc plots show` / `dvc plots diff` with Vega, Vega-Lite
and vega-embed inlined, so that the plots render with no network. DVC's own page loads them
from a CDN, and a page opened offline (or where the CDN is blocked) shows nothing.

    python .dvc/plots/offline.py    # needs npm; rewrites .dvc/plots/offline.html

`.dvc/config` (`plots.html_template`) points DVC at the page. The packages are pinned and
each file's sha256 is checked. All three are BSD-3-Clause (LICENSE-vega.txt); the page is
about 830 kB, the size of the three minified builds.
"""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGES = [  # name, version, file in the package, its sha256
    (
        "vega",
        "5.33.1",
        "build/vega.min.js",
        "463f3db6a40b20e9747b4ed38f37ed0add508838f9141b1cf8366784b07b30c8",
    ),
    (
        "vega-lite",
        "5.23.0",
        "build/vega-lite.min.js",
        "58c27358e26f2d319cf62f45bc17a4c8362f08645001df2ec8d341eee4097c7f",
    ),
    (
        "vega-embed",
        "6.29.0",
        "build/vega-embed.min.js",
        "12d02acfbe3ec59ef9a37dd4822a2e04e2961b5bbb671bbe661d2221715b99da",
    ),
]
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC plots</title>
<!-- {versions}: inlined by .dvc/plots/offline.py (BSD-3-Clause, LICENSE-vega.txt) -->
{scripts}
<style>
body {{ font-family: sans-serif; }}
table {{ border-spacing: 15px; }}
img {{ max-width: 100%; }}
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def script(name: str, version: str, member: str, sha256: str, folder: Path) -> str:
    packed = subprocess.run(
        ["npm", "pack", "--silent", f"{name}@{version}"],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()[-1]
    with tarfile.open(folder / packed) as tar:
        extracted = tar.extractfile(f"package/{member}")
        assert extracted is not None, member
        data = extracted.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"{name}@{version} {member}: sha256 {digest}, expected {sha256}")
    text = data.decode("utf-8")
    if "</script" in text or any(f"{{{p}}}" in text for p in ("plot_divs", "refresh_tag")):
        raise SystemExit(f"{name}@{version} {member}: cannot be inlined as it is")
    return f"<script>\n{text}\n</script>"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        scripts = [script(*package, Path(tmp)) for package in PACKAGES]
    versions = ", ".join(f"{name} {version}" for name, version, _, _ in PACKAGES)
    # dvc-render fills {refresh_tag} and {plot_divs}; without {scripts} it adds no CDN links.
    page = PAGE.format(
        refresh_tag="{refresh_tag}",
        plot_divs="{plot_divs}",
        versions=versions,
        scripts="\n".join(scripts),
    )
    (HERE / "offline.html").write_text(page, encoding="utf-8")


if __name__ == "__main__":
    main()
