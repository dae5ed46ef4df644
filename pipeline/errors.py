"""Every error perceive raises on purpose derives from PerceiveError.

The CLI prints these as one clear line (no traceback) and exits with code 2;
anything else is a bug and keeps its traceback.
"""


class PerceiveError(Exception):
    """A problem the user can fix: bad config, bad model, bad input."""


class ConfigError(PerceiveError):
    """A config file or override is malformed, has an unknown key or a wrong type."""


class ContractError(PerceiveError):
    """A model's contract is missing, invalid, or contradicts the config."""


class ModelError(PerceiveError):
    """A model file is missing or cannot be loaded."""


class ProviderUnavailable(PerceiveError):
    """A requested execution provider cannot run (strict mode)."""


class InputError(PerceiveError):
    """An input (frame, audio clip, sensor line, tensor) has the wrong shape, dtype or value."""


class SourceError(PerceiveError):
    """A source cannot be opened or has failed."""
