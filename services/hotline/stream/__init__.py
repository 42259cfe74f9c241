"""The Faust application: topics, agents, tables, metrics and web views.

Agents here are thin: decode, call hotline.core, write tables, send results, count.
"""
