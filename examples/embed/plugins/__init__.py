"""Plugins of the example program, run with rps_embed_run_module."""
