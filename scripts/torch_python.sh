# Sourced by the study scripts: sets `py` to a python3 that can import torch ($PYTHON when set, else
# the first of python3 and Debian's /usr/bin/python3 with python3-torch), or exits naming the caller.
# Usage: source scripts/torch_python.sh NAME
py=${PYTHON:-}
if [ -z "$py" ]; then
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import torch' 2>/dev/null; then py=$candidate; break; fi
  done
fi
[ -n "$py" ] || { echo "$1: no python3 with torch found (set PYTHON)" >&2; exit 1; }
