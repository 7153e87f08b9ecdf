#!/usr/bin/env bash
# keyring-session.sh CMD...: run CMD with a fresh, unlocked Secret Service
# (gnome-keyring) so that the keyring backend's real-keychain tests run instead of
# skipping. Meant to run inside its own session bus:
#
#   dbus-run-session -- bash .ci/keyring-session.sh go test -race ./...
#
# Needs: dbus, gnome-keyring, libsecret-tools (secret-tool); never dbus-x11.
# Facts behind each step: ../shared/KEYRING.md.
set -euo pipefail

if [[ $# -eq 0 ]]; then
	echo "usage: dbus-run-session -- bash $0 CMD [ARG...]" >&2
	exit 2
fi
if [[ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
	echo "$0: no session bus: run me under dbus-run-session -- bash $0 $*" >&2
	exit 2
fi
for tool in gnome-keyring-daemon dbus-send secret-tool; do
	if ! command -v "$tool" >/dev/null; then
		echo "$0: $tool is not installed: apt-get install -y --no-install-recommends dbus gnome-keyring libsecret-tools" >&2
		exit 2
	fi
done

# A fresh keyring each run: --unlock succeeds even with a wrong password on
# an existing one. HOME and XDG_CACHE_HOME stay: they hold the Go caches.
scratch=$(mktemp -d)
chmod 700 "$scratch"
mkdir -m 700 "$scratch/data" "$scratch/runtime"
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/runtime"
unset DISPLAY WAYLAND_DISPLAY # never wait on an unlock prompt

daemon=""
cleanup() {
	if [[ -n "$daemon" ]]; then
		kill "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --foreground so that the daemon is this shell's child and ends by its PID.
printf %s "pmx-login-ci-$RANDOM$RANDOM" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null &
daemon=$!

# --unlock returns before the bus name exists: wait for an owner (≤ 5 s).
owned=""
for _ in $(seq 100); do
	if dbus-send --session --print-reply --dest=org.freedesktop.DBus / \
		org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; then
		owned=yes
		break
	fi
	if ! kill -0 "$daemon" 2>/dev/null; then
		break
	fi
	sleep 0.05
done
if [[ -z "$owned" ]]; then
	echo "$0: gnome-keyring-daemon did not take org.freedesktop.secrets within 5 s" >&2
	exit 1
fi

export PMX_KEYRING_TESTS=required
status=0
"$@" || status=$?
exit "$status"
