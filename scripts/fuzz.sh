#!/usr/bin/env bash
# The fuzz campaign, on demand: >= 1,000,000 inputs per decoder that reads peer bytes (see
# scripts/fuzz.py for options). Needs the extension built (`maturin develop`) and the test
# requirements installed. Runs at low priority: it is meant to share the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
exec nice -n 10 python scripts/fuzz.py "$@"
