#!/usr/bin/env bash
# Set up and run minqing on a developer's machine (and in CI, see .ci/run).
#
#   ./dev.sh serve        install what changed, migrate, load the demo county and serve it
#   ./dev.sh test [ARGS]  install what changed, then ruff and pytest (ARGS go to pytest)
#   ./dev.sh bench [ARGS] install what changed, then the benchmarks (python -m bench ARGS)
#
# The set-up step is safe and fast to rerun: pip and npm run only when pyproject.toml or
# package-lock.json changed since the last successful install (a sha256 stamp records it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

PYTHON=${PYTHON:-python3}
VENV=.venv
PY_STAMP=$VENV/.minqing-installed
NODE_STAMP=node_modules/.minqing-installed

say() { printf '==> %s\n' "$*"; }
die() { printf 'dev.sh: %s\n' "$*" >&2; exit 1; }

usage() {
    cat >&2 <<'EOF'
usage: ./dev.sh serve          set up, migrate, load the demo county and serve it
       ./dev.sh test [ARGS]    set up, then ruff and pytest (ARGS are passed to pytest)
       ./dev.sh bench [ARGS]   set up, then the benchmarks (ARGS are passed to python -m bench)
EOF
    exit 2
}

sha256_of() {
    "$VENV/bin/python" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' "$1"
}

require_python() {  # $1: the interpreter to check
    "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
        || die "minqing needs Python 3.11 or newer; $1 is $("$1" --version 2>&1 || echo 'missing'). \
Install a newer Python, or point PYTHON=/path/to/python3.11 at one (and remove $VENV if it was made with the old one)."
}

setup_python() {
    command -v "$PYTHON" >/dev/null || die "no $PYTHON on PATH; minqing needs Python 3.11 or newer."
    if [[ ! -x $VENV/bin/python ]]; then
        require_python "$PYTHON"
        say "creating $VENV"
        "$PYTHON" -m venv "$VENV"
    fi
    require_python "$VENV/bin/python"

    local want
    want=$(sha256_of pyproject.toml)
    if [[ ! -x $VENV/bin/minqing || ! -f $PY_STAMP || $(<"$PY_STAMP") != "$want" ]]; then
        say "installing Python packages (pyproject.toml changed)"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
        printf '%s\n' "$want" >"$PY_STAMP"
    fi
}

setup_node() {
    command -v node >/dev/null && command -v npm >/dev/null \
        || die "minqing needs Node.js 18 or newer (with npm) for its front-end packages; none found on PATH."
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    ((major >= 18)) || die "minqing needs Node.js 18 or newer; found $(node --version)."

    local want
    want=$(sha256_of package-lock.json)
    if [[ ! -f $NODE_STAMP || $(<"$NODE_STAMP") != "$want" ]]; then
        say "installing front-end packages (package-lock.json changed)"
        npm ci --no-audit --no-fund --loglevel=error
        printf '%s\n' "$want" >"$NODE_STAMP"
    fi
}

setup() {
    setup_python
    setup_node
    # var/ holds the SQLite database and the generated secret key; whitenoise warns at every
    # start when STATIC_ROOT (var/static) does not exist, although nothing is collected there.
    mkdir -p "${MINQING_VAR_DIR:-var}/static"
    "$VENV/bin/minqing" compiletranslations
}

ensure_chromium() {
    # The browser test drives Debian's Chromium through Playwright; without it the test fails
    # (it does not skip), so say so here, before the suite runs.
    if [[ -x /usr/bin/chromium ]]; then
        return
    elif [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        say "installing Debian's chromium for the browser test"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq chromium
    else
        printf 'dev.sh: WARNING: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get).\n' >&2
        printf 'dev.sh: WARNING: the browser test will fail; install it with: sudo apt-get install chromium\n' >&2
    fi
}

cmd=${1:-}
if [[ $# -gt 0 ]]; then shift; fi

case $cmd in
    serve)
        [[ $# -eq 0 ]] || usage
        setup
        # A local http demo: secure cookies would never be sent back over plain http.
        export MINQING_HTTPS=${MINQING_HTTPS:-0}
        port=${PORT:-8000}
        "$VENV/bin/minqing" migrate --noinput
        "$VENV/bin/minqing" demo
        # The background-task worker (roll imports); it stops with the server.
        "$VENV/bin/minqing" db_worker >"${MINQING_VAR_DIR:-var}/worker.log" 2>&1 &
        worker=$!
        trap 'kill "$worker" 2>/dev/null' EXIT
        say "minqing is at http://127.0.0.1:$port/  (Ctrl-C stops it; task worker log: ${MINQING_VAR_DIR:-var}/worker.log)"
        "$VENV/bin/minqing" runserver "127.0.0.1:$port"
        ;;
    test)
        setup
        ensure_chromium
        lint_paths=()
        for path in src tests bench; do
            if [[ -e $path ]]; then lint_paths+=("$path"); fi
        done
        say "ruff check ${lint_paths[*]}"
        "$VENV/bin/ruff" check "${lint_paths[@]}"
        # Never print a password that DATABASE_URL may carry.
        say "pytest on $(sed -E 's#//[^/@]*@#//#' <<<"${DATABASE_URL:-SQLite (DATABASE_URL unset)}")"
        exec "$VENV/bin/pytest" "$@"
        ;;
    bench)
        setup
        exec "$VENV/bin/python" -m bench "$@"
        ;;
    *)
        usage
        ;;
esac
