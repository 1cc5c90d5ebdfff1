#!/bin/sh
# Install Pebble (ACME test CA) and pebble-challtestsrv (mock DNS/HTTP-01) from Debian.
# The tests generate Pebble's TLS certificates themselves; the package ships none.
set -eu
if [ -x /usr/bin/pebble ] && [ -x /usr/bin/pebble-challtestsrv ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends pebble
