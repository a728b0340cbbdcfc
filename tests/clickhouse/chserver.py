#!/usr/bin/env python3
"""A real ClickHouse for tests: one node, or a cluster of shards, on free loopback ports.

chdb-core (PyPI, pinned 26.9.0) is the ClickHouse 26.9 engine; a process that runs a query which
starts its HTTP and native listeners and then sleeps serves until it is killed. Each node is
such a process, in its own directory holding a `config.xml` (listen host, ports, and for a
cluster the shards under `<remote_servers>` as cluster `vitals`: `Distributed` tables fan
reads out and route inserts by key). Keeper, `Replicated*` tables and `ON CLUSTER` DDL do not
run this way.

    chserver.py [--shards N] [--dir DIR]

prints `node I http://127.0.0.1:PORT tcp=PORT` for each node once every node answers `/ping`,
then `ready`, and serves until its standard input closes or it is sent SIGTERM or SIGINT; then
it stops the nodes and removes their directories (unless --dir was given).
"""

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SERVE = (
    "SYSTEM START LISTEN HTTP; SYSTEM START LISTEN TCP; "
    "SELECT sleepEachRow(1) FROM numbers(86400) "
    "SETTINGS max_block_size=1, function_sleep_max_microseconds_per_block=0 FORMAT Null"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_xml(http_port, tcp_port, shards, query_log):
    # With --query-log, every statement's duration, rows and memory land in system.query_log
    # (for profiling: bench/clickhouse.sh reads it).
    log = (
        "  <query_log><database>system</database><table>query_log</table>"
        "<flush_interval_milliseconds>1000</flush_interval_milliseconds></query_log>\n"
        if query_log
        else ""
    )
    replicas = "".join(
        "<shard><replica><host>127.0.0.1</host><port>%d</port></replica></shard>" % tcp
        for tcp in shards
    )
    return (
        "<clickhouse>\n"
        "  <listen_host>127.0.0.1</listen_host>\n"
        "  <timezone>UTC</timezone>\n"
        "  <http_port>%d</http_port>\n"
        "  <tcp_port>%d</tcp_port>\n"
        "  <remote_servers><vitals>%s</vitals></remote_servers>\n"
        "%s"
        "</clickhouse>\n" % (http_port, tcp_port, replicas, log)
    )


def serve_node(directory):
    """The node process: serve from `directory` until killed."""
    import chdb

    os.chdir(directory)
    chdb._chdb.query(SERVE, "TabSeparated", path=os.path.join(directory, "data"))


def ping(url):
    try:
        with urllib.request.urlopen(url + "/ping", timeout=1) as r:
            return r.status == 200
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--dir")
    parser.add_argument("--query-log", action="store_true", help="keep system.query_log")
    parser.add_argument("--node", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.node:
        serve_node(args.node)
        return
    root = args.dir or tempfile.mkdtemp(prefix="vitals-ch-")
    ports = [(free_port(), free_port()) for _ in range(args.shards)]
    tcp_ports = [tcp for _, tcp in ports] if args.shards > 1 else []
    nodes = []

    def stop(*_):
        for p in nodes:
            if p.poll() is None:
                p.kill()
        for p in nodes:
            p.wait()
        if not args.dir:
            shutil.rmtree(root, ignore_errors=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        for i, (http, tcp) in enumerate(ports):
            directory = os.path.join(root, "node%d" % i)
            os.makedirs(directory, exist_ok=True)
            with open(os.path.join(directory, "config.xml"), "w") as f:
                f.write(config_xml(http, tcp, tcp_ports, args.query_log))
            log = open(os.path.join(directory, "node.log"), "w")
            nodes.append(
                subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "--node", directory],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        urls = ["http://127.0.0.1:%d" % http for http, _ in ports]
        deadline = time.time() + 120
        for i, url in enumerate(urls):
            while not ping(url):
                if nodes[i].poll() is not None or time.time() > deadline:
                    sys.stderr.write("node %d did not start; see %s\n" % (i, root))
                    stop()
                time.sleep(0.2)
        for i, url in enumerate(urls):
            print("node %d %s tcp=%d" % (i, url, ports[i][1]), flush=True)
        print("ready", flush=True)
        while sys.stdin.read(1):
            pass
    finally:
        stop()


if __name__ == "__main__":
    main()
