"""deploy/ can't be run here (no container engine, no cluster), so check what can be checked:
the files parse, every certdesk command in them is one the CLI accepts, every variable is
one certdesk reads, probes and ports match what certdesk serves, systemd accepts the units."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from support.app_fixtures import Running

from bot.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "kubernetes"
IMAGE = "certdesk"
#: Variables the image or the runtime set for Python itself, not certdesk settings.
PYTHON_VARS = {"PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED"}


def known_variables() -> set[str]:
    """Every variable certdesk reads: Settings (bot/config.py) and prometheus-client's."""
    source = (ROOT / "bot" / "config.py").read_text()
    names = set(re.findall(r'"((?:SLACK|CERTDESK|DATABASE|LOG)_[A-Z0-9_]+)"', source))
    assert {"SLACK_BOT_TOKEN", "CERTDESK_MASTER_KEY", "DATABASE_URL", "LOG_FORMAT"} <= names
    assert "PROMETHEUS_MULTIPROC_DIR" in (ROOT / "bot" / "metrics.py").read_text()
    return names | {"PROMETHEUS_MULTIPROC_DIR"}


def k8s_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


def containers() -> list[dict[str, Any]]:
    """Every certdesk container in the Kubernetes manifests."""
    found = []
    for doc in k8s_documents():
        spec = doc.get("spec", {}).get("template", {}).get("spec", {})
        found += [c for c in spec.get("containers", []) if c["image"].startswith(IMAGE)]
    return found


def systemd_commands() -> list[list[str]]:
    commands = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                argv = shlex.split(line.removeprefix("ExecStart=").replace("%i", "3000"))
                assert Path(argv[0]).name == "certdesk", unit
                commands.append(argv[1:])
    return commands


def dockerfile() -> str:
    return (DEPLOY / "Dockerfile").read_text()


def every_certdesk_command() -> list[list[str]]:
    """The argument lists each deployment hands the `certdesk` entrypoint."""
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile(), re.MULTILINE)
    assert cmd
    commands = [json.loads(cmd.group(1))]
    for name, service in compose()["services"].items():
        if service.get("image", "").startswith(IMAGE):
            assert isinstance(service["command"], list), name
            commands.append(service["command"])
    commands += [c["args"] for c in containers()]
    commands += systemd_commands()
    return commands


def test_every_yaml_file_parses() -> None:
    files = sorted(DEPLOY.rglob("*.yaml"))
    assert len(files) >= 7
    for path in files:
        assert list(yaml.safe_load_all(path.read_text())), path


def test_every_command_is_one_certdesk_accepts() -> None:
    commands = every_certdesk_command()
    verbs = [c[0] for c in commands]
    # compose: migrate, two serve, a worker; k8s: the Job and both Deployments; systemd too.
    assert verbs.count("serve") >= 5 and verbs.count("worker") >= 3 and verbs.count("db") >= 3
    for argv in commands:
        args = _parser().parse_args(argv)  # argparse exits (fails the test) on a wrong one
        assert getattr(args, "run", None), argv
    replicas = [c for c in commands if c[0] == "serve" and "--no-scheduler" not in c]
    assert replicas == [json.loads('["serve", "--port", "3000"]')], "only the image's default"


def test_every_variable_is_one_certdesk_reads() -> None:
    known = known_variables() | PYTHON_VARS
    named: dict[str, set[str]] = {}
    for name, service in compose()["services"].items():
        if service.get("image", "").startswith(IMAGE):
            named[f"compose {name}"] = set(service.get("environment", {}))
    for doc in k8s_documents():
        if doc["kind"] in ("ConfigMap", "Secret"):
            named[f"k8s {doc['kind']}"] = set(doc.get("data") or doc.get("stringData"))
    example = (DEPLOY / "certdesk.env.example").read_text()
    named["certdesk.env.example"] = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", example, re.M))
    for unit in (DEPLOY / "systemd").glob("*.service"):
        named[unit.name] = set(re.findall(r"^Environment=([A-Z0-9_]+)=", unit.read_text(), re.M))
    named["Dockerfile"] = set(re.findall(r"\b([A-Z][A-Z0-9_]+)=", dockerfile()))
    for where, names in named.items():
        assert names, where
        assert names <= known, f"{where}: {sorted(names - known)} are not certdesk settings"
    secret = next(d for d in k8s_documents() if d["kind"] == "Secret")["stringData"]
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CERTDESK_MASTER_KEY"} <= set(secret)
    assert "DATABASE_URL" in secret, "replicas share PostgreSQL"


