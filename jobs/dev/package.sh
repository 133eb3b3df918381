#!/usr/bin/env bash
# Builds the Debian package snapsync_VERSION_ARCH.deb with dpkg-deb (installs what it needs first):
#   /opt/snapsync/bin/{snapsync,exchange-sim}   release builds, Swift runtime linked in, stripped
#   /usr/bin/{snapsync,exchange-sim}            links to them
#   /usr/share/snapsync/sql/                    the migrations (found by `snapsync migrate` without options)
#   /opt/snapsync/jobs/                         the cron scripts (SNAPSYNC_BIN defaults to snapsync on PATH)
#   /etc/snapsync/snapsync.conf                 the example configuration, a conffile, mode 0600
#   /usr/share/doc/snapsync/                    copyright, changelog, examples/crontab
# Depends: computed by dpkg-shlibdeps from the binaries (libpq5, libcurl4, libxml2, libc6, ...).
# usage: jobs/dev/package.sh [--output DIR]     (default: .build-package; prints the package's path last)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

output="$root/.build-package"
while (($#)); do
  case $1 in
    --output) output=${2:?--output needs a directory}; shift 2 ;;
    *) echo "package.sh: unknown argument $1 (usage: package.sh [--output DIR])" >&2; exit 64 ;;
  esac
done

"$root/jobs/dev/install-deps.sh" >/dev/null

scratch="$root/.build-package"
for product in snapsync exchange-sim; do
  swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product" >&2
done
bin="$scratch/release"
version=$("$bin/snapsync" --version)
arch=$(dpkg --print-architecture)
maintainer="snapsync maintainers <snapsync@example.com>"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/snapsync"
install -d "$pkg/DEBIAN" "$pkg/opt/snapsync/bin" "$pkg/usr/bin" "$pkg/usr/share/snapsync/sql" \
  "$pkg/opt/snapsync/jobs/lib" "$pkg/etc/snapsync" "$pkg/usr/share/doc/snapsync/examples" \
  "$pkg/usr/share/lintian/overrides"

for product in snapsync exchange-sim; do
  install -m 0755 "$bin/$product" "$pkg/opt/snapsync/bin/$product"
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/opt/snapsync/bin/$product"
  ln -s "/opt/snapsync/bin/$product" "$pkg/usr/bin/$product"
done
install -m 0644 sql/[0-9]*.sql "$pkg/usr/share/snapsync/sql/"
install -m 0755 jobs/*.sh "$pkg/opt/snapsync/jobs/"
install -m 0644 jobs/lib/*.sh "$pkg/opt/snapsync/jobs/lib/"
install -m 0600 jobs/snapsync.conf.example "$pkg/etc/snapsync/snapsync.conf"
install -m 0644 jobs/crontab.example "$pkg/usr/share/doc/snapsync/examples/crontab"

cat > "$pkg/usr/share/doc/snapsync/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: snapsync

Files: *
Copyright: the snapsync authors
License: proprietary
 All rights reserved by the snapsync authors.
EOF
{
  printf 'snapsync (%s) unstable; urgency=medium\n\n' "$version"
  printf '  * snapsync %s.\n\n' "$version"
  printf ' -- %s  %s\n' "$maintainer" "$(date -R -u -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")"
} | gzip -9n > "$pkg/usr/share/doc/snapsync/changelog.gz"
# An add-on package for a site's own servers: /opt is its place (FHS 3.13), not a distribution package's.
printf 'snapsync: dir-or-file-in-opt\n' > "$pkg/usr/share/lintian/overrides/snapsync"

# Depends: the shared libraries the binaries link, as dpkg-shlibdeps maps them to packages.
mkdir -p "$stage/shlibs/debian"
printf 'Source: snapsync\n\nPackage: snapsync\nArchitecture: any\n' > "$stage/shlibs/debian/control"
depends=$(cd "$stage/shlibs" && dpkg-shlibdeps -O "$pkg/opt/snapsync/bin/snapsync" "$pkg/opt/snapsync/bin/exchange-sim" \
  2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[[ -n $depends ]] || { echo "package.sh: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

printf '/etc/snapsync/snapsync.conf\n' > "$pkg/DEBIAN/conffiles"
cat > "$pkg/DEBIAN/control" <<EOF
Package: snapsync
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: $depends
Section: admin
Priority: optional
Homepage: https://snapsync.example.com
Description: keeps a PostgreSQL CRM in sync with Microsoft Exchange mailboxes
 snapsync copies contacts from a CRM whose data lives in PostgreSQL to Exchange
 mailboxes, and appointments and tasks both ways: snapshots in resumable
 stages, live sync between them, and a doctor that recognises how the two
 sides drifted and brings them back in line. It is run from cron; the jobs
 are in /opt/snapsync/jobs and an example crontab in
 /usr/share/doc/snapsync/examples.
 .
 The package also holds exchange-sim, a simulator of Exchange for trying
 snapsync out and for testing.
EOF

mkdir -p "$output"
deb="$output/snapsync_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >&2
echo "$deb"
