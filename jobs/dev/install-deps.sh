#!/usr/bin/env bash
# Installs what building, testing and running snapsync needs on a Debian machine that has Swift.
# Idempotent and quick when everything is present: apt-get runs only for missing packages.
# Also prepares a Python virtualenv with the independent EWS client the tests drive the simulator with.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)

apt_packages=(
  libpq-dev              # libpq: the Postgres module
  libcurl4-openssl-dev   # libcurl: the HTTP module
  libxml2-dev            # libxml2: the XML module
  libxml2-utils          # xmllint: schema validation of EWS envelopes, parser baseline
  postgresql             # server binaries: tests and the demo start throwaway clusters
  postgresql-client      # psql: the COPY baseline benchmark
  openssl                # test certificates for the TLS tests
  python3 python3-venv   # the exchangelib and msgraph-sdk fidelity tests
  util-linux             # runuser, flock
  shellcheck             # JobsTests lint the cron scripts in jobs/
  dpkg-dev binutils      # jobs/dev/package.sh: dpkg-shlibdeps (the package's Depends), strip
  lintian                # the package test checks the .deb
  tmux                   # JobsTests watch the live display of a run on a terminal
  chromium fonts-dejavu-core  # JobsTests open a run's HTML report in headless Chromium
  davmail-server         # DavMailTests: a CalDAV/CardDAV gateway that speaks EWS to the simulator (brings Java)
  curl ca-certificates
)

missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python test tools live in a virtualenv under .build (ignored by git), never in the system.
venv="$root/.build/test-venv"
# Each package with the module whose import shows it is installed: exchangelib drives the EWS front-end,
# msgraph-sdk (Microsoft's Graph SDK) and azure-identity drive the Graph front-end; Deprecated is imported by
# msgraph-core's batch requests without being declared as its dependency.
python_packages=(exchangelib==5.6.0 msgraph-sdk==1.65.0 azure-identity==1.27.0 Deprecated==1.3.1)
python_imports=(exchangelib msgraph azure.identity deprecated)
if [[ ! -x "$venv/bin/python" ]]; then
  mkdir -p "$root/.build"
  python3 -m venv "$venv"
fi
for i in "${!python_packages[@]}"; do
  if ! "$venv/bin/python" -c "import ${python_imports[$i]}" 2>/dev/null; then
    "$venv/bin/pip" install -q --disable-pip-version-check "${python_packages[$i]}"
  fi
done
echo "$venv/bin/python"