def test_the_kubernetes_probes_and_ports_match_what_certdesk_serves(certdesk: Running) -> None:
    paths = set()
    for container in containers():
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        args = container["args"]
        if args[0] == "serve":
            assert ports["http"] == int(args[args.index("--port") + 1])
            probes = {k: container[k]["httpGet"]["path"] for k in container if k.endswith("Probe")}
            assert probes["livenessProbe"] == "/healthz"
            assert probes["readinessProbe"] == "/readyz"
            paths |= set(probes.values())
        if args[0] == "worker":
            assert ports["metrics"] == int(args[args.index("--metrics-port") + 1])
        assert container["envFrom"][1] == {"secretRef": {"name": "certdesk"}}
    for path in paths | {"/metrics"}:
        with urllib.request.urlopen(certdesk.http.url + path, timeout=10) as answer:
            assert answer.status == 200, path


def test_the_operations_guide_names_real_metrics_and_variables(certdesk: Running) -> None:
    with urllib.request.urlopen(certdesk.http.url + "/metrics", timeout=10) as answer:
        served = {f.name for f in text_string_to_metric_families(answer.read().decode())}
    guide = (ROOT / "docs" / "operations.md").read_text()
    named = {
        re.sub(r"_(total|count|sum|bucket)$", "", m)
        for m in re.findall(r"\bcertdesk_[a-z_]+", guide)
    }
    assert len(named) >= 12 and named <= served, sorted(named - served)
    variables = set(re.findall(r"\b((?:CERTDESK|SLACK|DATABASE|LOG|PROMETHEUS)_[A-Z_]+)", guide))
    assert variables and variables <= known_variables(), sorted(variables - known_variables())


def test_the_image_is_slim_non_root_with_certdesk_as_entrypoint() -> None:
    text = dockerfile()
    assert re.findall(r"^FROM (\S+)", text, re.M)[-1].endswith("-slim")
    assert 'ENTRYPOINT ["certdesk"]' in text
    user = re.findall(r"^USER (\S+)", text, re.M)[-1]
    assert user.split(":")[0] not in ("0", "root")
    for source in re.findall(r"^COPY (?!--)(.+) \S+$", text, re.M):
        for part in source.split():
            assert (ROOT / part).exists(), part


@pytest.mark.skipif(
    not shutil.which("systemd-analyze") and os.environ.get("CI") != "true",
    reason="systemd-analyze not installed (in CI, .ci/run installs it: missing, the test fails)",
)
def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    certdesk = shutil.which("certdesk") or str(Path(__file__).parents[1] / ".venv/bin/certdesk")
    units = []
    for unit in sorted((DEPLOY / "systemd").glob("*.service")) + [
        DEPLOY / "systemd" / "certdesk.target"
    ]:
        text = unit.read_text().replace("/opt/certdesk/bin/certdesk", certdesk)
        name = unit.name.replace("@.", "@3000.")
        (tmp_path / name).write_text(text)
        units.append(f"./{name}")
    (tmp_path / "certdesk-serve@3001.service").write_text(
        (tmp_path / "certdesk-serve@3000.service").read_text()
    )
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *units],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    # Unknown or misspelt directives are only warnings: any output at all fails.
    assert result.returncode == 0 and not result.stdout + result.stderr, result.stderr
