"""Pulumi ComponentResources of the platform, one per module, named for what each deploys."""
