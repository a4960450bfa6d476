# Sourced by scripts/serve and scripts/test: make .venv from a lock file plus this project.
#
#   source scripts/venv.sh && ensure_venv requirements.lock
#
# Uses $PYTHON if set, else the first of python3, python3.14 ... python3.11 that is 3.11 or
# newer. The install is skipped while the lock, pyproject.toml and .venv's Python are
# those of the last successful install (a stamp file in .venv), so a second run starts at once.

_is_py311() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

pick_python() {
    local candidate candidates=(python3 python3.14 python3.13 python3.12 python3.11)
    [[ -n ${PYTHON:-} ]] && candidates=("$PYTHON")   # asked for one: that one or an error
    for candidate in "${candidates[@]}"; do
        if command -v "$candidate" >/dev/null && _is_py311 "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "error: supplier-risk needs Python 3.11 or newer; not found as: ${candidates[*]}" \
        "(install it, or set PYTHON=/path/to/python3.11)" >&2
    return 1
}

ensure_venv() {
    local lock=$1 python stamp want
    if ! _is_py311 .venv/bin/python; then
        python=$(pick_python)
        echo "creating .venv with $python ($("$python" --version 2>&1))" >&2
        "$python" -m venv --clear .venv || {
            echo "error: '$python -m venv' failed; on Debian/Ubuntu: apt-get install python3-venv" >&2
            return 1
        }
    fi
    stamp=.venv/.installed-${lock%.lock}
    want=$(cat "$lock" pyproject.toml | .venv/bin/python -c \
        'import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read() + sys.version.encode()).hexdigest())')
    if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
        return 0
    fi
    echo "installing $lock and the project into .venv" >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$lock"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
    echo "$want" >"$stamp"
}
