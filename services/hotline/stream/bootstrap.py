"""What a worker reads at start-up, read once: its Settings (the HOTLINE_* environment)
and its rules (every file of the config folders, hotline.rules).

The app and the agents take both from here when they are imported; `hotline worker`
asks first, so a bad value stops start-up with a message naming the file and the field
before Faust starts, and the agents get the very objects that were checked. Importing
this module reads nothing and imports no stream-processing library.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from hotline.config import Settings
from hotline.configfiles import config_dirs
from hotline.rules import Rules, load_rules

log = logging.getLogger(__name__)


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


def rules() -> Rules:
    """The rules of the config folders HOTLINE_CONFIG_DIR names now, read on first use."""
    return _rules_in(config_dirs())


@functools.cache
def _rules_in(folders: tuple[Path, ...]) -> Rules:
    # Keyed by the folders, so a process that is pointed at other folders reads those
    # (the command line checks a profile's rules before a worker starts).
    loaded = load_rules(folders)
    log.info("rules read: %s", loaded.describe())
    return loaded
