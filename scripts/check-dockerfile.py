#!/usr/bin/env python3
"""No image can be built on the project's machines (no container engine, no registry), so
this checks the Dockerfile by reading it: every workspace member and every build input is
copied into the builder, the build is locked and uses cache mounts, and the runtime runs
as a non-root user. Exits non-zero, naming what is missing."""

import pathlib
import re
import sys
import tomllib

root = pathlib.Path(__file__).resolve().parent.parent
dockerfile = (root / "Dockerfile").read_text()
workspace = tomllib.loads((root / "Cargo.toml").read_text())

copied = set()
for line in dockerfile.splitlines():
    m = re.match(r"\s*COPY\s+(?!--from)(.+)$", line)
    if m:
        *sources, _dest = m.group(1).split()
        copied.update(s.rstrip("/") for s in sources)

needed = {"Cargo.toml", "Cargo.lock"}
for member in workspace["workspace"]["members"]:
    if member == ".":
        needed.update({"src"})
        if (root / "build.rs").exists():
            needed.add("build.rs")
    else:
        needed.add(member.rstrip("/"))
# Build inputs read by build.rs and include_bytes!: the contract and its imports, and the
# web console's bundle once it exists.
for extra in ["proto", "third_party", "web/dist"]:
    if (root / extra).exists():
        needed.add(extra)

problems = [f"the Dockerfile does not copy {p}" for p in sorted(needed - copied)]
if "--locked" not in dockerfile:
    problems.append("the build is not --locked")
if "--mount=type=cache" not in dockerfile:
    problems.append("the build uses no BuildKit cache mount")
runtime = dockerfile.split("AS runtime", 1)[-1]
if not re.search(r"^USER\s+(?!root\b|0\b)\S+", runtime, re.M):
    problems.append("the runtime does not switch to a non-root user")
exposed = {p for line in re.findall(r"^EXPOSE\s+(.+)$", runtime, re.M) for p in line.split()}
for port, what in [("50051", "the API"), ("9464", "the admin port (metrics, probes)")]:
    if port not in exposed:
        problems.append(f"the image does not expose {port}, {what}")
if not re.search(r"SUPPORT_ADMIN_LISTEN=0\.0\.0\.0:9464", runtime):
    problems.append("the admin listener is not bound to all interfaces in the image (SUPPORT_ADMIN_LISTEN)")

if problems:
    print("Dockerfile check failed:", *problems, sep="\n- ", file=sys.stderr)
    sys.exit(1)
print(f"Dockerfile copies every workspace member and build input ({', '.join(sorted(needed))})")
