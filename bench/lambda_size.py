"""Lambda's size budget: every function's code plus its layers, unzipped, against 250 MB.

    python bench/lambda_size.py

Each layer is built into a temp dir the way `sam build` builds it for Lambda (python3.12, arm64):
DepsLayer with pip for that platform from layers/deps/requirements.txt; PiiLayer with its own
Makefile (`make build-PiiLayer`: pip, then strip.py and strip); ProductLayer and each function's
code are their folders as they are. Which layers a function gets is read from template.yaml (the
Globals' and its own). Sizes are the files' bytes, as Lambda counts them (250 MB = 262,144,000 bytes).

Then the stripped PII layer is built again for this machine's Python and platform, and a fresh
interpreter redacts a message with that layer first on its path: stripping must not remove what the
redactor loads (Lambda's arm64 wheels cannot run here; the same strip runs on both).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 262_144_000  # 250 MB as Lambda counts it: function code and all its layers, unzipped
LAMBDA_PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64")
LAMBDA_PYTHON = "3.12"


def folder_bytes(folder: Path) -> int:
    return sum(
        path.stat().st_size
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and not path.name.endswith(".pyc")
    )


def _pip_target(target: Path, requirements: Path, platforms: tuple[str, ...], python_version: str) -> None:
    subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-warn-conflicts",
            "--target", str(target),
            *(arg for name in platforms for arg in ("--platform", name)),
            "--implementation", "cp", "--python-version", python_version, "--only-binary=:all:",
            "-r", str(requirements),
        ],
        check=True,
    )  # fmt: skip


def build_pii_layer(artifacts: Path, platforms: tuple[str, ...], python_version: str, strip: str = "") -> Path:
    """`make build-PiiLayer` into `artifacts` (what `sam build` runs); returns the layer's python/ folder."""
    variables = [
        f"ARTIFACTS_DIR={artifacts}",
        f"PYTHON={sys.executable}",
        f"PLATFORMS={' '.join(platforms)}",
        f"PYTHON_VERSION={python_version}",
    ]
    if strip:
        variables.append(f"STRIP={strip}")
    subprocess.run(["make", "--no-print-directory", "-C", str(ROOT / "layers" / "pii"), "build-PiiLayer", *variables],
                   check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    return artifacts / "python"


def layer_sizes(folder: Path) -> dict[str, int]:
    """Bytes per layer of the template, each built for Lambda into `folder`."""
    deps = folder / "deps" / "python"
    _pip_target(deps, ROOT / "layers" / "deps" / "requirements.txt", LAMBDA_PLATFORMS, LAMBDA_PYTHON)
    pii = build_pii_layer(folder / "pii", LAMBDA_PLATFORMS, LAMBDA_PYTHON)
    return {
        "ProductLayer": folder_bytes(ROOT / "layers" / "replyloop"),
        "DepsLayer": folder_bytes(deps),
        "PiiLayer": folder_bytes(pii),
    }


def function_layers() -> dict[str, tuple[str, list[str]]]:
    """Function resource -> (its code folder, the layers it gets: the Globals' first, then its own)."""
    sys.path.insert(0, str(ROOT / "layers" / "replyloop" / "python"))
    from replyloop.local.template import function_globals, load_template, resources_of_type

    template = load_template(ROOT / "template.yaml")

    def names(layers: list[Any]) -> list[str]:
        return [layer["Ref"] for layer in layers if isinstance(layer, dict) and "Ref" in layer]

    shared = names(function_globals(template).get("Layers") or [])
    return {
        name: (str(spec["Properties"]["CodeUri"]), shared + names(spec["Properties"].get("Layers") or []))
        for name, spec in resources_of_type(template, "AWS::Serverless::Function").items()
    }


def check_stripped_layer_redacts(folder: Path) -> str:
    """Build the PII layer for this machine, strip it the same way, and redact with it first on the path."""
    machine = platform.machine()
    platforms = tuple(f"{tag}_{machine}" for tag in ("manylinux2014", "manylinux_2_28", "manylinux_2_34"))
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    layer = build_pii_layer(folder / "pii-here", platforms, version, strip="strip")
    code = (
        "import sys, spacy, presidio_analyzer, phonenumbers\n"
        f"assert spacy.__file__.startswith({str(layer)!r}), spacy.__file__\n"
        "from replyloop.adapters.redaction import redact\n"
        "print(redact('Hi, I am Maria Lopez, call +44 20 7946 0958, born 1980-02-03.').text)\n"
    )
    # The stripped layer first, then the product package; what DepsLayer provides (pydantic) from site-packages.
    path = os.pathsep.join(
        [str(layer), str(ROOT / "layers" / "replyloop" / "python"), sysconfig.get_paths()["purelib"]]
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": path})  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the stripped PII layer does not redact: {done.stderr[-2000:]}")
    return done.stdout.strip()


def run(report: Callable[..., None], smoke: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        layers = layer_sizes(Path(folder))
        redacted = check_stripped_layer_redacts(Path(folder))
    print(
        "lambda layers (unzipped): " + ", ".join(f"{name} {size / 1e6:.1f} MB" for name, size in layers.items()),
        flush=True,
    )
    for name, (code, attached) in sorted(function_layers().items()):
        code_bytes = folder_bytes(ROOT / code)
        total = code_bytes + sum(layers[layer] for layer in attached)
        report(
            f"lambda size {name.removesuffix('Function').lower()}",
            total / LIMIT,
            1.0,
            f"{total / 1e6:.1f} MB of 262.1 MB: code {code_bytes / 1e3:.0f} kB + {' + '.join(attached)}",
            "layers/pii/strip.py and the strip step decide the PII layer's size",
        )
    report("pii layer stripped", 0.0, None, f"still redacts when built for this machine: {redacted!r}")


def _print_report(name: str, ratio: float, target: float | None, detail: str, why: str = "") -> None:
    verdict = "n/a" if target is None else ("PASS" if ratio <= target else "MISS")
    print(f"{name:26} {ratio:7.3f} {verdict:5} {detail}", flush=True)


if __name__ == "__main__":
    run(_print_report, smoke=False)
