"""Side-by-side read benchmark: the connector's read path (read-bench) against connectorx and
the database clients' own floor, on TPC-H lineitem in PostgreSQL and MariaDB.

Runs every case once per repetition, round-robin (as ../shared/reference/peer-figures.md
did), each as its own process: wall time and that process's peak RSS (wait4). Prints
medians, and the ratio of each of our cases to connectorx with the same parallelism.
Started by benches/run.sh, which prepares the data and this venv.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
BENCH = os.path.join(ROOT, "target", "release", "read-bench")
# Every reader over plaintext loopback (connectorx's default): the connector and psql
# would otherwise negotiate TLS, whose cost falls on the 2 cores the server shares.
PG = "postgresql://athena:athena@127.0.0.1:5432/athena_test?sslmode=disable"
MY = "mysql://athena:athena@127.0.0.1:3306/bench"
PG_CONN = ("postgres://jdbc:postgresql://127.0.0.1:5432/athena_test"
           "?user=athena&password=athena&sslmode=disable")
MY_CONN = "mysql://jdbc:mysql://127.0.0.1:3306/bench?user=athena&password=athena&useSSL=false"


def cx(url, table, n):
    kw = f", partition_on='l_orderkey', partition_num={n}" if n > 1 else ""
    code = (
        "import connectorx as cx\n"
        f"t = cx.read_sql({url!r}, 'SELECT * FROM {table}', return_type='arrow'{kw})\n"
        "print(t.num_rows)"
    )
    return [PY, "-c", code]


def ours(conn, table, n):
    # One split, or the table cut into n splits (read n at a time).
    target = str(10**12) if n == 1 else os.environ["BENCH_SPLIT_BYTES_" + ("PG" if "postgres" in conn else "MY")]
    return [BENCH, conn, table, target, str(n)]


def cases():
    c = [
        ("pg", "ours", 1, ours(PG_CONN, "bench.lineitem", 1)),
        ("pg", "ours", 2, ours(PG_CONN, "bench.lineitem", 2)),
        ("pg", "connectorx", 1, cx(PG, "bench.lineitem", 1)),
        ("pg", "connectorx", 2, cx(PG, "bench.lineitem", 2)),
        ("my", "ours", 1, ours(MY_CONN, "bench.lineitem", 1)),
        ("my", "ours", 2, ours(MY_CONN, "bench.lineitem", 2)),
        ("my", "connectorx", 1, cx(MY, "lineitem", 1)),
        ("my", "connectorx", 2, cx(MY, "lineitem", 2)),
    ]
    if shutil.which("psql"):
        c.append(("pg", "psql \\copy binary (floor)", 1, ["psql", PG, "-X", "-q", "-c",
                  "\\copy (SELECT * FROM bench.lineitem) TO '/dev/null' WITH (FORMAT binary)"]))
    if shutil.which("mariadb"):
        c.append(("my", "mariadb --quick (floor)", 1, ["sh", "-c",
                  "mariadb --quick -uathena -pathena -h127.0.0.1 bench -e 'SELECT * FROM lineitem' > /dev/null"]))
    return c


def run_measured(cmd):
    """Wall time, peak RSS (MiB) and user + system CPU seconds of one process, from wait4."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=dict(os.environ, PGPASSWORD="athena"))
    out = p.stdout.read()
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])}: exit {p.returncode}: {err.decode()[-500:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out.decode().strip()


def rows_of(tool, out):
    if tool == "ours":
        return json.loads(out)["rows"]
    if tool == "connectorx":
        return int(out)
    return None


def main():
    reps = int(os.environ.get("REPS", "5"))
    expected = int(os.environ["BENCH_ROWS"])
    results = {}
    for rep in range(reps):
        for db, tool, n, cmd in cases():
            wall, rss, cpu, out = run_measured(cmd)
            rows = rows_of(tool, out)
            if rows is not None and rows != expected:
                sys.exit(f"{db} {tool} x{n}: {rows} rows, expected {expected}")
            results.setdefault((db, tool, n), []).append((wall, rss, cpu))
        print(f"repetition {rep + 1}/{reps} done", file=sys.stderr)
    csv_mb = int(os.environ["BENCH_CSV_BYTES"]) / 1e6
    print(f"\nTPC-H lineitem SF {os.environ['SF']}: {expected:,} rows, CSV {csv_mb:.1f} MB; "
          f"{reps} repetitions, medians (min-max)\n")
    print("| db | reader | parallel | wall s | rows/s | MB/s (CSV) | client CPU s (user+sys) | CPU µs/row | peak RSS MiB | vs connectorx |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for (db, tool, n), runs in results.items():
        walls = [w for w, _, _ in runs]
        med = statistics.median(walls)
        rss = statistics.median([r for _, r, _ in runs])
        cpu = statistics.median([c for _, _, c in runs])
        ratio = ""
        if tool == "ours" and (db, "connectorx", n) in results:
            peer = results[(db, "connectorx", n)]
            peer_wall = statistics.median([w for w, _, _ in peer])
            peer_rss = statistics.median([r for _, r, _ in peer])
            peer_cpu = statistics.median([c for _, _, c in peer])
            ratio = f"time {med / peer_wall:.2f}x, CPU {cpu / peer_cpu:.2f}x, memory {rss / peer_rss:.2f}x"
        print(f"| {db} | {tool} | {n} | {med:.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
              f"{expected / med / 1e6:.2f} M | {csv_mb / med:.0f} | {cpu:.2f} | "
              f"{cpu / expected * 1e6:.2f} | {rss:.0f} | {ratio} |")


if __name__ == "__main__":
    main()
