#!/usr/bin/env bash
# Installs the test suite's real peers from Debian packages when they are missing:
# SIPp (sip-tester) for SIP, Chromium for the console's browser tests, the Noto CJK fonts so
# that its screenshots and the report charts show Chinese instead of boxes, Pango, which
# WeasyPrint lays the PDF reports out with, and pg_dump and pg_restore (postgresql-client) for
# the backup tests, and Kamailio and baresip, which the interop tests run as the carrier's edge
# and as an agent's phone, and rtpengine, the media relay of `[media] engine = "rtpengine"`,
# and nginx, the console proxy of the cluster tests.
set -euo pipefail
missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
[ -x /usr/bin/chromium ] || missing+=(chromium)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
dpkg -s libpango-1.0-0 >/dev/null 2>&1 || missing+=(libpango-1.0-0)
dpkg -s libpangoft2-1.0-0 >/dev/null 2>&1 || missing+=(libpangoft2-1.0-0)
[ -x /usr/sbin/kamailio ] || missing+=(kamailio)
command -v baresip >/dev/null 2>&1 || missing+=(baresip-core)
command -v rtpengine >/dev/null 2>&1 || missing+=(rtpengine-daemon)
command -v nginx >/dev/null 2>&1 || missing+=(nginx-light)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "missing test packages: ${missing[*]}; install them as root (apt-get install ${missing[*]})" >&2
    exit 1
fi
echo "installing test packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
