"""tinynet: a from-scratch NumPy neural-network library with hand-written backward passes."""

from tinynet.model import History, Sequential

__version__ = "0.1.0"

__all__ = ["History", "Sequential", "__version__"]
