# expect: pass
# style: command
# lab: yes
# why: a host command that only downloads and queries vLLM
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_command as command

command.local.Command(
    "prefetch", create="pip download vllm==0.10.1 -d /tmp/wheels && curl -fsS http://vllm.llm.svc:8000/health"
)
