"""Metadata lives in pyproject.toml; setup.py stays for the tools that still call it."""

from setuptools import setup

if __name__ == '__main__':
    setup()
