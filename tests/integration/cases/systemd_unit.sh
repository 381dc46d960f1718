#!/usr/bin/env bash
# configs/weft.service passes `systemd-analyze verify` with no complaint
# (it exits 0 even for unknown keys, so any output is a failure), and
# carries what the foundation promises: Type=notify, a watchdog, state and
# runtime directories, and the hardening set.
source "$(dirname "$0")/../lib.sh"

UNIT="$WEFT_SOURCE_DIR/configs/weft.service"
command -v systemd-analyze >/dev/null || die "systemd-analyze missing: run tools/deps.sh"
# verify needs ExecStart's binary to exist: point it at the one under test.
sed "s|/usr/local/bin/weft|$WEFT|" "$UNIT" >"$T/weft.service"
rc=0
out=$(systemd-analyze verify "$T/weft.service" 2>&1) || rc=$?
check "systemd-analyze verify exits 0" test "$rc" -eq 0
check "systemd-analyze verify says nothing (no unknown or bad keys)" test -z "$out"
[ -z "$out" ] || printf '%s\n' "$out"

for kv in Type=notify WatchdogSec= StateDirectory=weft RuntimeDirectory=weft \
    NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes \
    CapabilityBoundingSet= 'ExecReload=/bin/kill -HUP $MAINPID'; do
    check "unit has $kv" grep -q "^$kv" "$UNIT"
done

# The unit's own sanity check catches a broken unit (so the check above can fail).
printf '[Service]\nType=notifyy\nExecStart=%s agent\n' "$WEFT" >"$T/bad.service"
check "a broken unit is noticed" test -n "$(systemd-analyze verify "$T/bad.service" 2>&1)"

finish
