"""Sizes packed: ours and the strict floor's tables, each rebuilt in one pass.

The strict floor's tables are indexed once their rows are loaded; ours grow
by fan-outs in time order, which leaves B-tree pages partly empty (about two
thirds full at the seed size). Rebuilding both on a copy of the database says
how much of the size gap is the layout and how much is the packing. The copy
keeps the loaded database as every run measures it: PostgreSQL copies it
(``CREATE DATABASE ... TEMPLATE``) and rewrites the tables (``VACUUM FULL``:
heap and indexes), SQLite writes a packed copy (``VACUUM INTO``).

Informational only: the size target compares the databases as loaded.
"""

import os
import sqlite3
import tempfile

from .strict import table_bytes

PREFIXES = {'ours': 'activitystream_', 'strict': 'strict_'}


def packed_sizes(backend, url):
    """{'ours': bytes, 'strict': bytes} of the database at ``url``, packed; None if not SQL."""
    if backend == 'sqlite':
        return _sqlite(url.database)
    if backend == 'postgresql':
        return _postgresql(url)
    return None


def _sqlite(path):
    fd, copy = tempfile.mkstemp(suffix='.sqlite')
    os.close(fd)
    os.unlink(copy)  # VACUUM INTO writes a new file
    try:
        conn = sqlite3.connect(path)
        conn.execute('VACUUM INTO ?', (copy,))
        conn.close()
        packed = sqlite3.connect(copy)
        try:
            return {side: table_bytes(packed, True, p) for side, p in PREFIXES.items()}
        finally:
            packed.close()
    finally:
        if os.path.exists(copy):
            os.unlink(copy)


def _postgresql(url):
    """On a copy: the loaded database has no other session (the bench closed its own)."""
    import psycopg2

    def connect(dbname):
        conn = psycopg2.connect(
            host=url.host, port=url.port, user=url.username, password=url.password, dbname=dbname
        )
        conn.autocommit = True
        return conn

    copy = f'{url.database}_packed'
    admin = connect('postgres')
    try:
        cur = admin.cursor()
        cur.execute(f'DROP DATABASE IF EXISTS {copy}')
        cur.execute(f'CREATE DATABASE {copy} TEMPLATE {url.database}')
        try:
            conn = connect(copy)
            try:
                cur = conn.cursor()
                for prefix in PREFIXES.values():
                    cur.execute(
                        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE %s",
                        (prefix.replace('_', '\\_') + '%',),
                    )
                    for (table,) in cur.fetchall():
                        cur.execute(f'VACUUM FULL {table}')
                return {side: table_bytes(conn, False, p) for side, p in PREFIXES.items()}
            finally:
                conn.close()
        finally:
            cur = admin.cursor()
            cur.execute(f'DROP DATABASE IF EXISTS {copy}')
    finally:
        admin.close()
