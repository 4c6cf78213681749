"""Policy pack entry point: ``pulumi preview --policy-pack policies`` runs this file.

Only assembles the pack; every policy lives in ``llm_policies/``. ``PolicyPack(...)`` starts the
analyzer's gRPC server and blocks, as the CLI expects.
"""

from llm_policies import PACK_DEFAULT_LEVEL, PACK_NAME, POLICIES
from pulumi_policy import PolicyPack

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=PACK_DEFAULT_LEVEL)
