# Sourced by the study scripts: sets `py` to a python3 that can import torch ($PYTHON when set, else
# the first of python3 and Debian's /usr/bin/python3 with python3-torch), or exits naming the caller.
# Checked before a script truncates its output file: a wrong PYTHON must not cost the old results.
# Usage: source scripts/torch_python.sh NAME
py=${PYTHON:-}
if [ -n "$py" ]; then
  "$py" -c 'import torch' 2>/dev/null || { echo "$1: PYTHON=$py cannot import torch" >&2; exit 1; }
else
  for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c 'import torch' 2>/dev/null; then py=$candidate; break; fi
  done
fi
[ -n "$py" ] || { echo "$1: no python3 with torch found (set PYTHON)" >&2; exit 1; }
