#!/usr/bin/env bash
# The glibc floor of the prebuilt bindings and their guardians: for each
# file, the highest GLIBC_x.y symbol version it needs, which is the oldest
# glibc it loads on.
# Fails when any needs more than GLIBC_FLOOR (2.28 unless set): the floor
# docs/platforms.md promises.
#
#   bash scripts/check-glibc.sh [FILE...]   # default: kill-target.linux-*-gnu.node
#                                           # and kill-target-guardian.linux-*-gnu
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

floor=${GLIBC_FLOOR:-2.28}

# readelf reads any architecture's ELF (objdump may not), and comes with
# binutils, which the C toolchain pulls in anyway.
# shellcheck source-path=SCRIPTDIR source=apt.sh
source scripts/apt.sh
command -v readelf >/dev/null || apt_ensure binutils

files=("$@")
if ((${#files[@]} == 0)); then
  shopt -s nullglob
  files=(kill-target.linux-*-gnu.node kill-target-guardian.linux-*-gnu)
  ((${#files[@]})) || { echo "check-glibc: no kill-target.linux-*-gnu.node here; build first" >&2; exit 1; }
fi

status=0
for file in "${files[@]}"; do
  # "name@GLIBC_2.34 (3)" for each undefined dynamic symbol.
  versions=$(readelf --dyn-syms --wide "$file" | grep -o '[A-Za-z0-9_]*@GLIBC_[0-9.]*' | sort -u || true)
  highest=$(grep -o '[0-9.]*$' <<<"$versions" | sort -V | tail -n1)
  [[ -n $highest ]] || { echo "check-glibc: $file has no GLIBC symbol versions (not a glibc binding?)" >&2; exit 1; }
  needing=$(grep "@GLIBC_$highest\$" <<<"$versions" | cut -d@ -f1 | paste -sd' ')
  if [[ $(printf '%s\n' "$floor" "$highest" | sort -V | tail -n1) == "$floor" ]]; then
    echo "ok     $file needs glibc $highest (floor $floor): $needing"
  else
    echo "not ok $file needs glibc $highest, above the floor $floor: $needing"
    status=1
  fi
done
exit "$status"
