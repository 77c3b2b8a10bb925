"""deploy-check, kube play: the rendered dev overlay turned into what podman 4.3's `kube play` runs.

podman 4.3 plays Pods, Deployments and PersistentVolumeClaims, not StatefulSets or Jobs, and it has
no Services, cluster DNS or Secrets of its own. Every pod spec stays as rendered (containers,
commands, probes, resources, security contexts, volumes); only what a cluster would provide changes:

- StatefulSet ``rabbitmq`` → Pod ``rabbitmq-0`` (its template) and, per volumeClaimTemplate, a
  PersistentVolumeClaim ``<claim>-rabbitmq-0`` the pod mounts (names prefixed): what the StatefulSet controller creates.
- Job ``maas-migrate`` → its template as a Pod (restartPolicy Never); the check waits for exit 0.
- Deployments stay Deployments (one replica in the dev overlay).
- Environment: ``envFrom`` and ``valueFrom`` of the ConfigMap and the Secret are resolved into literal
  values, as the kubelet does when it starts a container. ``--set KEY=VALUE`` first replaces a key of
  the Secret (if it has one) or of the ConfigMap: this environment's Secret, created out of band as in
  production (our PostgreSQL, Redis and RabbitMQ instead of the Services' names).
- Networking instead of Services: the app pods (web, worker, migrate) get ``hostNetwork`` and reach
  127.0.0.1; ``--web-port`` moves the web container's ``http`` port (and its ``PORT``) off 8000;
  their ``ports`` lists go (a host-network pod publishes nothing, and podman 4.3 refuses port
  mappings there) and the probes name the port by its number.
  RabbitMQ keeps a network namespace of its own (its Erlang ports never meet a host RabbitMQ) and
  ``--publish NAME=PORT`` publishes its named ports on 127.0.0.1, where its Service would be.
- emptyDir volumes get names of their own pod's (podman 4.3 makes each a named volume called by
  the pod's volume name, shared by every pod that uses the same name; and on disk, not in memory).
- ``--image OLD=NEW``: the images the check built; ``--prefix``: names of its own (for cleanup).

Usage: kubeplay.py RENDERED.yaml OUT_DIR [options]; writes rabbitmq.yaml, migrate.yaml, web.yaml and
worker.yaml into OUT_DIR.
"""

from __future__ import annotations

import argparse
import base64
import copy
from pathlib import Path
from typing import Any

import yaml  # PyYAML: in .venv-deploy with checkov and podman-compose, which need it

Doc = dict[str, Any]


def _pairs(values: list[str]) -> dict[str, str]:
    pairs = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {value!r}")
        pairs[key] = rest
    return pairs


def _find(docs: list[Doc], kind: str, name: str) -> Doc:
    for doc in docs:
        if doc.get("kind") == kind and doc["metadata"]["name"] == name:
            return doc
    raise SystemExit(f"the render has no {kind} {name}")


def _environment(docs: list[Doc], overrides: dict[str, str]) -> dict[str, dict[str, str]]:
    """The ConfigMaps' and Secrets' data by name (Secrets decoded), with the overrides applied."""
    sources: dict[str, dict[str, str]] = {}
    for doc in docs:
        if doc.get("kind") == "ConfigMap":
            sources[doc["metadata"]["name"]] = dict(doc.get("data", {}))
        elif doc.get("kind") == "Secret":
            data = {k: base64.b64decode(v).decode() for k, v in doc.get("data", {}).items()}
            sources[doc["metadata"]["name"]] = data | doc.get("stringData", {})
    secret, config = sources["maas-secrets"], sources["maas-config"]
    for key, value in overrides.items():
        (secret if key in secret else config)[key] = value
    return sources


def _resolve_env(container: Doc, sources: dict[str, dict[str, str]]) -> None:
    """envFrom first, then env (env wins, as in Kubernetes); valueFrom replaced by its value."""
    env: dict[str, str] = {}
    for ref in container.pop("envFrom", []):
        source = ref.get("configMapRef") or ref["secretRef"]
        env.update(sources[source["name"]])
    for var in container.get("env", []):
        if "valueFrom" in var:
            ref = var["valueFrom"].get("configMapKeyRef") or var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = sources[ref["name"]][ref["key"]]
        else:
            env[var["name"]] = var.get("value", "")
    container["env"] = [{"name": k, "value": v} for k, v in env.items()]


def _set_env(container: Doc, name: str, value: str) -> None:
    container["env"] = [v for v in container["env"] if v["name"] != name] + [{"name": name, "value": value}]


