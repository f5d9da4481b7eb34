#!/bin/sh
# Install the Debian packages named on the command line that are missing.
# Idempotent and quiet when everything is present (used by `make deps`).
set -e
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "zcap: make deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "zcap: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends $missing >/dev/null
