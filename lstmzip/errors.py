"""Domain exceptions. The CLI maps every one of them to a one-line message and exit code 1."""


class LstmzipError(Exception):
    """Base class of every error lstmzip raises on purpose."""


class ArchiveError(LstmzipError):
    """The input is not a valid lstmzip archive (or not one this version can read)."""


class NotAnArchiveError(ArchiveError):
    """The input does not start with the lstmzip magic bytes."""


class TruncatedArchiveError(ArchiveError):
    """The archive ends before its last block and checksum."""


class CorruptArchiveError(ArchiveError):
    """A checksum or a field of the archive does not match: the data was damaged."""


class UnsupportedFormatError(ArchiveError):
    """The archive uses a format version, numeric profile or coder this build cannot decode."""


class OutOfMemoryError(ArchiveError):
    """Decoding the archive needs more memory than this machine gives."""


class PresetError(LstmzipError):
    """An unknown level or a malformed preset file."""
