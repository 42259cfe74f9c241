"""Settings and rules for the commands: a bad value stops the command with a message
that names the environment variable, or the file and the field, instead of a traceback.
"""

from __future__ import annotations

from typing import Callable

import click

from hotline.config import ConfigError, Settings
from hotline.core.config_tables import ConfigFileError
from hotline.rules import Rules, load_rules


def load_settings(read: Callable[[], Settings] = Settings.from_env) -> Settings:
    """The HOTLINE_* settings, as `read` gets them (the environment unless told)."""
    try:
        return read()
    except ConfigError as error:
        raise click.UsageError(str(error)) from None


def check_rules(read: Callable[[], Rules] = load_rules) -> Rules:
    """Every rule file, as `read` gets them (the config folders unless told), checked
    before anything else is done."""
    try:
        return read()
    except ConfigFileError as error:
        raise click.ClickException(f"bad configuration: {error}") from None
