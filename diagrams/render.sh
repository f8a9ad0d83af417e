#!/usr/bin/env bash
# Regenerates the committed SVGs from their sources:
#   architecture.dot      -> architecture.svg      (Graphviz `dot`, Debian package graphviz)
#   start-sequence.puml   -> start-sequence.svg    (PlantUML, Debian package plantuml)
# Usage: diagrams/render.sh [png]   (png: also writes PNGs next to the SVGs, for a quick look;
#                                    they are not committed)
set -euo pipefail
cd "$(dirname "$0")"

for tool in dot plantuml; do
  if ! command -v "$tool" >/dev/null; then
    echo "render.sh: '$tool' not found; install it: apt-get install -y graphviz plantuml" >&2
    exit 1
  fi
done

formats=(svg)
[[ ${1:-} == png ]] && formats+=(png)

for f in "${formats[@]}"; do
  dot -T"$f" architecture.dot -o "architecture.$f"
  # PlantUML names its output after the source file, in the source's directory.
  plantuml -t"$f" -charset UTF-8 start-sequence.puml
done
echo "rendered: architecture and start-sequence as ${formats[*]}"
