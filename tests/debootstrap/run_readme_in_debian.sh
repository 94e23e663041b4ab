#!/usr/bin/env bash
# Runs the README's two commands inside a minimal Debian (debootstrap --variant=minbase) as a
# newcomer would: a fresh clone, no Bazel, only the README's prerequisites. Not part of CI
# (it needs root and takes a few minutes); anyone can rerun it:
#
#   sudo tests/debootstrap/run_readme_in_debian.sh [SUITE] [WORKDIR]
#
# SUITE: bookworm (Debian 12, default) or trixie (Debian 13). WORKDIR defaults to a new temp dir
# and is removed afterwards unless KEEP=1. The host's CA bundle is copied in, so a TLS-inspecting
# proxy trusted by the host is trusted inside too.
set -euo pipefail
suite=${1:-bookworm}
work=${2:-$(mktemp -d /var/tmp/rps-debootstrap.XXXXXX)}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$work/root
mkdir -p "$work"

# The README's prerequisites, plus what the issue's newcomer has: git, curl.
packages=git,python3,ca-certificates,curl,apt,dpkg,gpgv

command -v debootstrap >/dev/null || { echo "needs debootstrap: apt-get install debootstrap" >&2; exit 1; }
[[ $(id -u) == 0 ]] || { echo "needs root (debootstrap and chroot)" >&2; exit 1; }

cleanup() {
  for m in dev/pts dev proc sys; do umount -l "$root/$m" 2>/dev/null || true; done
  [[ "${KEEP:-0}" == 1 ]] || rm -rf "$work"
}
trap cleanup EXIT

start=$(date +%s)
debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$work/debootstrap.log"
echo "debootstrap $suite: $(($(date +%s) - start)) s"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# debootstrap writes no /etc/hosts; every installed Debian has one (localhost must resolve).
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
git clone -q "$repo" "$root/home/newcomer/rules_py_standalone"

# Only the two commands from the README, in a login-like environment.
readme_cmds=$(sed -n '/<!-- setup-commands -->/,/<!-- \/setup-commands -->/p' "$repo/README.md" | grep -E '^tools/bazel ')
[[ $(wc -l <<<"$readme_cmds") == 2 ]] || { echo "README must list exactly two set-up commands" >&2; exit 1; }
env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  http_proxy="${http_proxy:-}" https_proxy="${https_proxy:-}" \
  chroot "$root" /bin/bash -euo pipefail -c "cd /home/newcomer/rules_py_standalone
while IFS= read -r cmd; do
  echo \"+ \$cmd\"; s=\$(date +%s); \$cmd; echo \"(\$((\$(date +%s) - s)) s)\"
done <<'CMDS'
$readme_cmds
CMDS
tools/bazel shutdown"
echo "README commands passed in Debian $suite"
