"""hotline: a real-time, event-sourced stream processor for city service hotlines.

Layout:
  contract/  the event contract: topic names, JSON Schemas, the codec (pure)
  core/      the rules: screening, ids, time (pure: no faust / kafka / prometheus imports)
  stream/    the Faust application: topics, agents, tables, metrics, web views
  cli/       the `hotline` command line
"""

__version__ = "0.1.0"
