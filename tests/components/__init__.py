"""Unit tests: one component built alone from hand-made inputs, under Pulumi's mock runtime."""
