#!/usr/bin/env bash
# Installs what the test suite needs and does not find: redis-server and
# chromium (Debian packages; tests start their own redis-server and
# chromium processes on loopback) and the pinned agent CLIs Claude Code and
# Codex (npm ci in caddytest/agents). Safe to run again: it only installs
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
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

if [ ! -x caddytest/agents/node_modules/.bin/claude ] || [ ! -x caddytest/agents/node_modules/.bin/codex ]; then
	echo "installing the pinned agent CLIs (npm ci in caddytest/agents)"
	(cd caddytest/agents && npm ci --no-audit --no-fund --loglevel=error)
fi
