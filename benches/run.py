"""Side-by-side read benchmark: the connector's read path (read-bench) against connectorx and
the database clients' own floor, on TPC-H lineitem in PostgreSQL and MariaDB.

Runs every case once per repetition, round-robin (as ../shared/reference/peer-figures.md
did), each as its own process: wall time and that process's peak RSS (wait4). Prints
medians, and the ratio of each of our cases to connectorx with the same parallelism.
Started by benches/run.sh, which prepares the data and this venv.
"""

import http.server
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = sys.executable
# Release binaries; BENCH_PROFILE=dev (the smoke run) the debug ones the tests built.
PROFILE_DIR = "debug" if os.environ.get("BENCH_PROFILE") == "dev" else "release"
BENCH = os.path.join(ROOT, "target", PROFILE_DIR, "read-bench")
BOOTSTRAP = os.path.join(ROOT, "target", PROFILE_DIR, "bootstrap")
S3S = os.path.join(ROOT, ".venv-bench", "bin", "s3s-fs")
SPILL_BUCKET = "bench-spill"
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


def split_target(conn, n):
    """split_target_bytes making one split, or half the table (run.sh measures it)."""
    return str(10**12) if n == 1 else os.environ["BENCH_SPLIT_BYTES_" + ("PG" if "postgres" in conn else "MY")]


def ours(conn, table, n):
    # One split, or the table cut into n splits (read n at a time).
    return [BENCH, conn, table, split_target(conn, n), str(n)]


def full(conn, table, n, encrypted, block_bytes=None):
    """The whole ReadRecords path, spilling to the local S3 server (read-bench --full);
    blocks of Athena's 16 MB maxBlockSize, or of block_bytes (MAX_BLOCK_SIZE_BYTES)."""
    env = ["env", f"disable_spill_encryption={'false' if encrypted else 'true'}"]
    if block_bytes:
        env.append(f"MAX_BLOCK_SIZE_BYTES={block_bytes}")
    return env + [BENCH, "--full", conn, table, split_target(conn, n), str(n)]


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
    # The same read on tokio's current-thread runtime (no wake-up hand-off between threads).
    c += [
        ("pg", "ours, one thread", 1, ["env", "BENCH_RUNTIME=current_thread"] + ours(PG_CONN, "bench.lineitem", 1)),
        ("my", "ours, one thread", 1, ["env", "BENCH_RUNTIME=current_thread"] + ours(MY_CONN, "bench.lineitem", 1)),
    ]
    if os.environ.get("FULL") == "1":
        c += [
            ("pg", "ours, full Lambda path, encrypted", 1, full(PG_CONN, "bench.lineitem", 1, True)),
            ("pg", "ours, full Lambda path, encrypted", 2, full(PG_CONN, "bench.lineitem", 2, True)),
            ("pg", "ours, full Lambda path, plain", 1, full(PG_CONN, "bench.lineitem", 1, False)),
            ("pg", "ours, full Lambda path, encrypted, 4 MB blocks", 1,
             full(PG_CONN, "bench.lineitem", 1, True, 4 << 20)),
            ("my", "ours, full Lambda path, encrypted", 1, full(MY_CONN, "bench.lineitem", 1, True)),
            ("my", "ours, full Lambda path, encrypted", 2, full(MY_CONN, "bench.lineitem", 2, True)),
        ]
    if shutil.which("psql"):
        c.append(("pg", "psql \\copy binary (floor)", 1, ["psql", PG, "-X", "-q", "-c",
                  "\\copy (SELECT * FROM bench.lineitem) TO '/dev/null' WITH (FORMAT binary)"]))
    if shutil.which("mariadb"):
        c.append(("my", "mariadb --quick (floor)", 1, ["sh", "-c",
                  "mariadb --quick -uathena -pathena -h127.0.0.1 bench -e 'SELECT * FROM lineitem' > /dev/null"]))
    return c


