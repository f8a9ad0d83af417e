#!/usr/bin/env bash
# Makes the CURVE keys of the link between the apis and the workers (docs/design.md §6; the
# README's "Securing the worker link"): one key pair the workers share, one pair per api, and the
# list of api public keys the workers accept.
#
#   scripts/make-link-keys.sh DIR [API_NAME...]      default API_NAME: api
#
# Writes DIR/worker.key (secret) and DIR/worker.pub, DIR/<name>.key and DIR/<name>.pub for each
# api, and DIR/allowed-apis (the public keys of the apis named, one a line). A key pair already
# there is kept, so a rerun adds apis without locking out those running; allowed-apis is
# rewritten from the names given, so leaving a name out revokes that api at the workers' next
# start. Secret keys are readable by their owner only, and DIR by its owner only.
#
# The pairs come from streamgate-keygen (libzmq's zmq_curve_keypair): $STREAMGATE_KEYGEN, else
# the one on PATH, else this checkout's build/release.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

if [[ $# -lt 1 || $1 == -* ]]; then
  echo "usage: $0 DIR [API_NAME...]" >&2
  exit 2
fi
dir=$1
shift
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=(api)
for name in "${names[@]}"; do
  # Each name becomes a file name; "worker" is the workers' own pair.
  if [[ ! $name =~ ^[A-Za-z0-9_-]{1,64}$ || $name == worker ]]; then
    echo "make-link-keys: bad api name '$name' (letters, digits, - and _; not 'worker')" >&2
    exit 2
  fi
done

keygen=${STREAMGATE_KEYGEN:-$(command -v streamgate-keygen || echo "$root/build/release/worker/streamgate-keygen")}
if [[ ! -x $keygen ]]; then
  echo "make-link-keys: streamgate-keygen not found (build it: cmake --build build/release --target streamgate-keygen, or set STREAMGATE_KEYGEN)" >&2
  exit 1
fi

mkdir -p "$dir"
chmod 700 "$dir"

make_pair() {
  local name=$1
  if [[ -e $dir/$name.key && -e $dir/$name.pub ]]; then return; fi
  if [[ -e $dir/$name.key || -e $dir/$name.pub ]]; then
    echo "make-link-keys: $dir/$name.key or $dir/$name.pub is missing its other half; remove it and rerun" >&2
    exit 1
  fi
  "$keygen" "$dir/$name.key" "$dir/$name.pub"
  echo "made $dir/$name.key and $dir/$name.pub"
}

make_pair worker
for name in "${names[@]}"; do make_pair "$name"; done

# Written beside and renamed into place: a worker starting meanwhile reads the old list or the
# new one, never half of one.
tmp=$(mktemp "$dir/.allowed-apis.XXXXXX")
{
  echo "# Public keys of the apis the workers serve (--curve-allowed-clients-file), one a line."
  for name in "${names[@]}"; do
    printf '# %s\n%s\n' "$name" "$(cat "$dir/$name.pub")"
  done
} >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$dir/allowed-apis"
echo "wrote $dir/allowed-apis (${names[*]})"
