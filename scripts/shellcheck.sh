#!/usr/bin/env bash
# Lints every shell script in scripts/, bench/ and test/ with shellcheck -x:
# files named *.sh and executable files whose #! names bash or sh. Run from the
# repository root, where the scripts' `# shellcheck source=` paths resolve;
# -x follows what they source. Lists the files it checked and exits non-zero
# on any finding. CTest runs it as lint.shellcheck (test/CMakeLists.txt).
#
#   scripts/shellcheck.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v shellcheck > /dev/null 2>&1; then
  echo "shellcheck.sh: shellcheck is not installed (scripts/setup.sh installs it)" >&2
  exit 1
fi

DIRS=(scripts bench test)
candidates() {  # every file under DIRS: in a git checkout, the tracked and untracked ones git does not ignore
  if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git ls-files --cached --others --exclude-standard -- "${DIRS[@]}"
  else
    find "${DIRS[@]}" -type f
  fi
}
is_shell_script() {  # FILE
  [[ -f "$1" ]] || return 1  # tracked, but deleted in the work tree
  [[ "$1" == *.sh ]] && return 0
  [[ -x "$1" ]] || return 1
  local first=""
  IFS= read -r first < "$1" || true
  [[ "$first" =~ ^#!.*[/\ ](ba)?sh([[:space:]]|$) ]]
}

files=()
while IFS= read -r f; do
  if is_shell_script "$f"; then files+=("$f"); fi
done < <(candidates | sort -u)
if ((${#files[@]} == 0)); then
  echo "shellcheck.sh: no shell scripts found under ${DIRS[*]}" >&2
  exit 1
fi

echo "shellcheck $(shellcheck --version | awk '$1 == "version:" {print $2}') -x, ${#files[@]} files:"
printf '  %s\n' "${files[@]}"
if ! shellcheck -x "${files[@]}"; then
  echo "shellcheck.sh: findings above" >&2
  exit 1
fi
echo "shellcheck: no findings"
