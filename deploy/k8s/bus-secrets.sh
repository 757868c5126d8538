#!/bin/sh
# Provisions the bus with `zooid bus init` and stores it as the Secrets the
# manifests mount, one per kind of process, so that each pod holds only the
# keys of its kind:
#
#   ZOOID="node bin/zooid.js" sh deploy/k8s/bus-secrets.sh [DIR]   (kubectl on the target namespace)
#
# DIR (default ./zooid-bus) keeps the keys, the CA and private/ca-key.pem,
# which never goes to the cluster: run again with the same DIR to add ids or
# rotate a key (delete its .nk first), then restart the pods concerned.
# The ids and hosts below match the manifests' replicas; change them together.
# Seven member keys: the voters' StatefulSet grows to seven by reconfiguration
# with nothing new on the bus (see voters.yaml).
set -eu
dir=${1:-zooid-bus}
zooid=${ZOOID:-zooid}
mount=/etc/zooid/bus

$zooid bus init --dir "$dir" --mount "$mount" \
  --hosts zooid-nats-0.zooid-nats,zooid-nats-1.zooid-nats,zooid-nats-2.zooid-nats \
  --members 1,2,3,4,5,6,7 --observers o1,o2 --gateways gw1,gw2 --tools status

# secret NAME FILE…: created, or replaced with these files.
secret() {
  name=$1
  shift
  args="--from-file=$dir/ca.pem"
  for f in "$@"; do args="$args --from-file=$f"; done
  # shellcheck disable=SC2086
  kubectl create secret generic "$name" $args --dry-run=client -o yaml | kubectl apply -f -
}
secret zooid-bus-nats "$dir"/nats-*.conf "$dir"/nats-*.pem
# The voters' pods also run `zooid status`, as the tool.
secret zooid-bus-members "$dir"/member-*.nk "$dir"/tool-status.nk
secret zooid-bus-observers "$dir"/observer-*.nk
secret zooid-bus-gateways "$dir"/gateway-*.nk
