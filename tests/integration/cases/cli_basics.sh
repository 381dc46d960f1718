#!/usr/bin/env bash
# The command line without an agent: version, --help everywhere, exit codes,
# `config check` error format and `config show` round trip.
source "$(dirname "$0")/../lib.sh"

out=$("$WEFT" version)
check "version names weft, its revision and every dependency" \
    grep -Eq '^weft [0-9]+\.[0-9]+\.[0-9]+ \(revision ([0-9a-f]+|unknown)\)' <<<"$out"
for dep in libevent mbedTLS SQLite inih; do
    check "version lists $dep" grep -q "$dep [0-9]" <<<"$out"
done
check "version lists the build flags" grep -q '^build: ' <<<"$out"

for cmd in agent status config version; do
    check "weft $cmd --help exits 0 and shows usage" \
        bash -c '"$0" '"$cmd"' --help | grep -q "^Usage: weft '"$cmd"'"' "$WEFT"
done
check "weft --help exits 0" bash -c '"$0" --help | grep -q "Commands:"' "$WEFT"

rc=0; "$WEFT" frobnicate 2>/dev/null || rc=$?
check "unknown command exits 2" test "$rc" -eq 2
rc=0; "$WEFT" status --bogus 2>/dev/null || rc=$?
check "unknown flag exits 2" test "$rc" -eq 2
rc=0; "$WEFT" status --admin "$T/nobody.sock" 2>"$T/err" || rc=$?
check "status with no agent exits 3" test "$rc" -eq 3
check "status with no agent says where it looked" grep -q "no agent at $T/nobody.sock" "$T/err"

# A valid file.
write_config "$T/good.ini" gw-01 "$T/data"
check "config check accepts a valid file" "$WEFT" config check "$T/good.ini"

# Several errors, each reported with file, line and key, all in one pass.
cat >"$T/bad.ini" <<'INI'
; a comment on line 1
[node]
name = gw-01
colour = blue

[log]
level = loud
format = json

[nonsense]
x = 1
INI
rc=0; "$WEFT" config check "$T/bad.ini" 2>"$T/err" || rc=$?
check "config check exits 1 on errors" test "$rc" -eq 1
check "unknown key: file, line 4, key" grep -q "^$T/bad.ini:4: node.colour: " "$T/err"
check "bad enum value: file, line 7, key" grep -q "^$T/bad.ini:7: log.level: " "$T/err"
check "unknown section: file and line 10" grep -q "^$T/bad.ini:10: " "$T/err"
check "the valid keys raise nothing" bash -c '! grep -q ":3: \|:8: " "$0"' "$T/err"

# An over-long line (Debian's inih would split it silently).
{
    printf '[node]\n'
    printf 'name = %s\n' "$(head -c 300 /dev/zero | tr '\0' a)"
} >"$T/long.ini"
rc=0; "$WEFT" config check "$T/long.ini" 2>"$T/err" || rc=$?
check "over-long line refused with its line number" grep -q "^$T/long.ini:2: .*too long" "$T/err"
check "over-long line gives exactly one error" test "$(wc -l <"$T/err")" -eq 1

# show prints every key; what it prints is itself a valid config.
"$WEFT" config show "$T/good.ini" >"$T/shown.ini"
check "show prints the node name" grep -Eq '^name *= *gw-01$' "$T/shown.ini"
check "show prints defaults (log level)" grep -Eq '^level *= *info$' "$T/shown.ini"
check "show output passes config check" "$WEFT" config check "$T/shown.ini"
check "show without a file prints the embedded default" \
    bash -c '"$0" config show | grep -Eq "^data_dir *= *\./weft-data$"' "$WEFT"

rc=0; "$WEFT" config check "$T/missing.ini" 2>"$T/err" || rc=$?
check "missing file: exit 1 and the reason" \
    bash -c 'test "$0" -eq 1 && grep -q "missing.ini" "$1"' "$rc" "$T/err"

finish
