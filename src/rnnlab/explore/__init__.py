"""The interactive gradient explorer: a small web page served from the package (no CDN)."""
from .server import make_server, serve

__all__ = ["make_server", "serve"]
