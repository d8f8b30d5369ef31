#!/usr/bin/python3
"""Runs a command next to a throwaway PostgreSQL cluster, then removes it.

    with_postgres.py -- COMMAND [ARG...]
    with_postgres.py -- functions/study/users-api/users_api.py --listen 127.0.0.1:0

initdb in a fresh temporary directory, a postmaster on a unix socket in that
directory only (no TCP listener: nothing to collide with), trust
authentication, then COMMAND with libpq's environment pointing at it (PGHOST,
PGPORT, PGUSER=postgres, PGDATABASE=postgres; also DATABASE_URL). COMMAND's
stdout and stderr are this script's.

PostgreSQL refuses to run as root: as root the cluster runs as the `postgres`
user (the Debian package creates it), which owns the directory; otherwise as
the caller. On COMMAND's exit, or SIGTERM/SIGINT/SIGHUP, it stops exactly what
it started, by PID: COMMAND (SIGTERM, then SIGKILL), the postmaster (SIGINT, a
fast shutdown; then SIGQUIT, SIGKILL), and removes the directory. Exit status:
COMMAND's, or 1 when the cluster could not start. If this script is killed
with SIGKILL, the postmaster gets SIGQUIT (parent-death signal) and the
directory (/tmp/cwasi-postgres-*) stays.
"""
import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PORT = 5432  # names the socket file only: no TCP listener
START_TIMEOUT = 60
STOP_TIMEOUT = 30


class Stop(Exception):
    pass


def on_signal(signum, frame):
    raise Stop()


def bindir():
    # Debian: /usr/lib/postgresql/<major>/bin, not on PATH. The newest major.
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if found:
        return os.path.dirname(found[-1])
    postgres = shutil.which("postgres")
    if postgres:
        return os.path.dirname(postgres)
    raise RuntimeError("no PostgreSQL server (postgres, initdb): install the postgresql package "
                       "(scripts/setup.sh)")


def die_with_parent(sig):
    # After the credential change (which clears it), so it holds for the child.
    def set_it():
        ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
    return set_it


def wait_for(proc, timeout):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def stop(proc, signals, timeout):
    """Signals `proc` (by its PID, which we reaped nowhere else) in turn until it exits."""
    for sig in signals:
        if proc.poll() is not None:
            return
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            return
        if wait_for(proc, timeout) is not None:
            return
    proc.kill()
    proc.wait()


def main(argv):
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    as_user = {}
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        as_user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    root = tempfile.mkdtemp(prefix="cwasi-postgres-")
    postmaster = command = None
    status = 1
    try:
        if as_user:
            os.chown(root, as_user["user"], as_user["group"])
        data = os.path.join(root, "data")
        log = os.path.join(root, "postgres.log")
        bin_ = bindir()
        subprocess.run([os.path.join(bin_, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
                        "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions"],
                       cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
                       **as_user)
        with open(log, "ab") as out:
            if as_user:
                os.fchown(out.fileno(), as_user["user"], as_user["group"])
            postmaster = subprocess.Popen(
                [os.path.join(bin_, "postgres"), "-D", data, "-k", root, "-p", str(PORT),
                 "-c", "listen_addresses=", "-c", "max_connections=50"],
                cwd=root, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                preexec_fn=die_with_parent(signal.SIGQUIT), **as_user)
        env = dict(os.environ, PGHOST=root, PGPORT=str(PORT), PGUSER="postgres", PGDATABASE="postgres",
                   DATABASE_URL="postgresql://postgres@/postgres?host=%s&port=%d" % (root, PORT))
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if postmaster.poll() is not None:
                raise RuntimeError("postgres exited with status %d:\n%s" % (postmaster.returncode, tail(log)))
            ready = subprocess.run([os.path.join(bin_, "pg_isready"), "-q", "-h", root, "-p", str(PORT)],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if ready.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError("postgres not ready after %ds:\n%s" % (START_TIMEOUT, tail(log)))
            time.sleep(0.05)
        command = subprocess.Popen(argv, env=env, preexec_fn=die_with_parent(signal.SIGTERM))
        status = command.wait()
        if status < 0:  # killed by a signal: as a shell reports it
            status = 128 - status
    except Stop:
        status = 0 if command is None else 128 + signal.SIGTERM
    except subprocess.CalledProcessError as e:
        print("with_postgres: initdb failed: %s" % e.stderr.decode(errors="replace"), file=sys.stderr)
    except (OSError, RuntimeError, KeyError) as e:
        print("with_postgres: %s" % e, file=sys.stderr)
    finally:
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        if command is not None:
            stop(command, [signal.SIGTERM], 5)
        if postmaster is not None:
            stop(postmaster, [signal.SIGINT, signal.SIGQUIT], STOP_TIMEOUT)
        shutil.rmtree(root, ignore_errors=True)
    return status


def tail(path, lines=20):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
