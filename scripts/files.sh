#!/bin/sh
# SPDX-License-Identifier: MIT
# Prints the project's files, one a line, sorted (LC_ALL=C), relative to
# the top directory: what make dist ships and check-spdx.sh reads.
#
# In a git checkout (DIR is the top of its own work tree): the files git
# tracks (git ls-files), so a file is in the release once it is added to
# git, with nothing to update by hand.  In an unpacked release tarball
# (no git): the list in MANIFEST, which make dist writes into the tarball
# (it is not kept in git).  MANIFEST itself is not listed.
#
#     sh scripts/files.sh [DIR]
set -eu
top=$(cd "${1:-$(dirname "$0")/..}" && pwd)
cd "$top"
if [ "$(git rev-parse --show-toplevel 2>/dev/null || :)" = "$top" ]; then
	git -c core.quotePath=false ls-files | while IFS= read -r f; do
		[ -e "$f" ] && [ "$f" != MANIFEST ] && printf '%s\n' "$f"
	done | LC_ALL=C sort
elif [ -f MANIFEST ]; then
	grep -v '^#' MANIFEST | LC_ALL=C sort
else
	echo "files.sh: $top is neither a git checkout nor a release (no MANIFEST)" >&2
	exit 1
fi
