#!/usr/bin/env bash
# The whole ferrolink test suite, from a clean clone on a fresh machine:
# OS packages, Python deps, Rust checks, the release wheel installed into a fresh venv,
# lint + types, pytest against the installed wheel, a benchmark smoke run, and `ferrolink demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# Each step's duration is printed when the next one starts (and at exit, pass or fail).
step_name=""
step_start=$SECONDS
step_done() {
  [ -z "$step_name" ] || printf '<== %s: %d s\n' "$step_name" $((SECONDS - step_start))
}
step() { step_done; step_name="$*"; step_start=$SECONDS; printf '\n==> %s\n' "$*"; }
trap 'step_done; printf "<== total: %d s\n" "$SECONDS"' EXIT

step "OS packages (nginx, mosquitto, tinyproxy, apache2)"
missing=()
for cmd in nginx:nginx-light mosquitto:mosquitto tinyproxy:tinyproxy apache2:apache2; do
  bin=${cmd%%:*}; pkg=${cmd##*:}
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # The packages start system services we do not use; tests start their own servers.
  for svc in nginx mosquitto tinyproxy apache2; do $SUDO service "$svc" stop >/dev/null 2>&1 || true; done
fi

step "Python virtual environment (fresh)"
venv="$root/.venv-test"
rm -rf "$venv"
python3 -m venv "$venv"
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q -r requirements-test.txt

step "Rust: fmt, clippy, tests"
cargo fmt --all --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test -p ferrolink-core --quiet

step "Build the release wheel and install it"
rm -rf dist
maturin build --release --quiet --out dist
python -m pip install -q --force-reinstall dist/ferrolink-*.whl
installed=$(cd /tmp && python -c 'import ferrolink, os; print(os.path.dirname(ferrolink.__file__))')
case "$installed" in
  "$venv"/*) echo "ferrolink imported from the installed wheel: $installed" ;;
  *) echo "ferrolink imported from $installed, not from the wheel" >&2; exit 1 ;;
esac

step "Original SDKs for the side-by-side tests, without their dependencies"
# From here on every pip install in this venv is --no-deps: a resolving one would report
# these packages' unmet (unused) dependencies as resolver errors.
if grep -qv '^\s*\(#\|$\)' requirements-nodeps.txt; then
  python -m pip install -q --no-deps -r requirements-nodeps.txt
fi

step "Python: ruff, mypy --strict"
ruff check python tests benches
ruff format --check python tests benches
mypy

step "Stubs: _core.pyi against the built module (stubtest)"
# From /tmp, so the installed wheel is what gets imported, not python/ in the source tree.
(cd /tmp && python -m mypy.stubtest ferrolink._core --allowlist "$root/stubtest-allowlist.txt")

step "pytest against the installed wheel"
# --import-mode=importlib and running from tests/ keep python/ (the source tree) off sys.path.
# The fuzz tests (tests/test_fuzz_*.py) run hypothesis on this budget per strategy and target.
FERROLINK_FUZZ_EXAMPLES=150 python -m pytest -q -p no:cacheprovider --import-mode=importlib tests

step "Benchmarks, smoke run (each benchmark once)"
python -m pytest -q -p no:cacheprovider --import-mode=importlib --benchmark-disable benches

step "ferrolink demo"
(cd /tmp && ferrolink demo)

step "libferrolink (rust/ffi): Rust tests, the generated header, the C example"
need=()
command -v cbindgen >/dev/null 2>&1 || need+=(cbindgen)
command -v pypy3 >/dev/null 2>&1 || need+=(pypy3 pypy3-venv)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
cargo test -p ferrolink-ffi --quiet
# The checked-in header must be exactly what cbindgen makes of the sources.
(cd rust/ffi && cbindgen --quiet --config cbindgen.toml --output include/ferrolink.h)
git diff --exit-code -- rust/ffi/include/ferrolink.h
rm -rf dist-ffi
maturin build --release --quiet -m rust/ffi/Cargo.toml --out dist-ffi
# One wheel for CPython and PyPy: the glob fails unless it is tagged py3-none-<platform>.
ffi_wheel=$(ls dist-ffi/ferrolink_ffi-*-py3-none-*.whl)
cc -std=c99 -Wall -Wextra -Werror -pedantic -Irust/ffi/include rust/ffi/examples/decode_push.c \
  -L"$root/target/release" -lferrolink -Wl,-rpath,"$root/target/release" -o target/decode_push
target/decode_push

step "ferrolink-ffi on CPython: lint, types, tests and the cross-check against ferrolink"
# --no-deps: cffi is in requirements-test.txt, and resolving would report the unmet
# dependencies of the peers installed without theirs.
python -m pip install -q --no-deps --force-reinstall "$ffi_wheel"
ruff check rust/ffi/python tests_ffi
ruff format --check rust/ffi/python tests_ffi
mypy rust/ffi/python/ferrolink_ffi
python -m pytest -q -p no:cacheprovider -W error tests_ffi
python -m pytest -q -p no:cacheprovider --benchmark-disable benches/test_ffi.py

step "ferrolink-ffi on PyPy (Debian's pypy3, fresh venv): tests, benchmark smoke run"
pypy_venv="$root/.venv-pypy"
rm -rf "$pypy_venv"
pypy3 -m venv "$pypy_venv"
"$pypy_venv/bin/python" -m pip install -q pytest pytest-benchmark requests six arrow "$ffi_wheel"
"$pypy_venv/bin/python" -m pip install -q --no-deps devicecloud==0.5.10
"$pypy_venv/bin/python" -m pytest -q -p no:cacheprovider -W error tests_ffi
"$pypy_venv/bin/python" -m pytest -q -p no:cacheprovider --noconftest --benchmark-disable \
  benches/test_ffi.py
