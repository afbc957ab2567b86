# Sourced (bash): put a python3 that has drgn first on PATH.  drgn goes into a venv under the tier's
# cache, the way Debian's Python allows (no system-wide pip); an interpreter that already has drgn
# is used as it is.  SKBWALK_NO_INSTALL=1: never install, fail instead.
if ! python3 -c 'import drgn' 2>/dev/null; then
    SKBWALK_VENV=${SKBWALK_VENV:-${SKBWALK_TESTDATA_CACHE:-$HOME/.cache/skbwalk-testdata}/venv}
    if ! "$SKBWALK_VENV/bin/python3" -c 'import drgn' 2>/dev/null; then
        if [ "${SKBWALK_NO_INSTALL:-0}" = 1 ]; then
            echo "python3 module drgn missing (SKBWALK_NO_INSTALL=1)" >&2; return 1
        fi
        echo "[drgn-env] creating $SKBWALK_VENV with drgn" >&2
        python3 -m venv "$SKBWALK_VENV" >&2 && "$SKBWALK_VENV/bin/python3" -m pip install -q drgn >&2 \
            || { echo "cannot make a venv with drgn at $SKBWALK_VENV (python3-venv installed?)" >&2; return 1; }
    fi
    export PATH="$SKBWALK_VENV/bin:$PATH"
fi
