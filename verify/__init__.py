"""Post-deploy verification of the platform through its gateway (see ``verify/__main__.py``)."""
