"""examples/kubernetes/: valid against the Kubernetes schemas, offline, and wired as README says.

kubernetes-validate (pinned in constraints/tap.txt) bundles the schemas of each
Kubernetes release; it runs in-process here, with strict validation (no
unknown fields).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "kubernetes"
KUBERNETES = "1.37"
MANIFESTS = ("cronjob.yaml", "secret.yaml")


def _resources() -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[document["kind"]] = document
    return found


def test_the_examples_are_the_two_manifests_checked_here() -> None:
    assert tuple(sorted(p.name for p in EXAMPLES.glob("*.yaml"))) == MANIFESTS


@pytest.mark.parametrize("name", MANIFESTS)
def test_each_manifest_is_valid_kubernetes(name: str) -> None:
    path = EXAMPLES / name
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    assert documents, f"{path.name} holds no manifest"
    for document in documents:
        assert document.get("kind") in {"CronJob", "Secret"}, path.name
        # Raises kubernetes_validate.ValidationError on any violation of the 1.37 schema.
        kubernetes_validate.validate(document, KUBERNETES, strict=True)


def test_a_broken_manifest_is_caught() -> None:
    cronjob = _resources()["CronJob"]
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"secretRef": {"name": 7}}
    ]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES, strict=True)


def test_the_cronjob_runs_meltano_with_the_token_store_and_state_backend_from_the_secret() -> None:
    resources = _resources()
    assert set(resources) == {"CronJob", "Secret"}
    cronjob, secret = resources["CronJob"], resources["Secret"]
    spec = cronjob["spec"]
    assert spec["concurrencyPolicy"] == "Forbid"
    (container,) = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["meltano", "run"]
    assert "tap-emarsys-registrations" in container["command"]
    assert container["envFrom"] == [{"secretRef": {"name": secret["metadata"]["name"]}}]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MELTANO_STATE_BACKEND_URI"] == "systemdb"
    secrets = secret["stringData"]
    assert secrets["TAP_EMARSYS_REGISTRATIONS_TOKEN_CACHE_URL"].startswith("postgresql://")
    assert secrets["MELTANO_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert "TAP_EMARSYS_REGISTRATIONS_CLIENT_SECRET" in secrets
    assert not any(e["name"].endswith(("SECRET", "PASSWORD", "URL")) for e in container["env"])


@pytest.mark.slow  # runs the validator's command line, as README shows it
def test_the_readme_validation_command_passes() -> None:
    command = Path(sys.executable).parent / "kubernetes-validate"
    result = subprocess.run(
        [str(command), "--strict", *map(str, sorted(EXAMPLES.glob("*.yaml")))],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == 2
