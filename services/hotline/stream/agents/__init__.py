"""Faust agents, one module per stage."""
