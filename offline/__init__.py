"""Offline preview: run the real program under Pulumi's mock runtime and judge what it would deploy.

``python -m offline preview --stack dev`` needs no cluster and no Pulumi CLI.
"""
