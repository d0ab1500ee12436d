#!/usr/bin/env python3
"""Checks the rules ARCHITECTURE.md states: which synchub crate may depend
on which, that the pure crates' normal dependency trees have no AWS, Lambda
or HTTP client crate, which folders of the core may import which, and that
no source file is over 600 lines. Exits non-zero naming every broken rule."""

import json
import pathlib
import subprocess
import sys

# Each crate and the synchub crates its normal dependencies may name.
ALLOWED = {
    "synchub-model": set(),
    "synchub-connectors": {"synchub-model"},
    "synchub-core": {"synchub-model", "synchub-connectors"},
    "synchub-ops": {"synchub-model", "synchub-connectors", "synchub-core"},
    "synchub-aws": {"synchub-model", "synchub-connectors", "synchub-core"},
    "synchub-lambda": {
        "synchub-model",
        "synchub-connectors",
        "synchub-core",
        "synchub-ops",
        "synchub-aws",
    },
}
# Crates whose whole normal tree must stay free of I/O runtimes.
PURE = ["synchub-model", "synchub-connectors", "synchub-core", "synchub-ops"]
FORBIDDEN_PREFIXES = ("aws-", "aws_", "lambda_", "lambda-", "reqwest", "hyper")
# Inside the core: the domain imports neither ports nor use cases, and the
# ports import no use case (each folder, and the paths it must not name).
MODULE_RULES = [
    ("shared/core/src/domain", ("crate::app", "crate::ports", "crate::messages")),
    ("shared/core/src/ports", ("crate::app",)),
]


def cargo(*args):
    return subprocess.run(
        ["cargo", *args], check=True, capture_output=True, text=True
    ).stdout


def direct_rules(packages):
    broken = []
    for pkg in packages:
        name = pkg["name"]
        if name not in ALLOWED:
            continue
        for dep in pkg["dependencies"]:
            if not dep["name"].startswith("synchub-") or dep["kind"] == "dev":
                continue
            if dep["name"] not in ALLOWED[name]:
                broken.append(f"{name} depends on {dep['name']} (allowed: "
                              f"{', '.join(sorted(ALLOWED[name])) or 'none'})")
    missing = set(ALLOWED) - {p["name"] for p in packages}
    broken += [f"{m} is not a workspace member" for m in sorted(missing)]
    return broken


def pure_rules():
    broken = []
    for crate in PURE:
        tree = cargo("tree", "-p", crate, "-e", "normal", "--prefix", "none")
        names = {line.split()[0] for line in tree.splitlines() if line.strip()}
        bad = sorted(n for n in names if n.startswith(FORBIDDEN_PREFIXES))
        if bad:
            broken.append(f"{crate}'s normal tree has {', '.join(bad)}")
    return broken


def module_rules():
    broken = []
    for folder, forbidden in MODULE_RULES:
        for path in sorted(pathlib.Path(folder).rglob("*.rs")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                for name in forbidden:
                    if name in line and not line.lstrip().startswith("//"):
                        broken.append(f"{path}:{number} names {name}")
    return broken


MAX_FILE_LINES = 600
SOURCE_FOLDERS = ["shared", "functions", "cli", "tests"]


def file_sizes():
    broken = []
    for folder in SOURCE_FOLDERS:
        for path in sorted(pathlib.Path(folder).rglob("*.rs")):
            lines = len(path.read_text().splitlines())
            if lines > MAX_FILE_LINES:
                broken.append(f"{path} has {lines} lines (at most {MAX_FILE_LINES})")
    return broken


def main():
    meta = json.loads(cargo("metadata", "--format-version", "1", "--no-deps"))
    broken = direct_rules(meta["packages"]) + pure_rules() + module_rules() + file_sizes()
    for rule in broken:
        print(f"check-layers: {rule}", file=sys.stderr)
    if broken:
        sys.exit(1)
    print(f"check-layers: {len(ALLOWED)} crates keep their dependency rules; no file over {MAX_FILE_LINES} lines")


if __name__ == "__main__":
    main()
