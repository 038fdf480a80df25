"""A real three-master Redis Cluster, started by the tests on ports of their own.

``redis_cluster`` starts three ``redis-server --cluster-enabled yes`` processes
on free ports (their cluster bus ports, ``port + 10000``, free too), joins
them with ``redis-cli --cluster create``, waits until every node says
``cluster_state:ok`` and yields a :class:`Cluster`. At the end each process is
stopped by its pid: SIGTERM, then SIGKILL if it lingers.
"""

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from .harness import _unavailable

MASTERS = 3
BUS_OFFSET = 10000  # Redis Cluster's node-to-node port is the client port + 10000
START_TIMEOUT = 30  # seconds for the servers to listen and the cluster to be ok
STOP_TIMEOUT = 10  # seconds a node has to exit after SIGTERM


@dataclass
class Cluster:
    """A running cluster: its nodes' ports and processes, and a URL naming it."""

    ports: list[int]
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f'redis://127.0.0.1:{self.ports[0]}/0?cluster=true'

    def node(self, port: int) -> redis.Redis:
        """A plain client of one node (not cluster-aware: it sees that node's keys only)."""
        return redis.Redis(port=port, socket_connect_timeout=2, socket_timeout=5)

    def nodes(self) -> list[redis.Redis]:
        return [self.node(port) for port in self.ports]

    def flushall(self) -> None:
        """Empty every node, as a Redis that lost its data would be."""
        for node in self.nodes():
            node.flushall()


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(('127.0.0.1', port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` ports free now, whose cluster bus ports are free as well."""
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        if port + BUS_OFFSET <= 65535 and port not in ports and _bindable(port + BUS_OFFSET):
            ports.append(port)
    return ports


def _wait(what: str, ready, timeout: float = START_TIMEOUT) -> None:
    end = time.monotonic() + timeout
    while True:
        try:
            if ready():
                return
        except redis.RedisError:
            pass
        if time.monotonic() > end:
            raise TimeoutError(f'{what} within {timeout} s')
        time.sleep(0.1)


def start(cluster: Cluster, directory: Path) -> None:
    """Start the servers of ``cluster`` and join them; ``stop`` stops them, even after a failure."""
    for port in cluster.ports:
        with open(directory / f'redis-{port}.log', 'wb') as log:  # the server keeps its own copy
            cluster.processes.append(
                subprocess.Popen(
                    [
                        *('redis-server', '--port', str(port), '--bind', '127.0.0.1'),
                        *('--cluster-enabled', 'yes'),
                        *('--cluster-config-file', str(directory / f'nodes-{port}.conf')),
                        *('--save', '', '--appendonly', 'no', '--dir', str(directory)),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    for port, node in zip(cluster.ports, cluster.nodes(), strict=True):
        _wait(f'redis-server on port {port} did not answer', node.ping)
    created = subprocess.run(
        [
            *('redis-cli', '--cluster', 'create'),
            *(f'127.0.0.1:{port}' for port in cluster.ports),
            *('--cluster-replicas', '0', '--cluster-yes'),
        ],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT,
    )
    if created.returncode:
        raise RuntimeError(f'redis-cli --cluster create failed: {created.stdout}{created.stderr}')
    for port, node in zip(cluster.ports, cluster.nodes(), strict=True):
        _wait(
            f'node {port} did not reach cluster_state:ok',
            lambda node=node: node.cluster('info')['cluster_state'] == 'ok',
        )


def stop(cluster: Cluster) -> None:
    """SIGTERM each server by its pid, then SIGKILL the ones still running after a while."""
    for process in cluster.processes:
        if process.poll() is None:
            process.terminate()
    for process in cluster.processes:
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope='module')
def redis_cluster(tmp_path_factory):
    """A running three-master cluster for the module's tests, stopped at the end.

    No redis-server: a skip (a failure under CI=true). A server that is there
    but does not start is always a failure.
    """
    if shutil.which('redis-server') is None or shutil.which('redis-cli') is None:
        _unavailable('Redis Cluster', 'redis-server or redis-cli is not installed')
    cluster = Cluster(free_ports(MASTERS))
    try:
        start(cluster, tmp_path_factory.mktemp('redis-cluster'))
        yield cluster
    finally:
        stop(cluster)
