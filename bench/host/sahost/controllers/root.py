from ...common import RootController

__all__ = ['RootController']
