"""Config hygiene: plain-text credentials in a stack file are flagged (advisory), secure ones are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from offline import runner
from offline.checks import all_checks, config_hygiene
from offline.plan import Plan

LEAKY_STACK = """\
config:
  llm-tracing-infra:engine: vllm
  llm-tracing-infra:vllm:
    extraArgs:
      - --api-key=sk-abcdefghijklmnopqrstuvwx
    model: Qwen/Qwen2.5-3B-Instruct
  llm-tracing-infra:monitoring:
    alertmanager:
      receiver: slack
      webhook: https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX
  llm-tracing-infra:mockEngine:
    tokensPerSecond: 80
  llm-tracing-infra:notes: "pulled with hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123"
  llm-tracing-infra:k3s:
    host: gpu-box
    sshKey: "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXk=\\n-----END OPENSSH PRIVATE KEY-----"
  llm-tracing-infra:langfuse:
    adminPassword: hunter2
  llm-tracing-infra:hfToken:
    secure: v1:AAAABBBBCCCCDDDD
  llm-tracing-infra:litellmMasterKey:
    secure: v1:EEEEFFFFGGGG
"""


@pytest.fixture
def leaky_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Pulumi.leaky.yaml").write_text(LEAKY_STACK)
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    return tmp_path


def test_plain_text_credentials_are_flagged_by_key_and_kind(leaky_root: Path) -> None:
    findings = config_hygiene.check_plaintext_credentials(Plan(stack="leaky", resources=[]))
    messages = {f.message.split(" looks like ")[0].removeprefix("Pulumi.leaky.yaml: "): f for f in findings}
    assert set(messages) == {
        "llm-tracing-infra:vllm.extraArgs[0]",
        "llm-tracing-infra:monitoring.alertmanager.webhook",
        "llm-tracing-infra:notes",
        "llm-tracing-infra:k3s.sshKey",
        "llm-tracing-infra:langfuse.adminPassword",
    }
    assert all(f.level == "advisory" and f.check == "config-hygiene" for f in findings)
    assert "an API key (sk-...)" in messages["llm-tracing-infra:vllm.extraArgs[0]"].message
    assert "a Slack webhook URL" in messages["llm-tracing-infra:monitoring.alertmanager.webhook"].message
    assert "a Hugging Face token" in messages["llm-tracing-infra:notes"].message
    assert "a private key" in messages["llm-tracing-infra:k3s.sshKey"].message
    assert "credential-named key (adminPassword)" in messages["llm-tracing-infra:langfuse.adminPassword"].message
    assert "pulumi config set --secret --path 'langfuse.adminPassword' <value>" in (
        messages["llm-tracing-infra:langfuse.adminPassword"].message
    )
    assert "pulumi config set --secret 'notes' <value>" in messages["llm-tracing-infra:notes"].message


def test_findings_never_repeat_the_credential(leaky_root: Path) -> None:
    text = " ".join(f.message for f in config_hygiene.check_plaintext_credentials(Plan("leaky", [])))
    for leaked in ("sk-abcdefghijklmnopqrstuvwx", "XXXXXXXXXXXXXXXX", "hf_AbCd", "b3BlbnNzaC1rZXk", "hunter2"):
        assert leaked not in text


@pytest.mark.parametrize("stack", ["dev", "gpu", "cluster"])
def test_the_projects_stacks_are_clean(stack: str) -> None:
    assert config_hygiene.check_plaintext_credentials(Plan(stack=stack, resources=[])) == []


def test_a_stack_without_a_file_has_nothing_to_flag(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    assert config_hygiene.check_plaintext_credentials(Plan(stack="nowhere", resources=[])) == []


@pytest.mark.parametrize(
    ("key", "credential"),
    [("hfToken", True), ("adminPassword", True), ("apiKey", True), ("ssh_private_key", True), ("master-key", True),
     ("tokensPerSecond", False), ("key", False), ("cacheSize", False), ("servedModelName", False)],
)
def test_credential_names(key: str, credential: bool) -> None:
    assert config_hygiene.credential_name(key) is credential


def test_the_preview_runs_this_check() -> None:
    assert config_hygiene.check_plaintext_credentials in all_checks()
