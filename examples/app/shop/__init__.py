"""A small shop: the sample application phoenix.deploy ships in its tests."""
