#!/usr/bin/env bash
# Installs what the test suite needs and does not find: redis-server and
# chromium (Debian packages; tests start their own redis-server and
# chromium processes on loopback), Node.js when there is none, and the
# pinned npm clients: Claude Code, Codex and Vercel's AI SDK (npm ci in
# caddytest/agents). Safe to run again: it only installs what is missing
# or out of date.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM:-}" ]; then
	need_apt+=(chromium)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
	echo "installing ${need_apt[*]} (Debian packages)"
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm ci writes node_modules/.package-lock.json: older than the lock file
# means the pins changed since the last install.
agents=caddytest/agents
if [ ! -x $agents/node_modules/.bin/claude ] || [ ! -x $agents/node_modules/.bin/codex ] ||
	[ ! -f $agents/node_modules/ai/package.json ] ||
	[ $agents/package-lock.json -nt $agents/node_modules/.package-lock.json ]; then
	echo "installing the pinned npm clients (npm ci in caddytest/agents)"
	(cd caddytest/agents && npm ci --no-audit --no-fund --loglevel=error)
fi