def cpu_seconds(pid):
    """User + system CPU seconds a running process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_measured(cmd, server=None):
    """Wall time, peak RSS (MiB) and user + system CPU seconds of one process, from wait4,
    and the CPU seconds `server` (the S3 server) spent meanwhile."""
    server_before = cpu_seconds(server.pid) if server else 0.0
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
    server_cpu = cpu_seconds(server.pid) - server_before if server else 0.0
    return (wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, out.decode().strip(),
            server_cpu)


def rows_of(tool, out):
    if tool.startswith("ours"):
        return json.loads(out)["rows"]  # null for the full path outside its check
    if tool == "connectorx":
        return int(out)
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3():
    """s3s-fs on loopback over a directory, the spill bucket one of its folders; the
    environment of every later case points the AWS SDK at it."""
    root = os.path.join(ROOT, "target", "bench-s3")
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(os.path.join(root, SPILL_BUCKET))
    port = free_port()
    server = subprocess.Popen([S3S, "--host", "127.0.0.1", "--port", str(port),
                               "--access-key", "bench", "--secret-key", "bench-secret", root],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    os.environ.update({
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1",
        "AWS_S3_FORCE_PATH_STYLE": "true", "spill_bucket": SPILL_BUCKET,
    })
    return server


PING = json.dumps({"@type": "PingRequest", "identity": {
    "id": "UNKNOWN", "principal": "UNKNOWN", "account": "000000000000", "arn": "arn:aws:iam::000000000000:user/bench",
    "tags": {}, "groups": [], "configOptions": {}}, "catalogName": "bench", "queryId": "cold-start"}).encode()


def cold_start():
    """Exec of the release bootstrap to its first Ping response, through a minimal Lambda
    Runtime API on loopback: seconds, and the process's peak RSS (MiB)."""
    answered = threading.Event()
    served = []

    class Api(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if served:  # the runtime asks for the next event: there is none
                answered.wait(10)
                return
            served.append(time.perf_counter())
            self.send_response(200)
            for k, v in [("Lambda-Runtime-Aws-Request-Id", "cold-start"),
                         ("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60000)),
                         ("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench"),
                         ("Content-Type", "application/json"), ("Content-Length", str(len(PING)))]:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(PING)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if b"PingResponse" not in body:
                sys.exit(f"bootstrap answered {body[:300]!r}")
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()
            answered.set()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {"PATH": os.environ["PATH"], "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
           "AWS_LAMBDA_FUNCTION_NAME": "bench", "AWS_LAMBDA_FUNCTION_VERSION": "1",
           "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512", "AWS_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
           "default": "postgres://jdbc:postgresql://127.0.0.1:5432/athena_test?${bench}"}
    start = time.perf_counter()
    p = subprocess.Popen([BOOTSTRAP], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not answered.wait(10):
        p.kill()
        sys.exit("bootstrap gave no Ping response in 10 s")
    took = time.perf_counter() - start
    p.kill()
    _, _, usage = os.wait4(p.pid, 0)
    server.shutdown()
    return took, usage.ru_maxrss / 1024


def stripped_size():
    out = os.path.join(ROOT, "target", "bench-bootstrap-stripped")
    shutil.copy(BOOTSTRAP, out)
    subprocess.run(["strip", out], check=True)
    return os.path.getsize(out)


def main():
    reps = int(os.environ.get("REPS", "5"))
    s3 = start_s3() if os.environ.get("FULL") == "1" else None
    expected = int(os.environ["BENCH_ROWS"])
    results = {}
    s3_cpus = {}  # the S3 server's CPU seconds during each full-path run
    # The full path's blocks are read back and counted once per case, outside the timings.
    for db, tool, n, cmd in cases():
        if tool.startswith("ours, full"):
            out = run_measured(["env", "BENCH_VERIFY=1"] + cmd)[3]
            if rows_of(tool, out) != expected:
                sys.exit(f"{db} {tool} x{n}: {out}, expected {expected} rows")
    for rep in range(reps):
        for db, tool, n, cmd in cases():
            wall, rss, cpu, out, s3_cpu = run_measured(cmd, s3 if tool.startswith("ours, full") else None)
            rows = rows_of(tool, out)
            if rows is not None and rows != expected:
                sys.exit(f"{db} {tool} x{n}: {rows} rows, expected {expected}")
            results.setdefault((db, tool, n), []).append((wall, rss, cpu))
            s3_cpus.setdefault((db, tool, n), []).append(s3_cpu)
        print(f"repetition {rep + 1}/{reps} done", file=sys.stderr)
    if s3:
        s3.terminate()
    csv_mb = int(os.environ["BENCH_CSV_BYTES"]) / 1e6
    print(f"\nTPC-H lineitem SF {os.environ['SF']}: {expected:,} rows, CSV {csv_mb:.1f} MB; "
          f"{reps} repetitions, medians (min-max)\n")
    print("| db | reader | parallel | wall s | rows/s | MB/s (CSV) | client CPU s (user+sys) | CPU µs/row | peak RSS MiB | ratios |")
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
        if tool.startswith("ours, full") and (db, "ours", n) in results:
            read = statistics.median([w for w, _, _ in results[(db, "ours", n)]])
            ratio = (f"{med / read:.2f}x the read path; {csv_mb / n / med:.0f} MB/s per split; "
                     f"S3 server CPU {statistics.median(s3_cpus[(db, tool, n)]):.2f} s")
        print(f"| {db} | {tool} | {n} | {med:.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
              f"{expected / med / 1e6:.2f} M | {csv_mb / med:.0f} | {cpu:.2f} | "
              f"{cpu / expected * 1e6:.2f} | {rss:.0f} | {ratio} |")
    starts = [cold_start() for _ in range(reps)]
    print(f"\nCold start ({PROFILE_DIR} bootstrap, exec to its first Ping response through a Lambda "
          f"Runtime API on loopback; {reps} runs, medians): "
          f"{statistics.median([t for t, _ in starts]) * 1000:.1f} ms, "
          f"peak RSS {statistics.median([r for _, r in starts]):.1f} MiB, "
          f"stripped binary {stripped_size() / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
