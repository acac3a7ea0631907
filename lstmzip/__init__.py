"""lstmzip: lossless compression with an online-learning LSTM.

>>> import lstmzip
>>> archive = lstmzip.compress(b"hello hello hello", level="fast")
>>> lstmzip.decompress(archive)
b'hello hello hello'
"""

from lstmzip.codec import compress, decompress
from lstmzip.errors import ArchiveError, LstmzipError

__version__ = "0.1.0"
__all__ = ["ArchiveError", "LstmzipError", "__version__", "compress", "decompress"]
