from .root import RootController

__all__ = ['RootController']
