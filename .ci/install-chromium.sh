#!/usr/bin/env bash
# Installs Debian's chromium for the HTML report's browser test (report/html), unless a
# Chromium is on PATH already. The package lists are refreshed (apt-get update) only when
# the install cannot be done from the lists the machine has. Non-interactive; as root.
#
#   bash .ci/install-chromium.sh        # then: go test -run Browser -v ./report/html
set -euo pipefail

for name in chromium chromium-browser google-chrome headless-shell; do
	if command -v "$name" >/dev/null; then
		echo "install-chromium: $name is installed ($(command -v "$name"))"
		exit 0
	fi
done

export DEBIAN_FRONTEND=noninteractive
install() { apt-get install -y --no-install-recommends -q chromium; }
start=$(date +%s)
if ! install; then
	echo "install-chromium: refreshing the package lists and trying again"
	apt-get update -q
	install
fi
echo "install-chromium: $(chromium --version 2>/dev/null) installed in $(($(date +%s) - start)) s"
