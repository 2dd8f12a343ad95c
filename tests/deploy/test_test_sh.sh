#!/bin/bash
# deploy/test.sh under CI=true on a machine without libFuzzer: it fails at
# once with one line saying what to install, instead of reporting fuzzing
# "skipped" and passing. A copy runs in a scratch tree whose deploy/build.sh
# only says it ran (nothing is built: the check comes first), and a clang
# that cannot link -fsanitize=fuzzer stands in for the missing runtime.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/tree/deploy" "$tmp/bin"
cp "$top/deploy/test.sh" "$tmp/tree/deploy/"
printf '#!/bin/sh\necho build.sh ran\nexit 1\n' >"$tmp/tree/deploy/build.sh"
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/clang"
chmod +x "$tmp/tree/deploy/build.sh" "$tmp/bin/clang"
rc=0
CI=true PATH="$tmp/bin:$PATH" timeout 60 sh "$tmp/tree/deploy/test.sh" \
	>"$tmp/out" 2>"$tmp/err" || rc=$?
if [ $rc -ne 1 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q 'libFuzzer' "$tmp/err" \
	|| [ -s "$tmp/out" ]; then
	echo "deploy/test.sh with CI=true and no libFuzzer: exit $rc" >&2
	cat "$tmp/out" "$tmp/err" >&2
	exit 1
fi
# install-deps.sh brings what the check needs (libFuzzer is in clang's runtime).
grep -qw 'clang' "$top/deploy/install-deps.sh"
grep -qw 'libclang-rt-14-dev' "$top/deploy/install-deps.sh"
echo "ok: $(cat "$tmp/err")"
