#!/usr/bin/env bash
# Installs the pinned Stoplight Prism (the provider-spec mock used by prism_test.go) into
# .prism/ under the repo root, from the npm registry. Idempotent: a second run with the
# right version already installed only checks it and exits.
#
#   bash .ci/install-prism.sh        # then: go test -run Prism -v .
#
# 5.14.2 is the newest @stoplight/prism-cli whose "engines" accepts Node 18/20
# (5.15.x wants Node >= 24.14). Bump PRISM_VERSION deliberately, not by floating.
set -euo pipefail
cd "$(dirname "$0")/.."

PRISM_VERSION="${PRISM_VERSION:-5.14.2}"
PREFIX=".prism"
PKG="$PREFIX/node_modules/@stoplight/prism-cli/package.json"
BIN="$PREFIX/node_modules/.bin/prism"

installed_version() {
	[ -f "$PKG" ] && [ -x "$BIN" ] || return 0
	node -e 'process.stdout.write(require(process.argv[1]).version)' "$PWD/$PKG" 2>/dev/null || true
}

command -v node >/dev/null || { echo "install-prism: node is not installed (Prism needs Node >= 18.20)" >&2; exit 1; }
command -v npm >/dev/null || { echo "install-prism: npm is not installed" >&2; exit 1; }

if [ "$(installed_version)" = "$PRISM_VERSION" ]; then
	echo "install-prism: @stoplight/prism-cli $PRISM_VERSION already in $PREFIX/"
	exit 0
fi

echo "install-prism: installing @stoplight/prism-cli@$PRISM_VERSION into $PREFIX/ (node $(node --version))"
mkdir -p "$PREFIX"
# A package.json of our own keeps npm from climbing to a parent folder's project.
[ -f "$PREFIX/package.json" ] || printf '{\n  "name": "reassign-prism",\n  "private": true\n}\n' >"$PREFIX/package.json"
npm install --prefix "$PREFIX" --save-exact --no-audit --no-fund --loglevel=error \
	"@stoplight/prism-cli@$PRISM_VERSION"

got="$(installed_version)"
if [ "$got" != "$PRISM_VERSION" ]; then
	echo "install-prism: wanted $PRISM_VERSION, found '${got:-nothing}' in $PREFIX/" >&2
	exit 1
fi
"$BIN" --version >/dev/null
echo "install-prism: @stoplight/prism-cli $got ready at $BIN"
