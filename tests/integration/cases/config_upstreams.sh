#!/usr/bin/env bash
# [proxy] and [upstream NAME] with the real binary: `weft config check`
# reports the rules across keys and sections as FILE:LINE: ... and exits 1;
# `config show` prints both sections with the values in effect (the
# computed SNI too), and its output checks clean; the shipped example
# configs check clean. (The running agent's use of them is the proxy's
# integration tests'.)
source "$(dirname "$0")/../lib.sh"

# ---- weft config check: every rule, one run --------------------------------
cat >"$T/bad.ini" <<'INI'
[proxy]
inbound = 0.0.0.0:15443
advertise = 0.0.0.0:15443

[upstream a]
listen = 127.0.0.1:9001

[upstream b]
listen = 127.0.0.1:9001
service = b
address = b.example:80

[upstream c]
listen = 127.0.0.1:15443
address = c.example:443
from = web

[upstream d]
listen = 127.0.0.1:9004
service = d
outlier_ejection = 10m
INI
rc=0
"$WEFT" config check "$T/bad.ini" >"$T/check.out" 2>&1 || rc=$?
check "config check exits 1" test "$rc" -eq 1
check "advertise must be dialable" \
    grep -qxF "$T/bad.ini:3: proxy.advertise: '0.0.0.0:15443' is a wildcard address: other nodes cannot dial it" "$T/check.out"
check "service or address, on the header's line" \
    grep -qxF "$T/bad.ini:5: [upstream a]: needs service (a mesh service) or address (a destination outside the mesh)" "$T/check.out"
check "not both" \
    grep -qxF "$T/bad.ini:8: [upstream b]: service (line 10) and address (line 11) exclude each other: set one" "$T/check.out"
check "from only with service" \
    grep -qxF "$T/bad.ini:16: [upstream c] from: 'web' is only used with service (egress presents no mesh identity)" "$T/check.out"
check "outlier_ejection at most the cap" \
    grep -qxF "$T/bad.ini:21: [upstream d] outlier_ejection: outlier_ejection (10m) must not exceed outlier_max_ejection (5m)" "$T/check.out"
check "two upstreams on one listen address" \
    grep -qxF "$T/bad.ini:9: [upstream b] listen: '127.0.0.1:9001' collides with [upstream a] listen 127.0.0.1:9001 (line 6)" "$T/check.out"
check "an upstream on the inbound port (a wildcard)" \
    grep -qxF "$T/bad.ini:14: [upstream c] listen: '127.0.0.1:15443' collides with proxy.inbound 0.0.0.0:15443 (line 2)" "$T/check.out"
check "nothing else" test "$(wc -l <"$T/check.out")" -eq 7

# ---- weft config show: values in effect, a file of its own -------------------
cat >"$T/good.ini" <<'INI'
[node]
name = gw-01
data_dir = /var/lib/weft
[proxy]
inbound = 0.0.0.0:15443
default_action = deny
[upstream inventory]
listen = 127.0.0.1:9001
service = inventory
from = sensors
[upstream cloud]
listen = 127.0.0.1:9443
address = api.example.com:443
tls_ca = /etc/ssl/certs/ca-certificates.crt
INI
check "config check accepts a good file" "$WEFT" config check "$T/good.ini"
"$WEFT" config show "$T/good.ini" >"$T/show.ini"
check "show prints [proxy]" grep -qx '\[proxy\]' "$T/show.ini"
check "with its values" grep -qx 'default_action = deny' "$T/show.ini"
check "and its defaults" grep -qx 'drain_timeout = 15s' "$T/show.ini"
check "show prints each upstream" grep -qx '\[upstream cloud\]' "$T/show.ini"
check "with the defaults in effect" grep -qx 'max_pending = 128' "$T/show.ini"
check "and the computed SNI" grep -qx 'tls_sni = api.example.com' "$T/show.ini"
check "show's output checks clean" "$WEFT" config check "$T/show.ini"
"$WEFT" config show "$T/show.ini" | tail -n +2 >"$T/show2.ini"
check "and shows the same again" bash -c 'tail -n +2 "$0" | cmp -s - "$1"' "$T/show.ini" "$T/show2.ini"

# ---- the shipped configs ------------------------------------------------------
for f in "$WEFT_SOURCE_DIR"/configs/weft.ini "$WEFT_SOURCE_DIR"/configs/examples/*.ini; do
    check "$(basename "$f") checks clean" "$WEFT" config check "$f"
done
finish