def _host_network_ports(container: Doc) -> None:
    """A host-network pod publishes nothing: its ``ports`` only name them (podman 4.3 refuses port
    mappings on the host network), so probes get the numbers instead of the names."""
    numbers = {port["name"]: port["containerPort"] for port in container.pop("ports", []) if "name" in port}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        action = container.get(probe, {}).get("httpGet") or container.get(probe, {}).get("tcpSocket")
        if action and action["port"] in numbers:
            action["port"] = numbers[action["port"]]


def _own_empty_dirs(owner: str, spec: Doc) -> None:
    """podman 4.3 makes an emptyDir a named volume called by the pod's volume name (on disk: medium
    Memory is ignored), so every pod with a volume ``tmp`` would share one: give each its own name."""
    renamed = {}
    for volume in spec.get("volumes", []):
        if "emptyDir" in volume:
            renamed[volume["name"]] = volume["name"] = f"{owner}-{volume['name']}"
    for container in spec["containers"]:
        for mount in container.get("volumeMounts", []):
            mount["name"] = renamed.get(mount["name"], mount["name"])


def _pod(name: str, template: Doc) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {**template.get("metadata", {}), "name": name},
        "spec": template["spec"],
    }


def convert(docs: list[Doc], args: argparse.Namespace) -> dict[str, list[Doc]]:
    sources = _environment(docs, _pairs(args.set))
    images = _pairs(args.image)
    prefix = args.prefix

    sts = _find(docs, "StatefulSet", "rabbitmq")
    pod_name = f"{sts['metadata']['name']}-0"
    rabbitmq = _pod(prefix + pod_name, copy.deepcopy(sts["spec"]["template"]))
    claims = []
    for template in sts["spec"].get("volumeClaimTemplates", []):
        claim = f"{prefix}{template['metadata']['name']}-{pod_name}"
        claims.append(
            {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim}, "spec": template["spec"]}
        )
        rabbitmq["spec"].setdefault("volumes", []).append(
            {"name": template["metadata"]["name"], "persistentVolumeClaim": {"claimName": claim}}
        )
    published = _pairs(args.publish)
    for port in rabbitmq["spec"]["containers"][0].get("ports", []):
        if port["name"] in published:
            port.update(hostPort=int(published[port["name"]]), hostIP="127.0.0.1")

    job = _find(docs, "Job", "maas-migrate")
    migrate = _pod(f"{prefix}{job['metadata']['name']}", copy.deepcopy(job["spec"]["template"]))

    web = copy.deepcopy(_find(docs, "Deployment", "maas-web"))
    worker = copy.deepcopy(_find(docs, "Deployment", "maas-worker"))
    for deployment in (web, worker):
        deployment["metadata"]["name"] = prefix + deployment["metadata"]["name"]

    for doc in (rabbitmq, migrate, web, worker):
        spec = doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]
        doc["metadata"].pop("namespace", None)
        if doc is not rabbitmq:
            spec["hostNetwork"] = True
        for container in spec["containers"]:
            container["image"] = images.get(container["image"], container["image"])
            _resolve_env(container, sources)
        _own_empty_dirs(doc["metadata"]["name"], spec)

    web_container = web["spec"]["template"]["spec"]["containers"][0]
    _set_env(web_container, "PORT", str(args.web_port))
    for port in web_container["ports"]:
        if port["name"] == "http":
            port["containerPort"] = args.web_port
    for doc in (migrate, web, worker):
        spec = doc["spec"] if doc["kind"] == "Pod" else doc["spec"]["template"]["spec"]
        for container in spec["containers"]:
            _host_network_ports(container)

    return {"rabbitmq": [*claims, rabbitmq], "migrate": [migrate], "web": [web], "worker": [worker]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rendered", type=Path, help="kubectl kustomize output of the dev overlay")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--prefix", default="", help="prepended to pod, Deployment and claim names")
    parser.add_argument("--image", action="append", default=[], metavar="OLD=NEW")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a Secret or ConfigMap value")
    parser.add_argument(
        "--publish", action="append", default=[], metavar="NAME=PORT", help="a RabbitMQ port on 127.0.0.1"
    )
    parser.add_argument("--web-port", type=int, default=8000)
    args = parser.parse_args()
    docs = [doc for doc in yaml.safe_load_all(args.rendered.read_text()) if doc]
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, out in convert(docs, args).items():
        (args.out_dir / f"{name}.yaml").write_text(yaml.safe_dump_all(out, sort_keys=False))


if __name__ == "__main__":
    main()
