"""The lab: `pulumi preview --policy-pack`, `up`, checks, `destroy` for real on a (simulated) cluster."""
