# expect: no-credential-literals
# style: command
# lab: yes
# why: a pulumi_command script embedding a Hugging Face token
"""Policy corpus case (see tests/policy_corpus/README.md)."""

import pulumi_command as command

command.local.Command(
    "download", create="huggingface-cli download m --token " + "hf_" + "aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3k"
)
