#!/usr/bin/env bash
# docs/kaniko-migration.md's flag table against the real `slipway build
# --help`: a Kaniko flag said to be "same" must exist under that name, every
# Slipway flag the table names must exist, a flag said to be "not needed" or
# "not supported" must not exist (or the table is stale). Slipway-only flags
# need not be on the page: it maps Kaniko's.
source "$(dirname "$0")/lib.sh"
help=$("$SLIPWAY" build --help) || fail "slipway build --help"
doc=$SLIPWAY_SOURCE_DIR/docs/kaniko-migration.md
out=$(python3 - "$doc" "$help" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
have = set(re.findall(r"--[a-z][a-z-]*", sys.argv[2]))
flags = re.compile(r"--[a-zA-Z][a-zA-Z-]*")
section = doc.split("\n## Flags", 1)[1].split("\n## ", 1)[0]
rows = [l for l in section.splitlines() if l.startswith("| `")]
problems = []
for row in rows:
    cells = [c.strip() for c in row.strip().strip("|").split(" | ")]
    if len(cells) != 3:
        problems.append(f"row without 3 cells: {row}")
        continue
    kaniko, slipway, why = cells
    kflags = flags.findall(kaniko)
    if not kflags:
        problems.append(f"row names no Kaniko flag: {row}")
    if slipway.startswith("same"):
        problems += [f"'{f}' is marked same but slipway build has no {f}" for f in kflags if f not in have]
    problems += [f"'{f}' (for {kflags[0]}) is not a slipway build flag" for f in flags.findall(slipway) if f not in have]
    if ("not needed" in slipway or "not supported" in slipway) and "Slipway's own" not in why:
        problems += [f"{f} is marked '{slipway}' but slipway build has it" for f in kflags if f in have]
print(len(rows))
for p in problems:
    print("PROBLEM", p)
PY
) || fail "the checker failed"
rows=$(echo "$out" | head -n1)
[ "$rows" -ge 45 ] || fail "only $rows flag rows found in $doc: the table's format changed?"
if echo "$out" | grep -q '^PROBLEM'; then
  fail "docs/kaniko-migration.md is out of date: $(echo "$out" | grep '^PROBLEM' | cut -c9-)"
fi
pass
