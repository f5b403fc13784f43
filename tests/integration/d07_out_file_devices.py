"""d07_out_file_devices.py BIZOOPE SRC_DIR WORK_DIR - `--errors` and `--out` never replace
anything but a regular file (review D7):

- a character device made with mknod (a copy of /dev/null, as root; skipped with a message
  otherwise): `validate --errors` and `gen --out` write into it and it stays a device;
- a symbolic link to it (as /dev/stdout is): the same, and the link stays;
- a FIFO with a reader: the error lines arrive through it, and it stays a FIFO; without a
  reader: refused at once (exit 1, a message saying to start the reader), no hang;
- a symbolic link to a regular file: written through, the link stays;
- a socket, a directory: refused with a message naming what they are;
- a run's outbox: an error file name a sender made a link (to a file outside, or to a device)
  is replaced by the error file; the link's target is untouched."""
import os
import shutil
import socket
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, fresh_installation, gen, run_once  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d07_out_file_devices")
inst, config = fresh_installation(bizoope, work, sites=("tokyo",),
                                  edits=(("  listen: 127.0.0.1:8470", "  listen: ''"),))
feed = os.path.join(work, "items_20261124090000.tsv")
counts = gen(bizoope, "items", 200, feed, 7, feed + ".exp", error_rate=0.2)
rejected = counts["rejected_invalid"] + counts["rejected_duplicate"]
check(rejected > 10, "the feed has rejected lines: %r" % counts)


def run(*args, timeout=30):
    """stdout as bytes (error lines quote the feed's bytes), stderr as text."""
    p = subprocess.run([bizoope] + list(args), capture_output=True, timeout=timeout)
    p.stderr = p.stderr.decode(errors="replace")
    return p


def validate_into(target, timeout=30):
    return run("validate", "--quiet", "--errors", target, feed, timeout=timeout)


def kind(path):
    return stat.S_IFMT(os.lstat(path).st_mode)


def leftovers(directory):
    return [n for n in os.listdir(directory) if ".tmp-" in n]


# ---- a character device (a copy of /dev/null) and a link to it ------------------------------
dev = os.path.join(work, "dev")
os.makedirs(dev)
if os.geteuid() == 0:
    null = os.path.join(dev, "null")
    os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    p = validate_into(null)
    check(p.returncode == 0, "validate --errors DEVICE succeeds: %s" % p.stderr)
    check(stat.S_ISCHR(os.lstat(null).st_mode) and os.lstat(null).st_rdev == os.makedev(1, 3),
          "the device node is still the device after validate --errors")
    p = run("gen", "--table", "items", "--rows", "10", "--out", null)
    check(p.returncode == 0, "gen --out DEVICE succeeds: %s" % p.stderr)
    check(stat.S_ISCHR(os.lstat(null).st_mode), "the device node is still a device after gen")
    link = os.path.join(dev, "stdout-like")
    os.symlink(null, link)
    p = validate_into(link)
    check(p.returncode == 0 and stat.S_ISLNK(os.lstat(link).st_mode) and
          stat.S_ISCHR(os.lstat(null).st_mode), "a link to the device: written through, both stay")
    check(leftovers(dev) == [], "no temporary left beside the device: %r" % os.listdir(dev))
else:
    print("d07: not root: the mknod cases are skipped (the link to /dev/null below still runs)")

link = os.path.join(dev, "devnull-link")
os.symlink("/dev/null", link)
p = validate_into(link)
check(p.returncode == 0 and stat.S_ISLNK(os.lstat(link).st_mode) and
      stat.S_ISCHR(os.stat("/dev/null").st_mode), "a link to /dev/null: /dev/null stays a device")

# ---- /dev/stdout: the error lines come out on stdout -------------------------------------------
p = run("validate", "--quiet", "--errors", "/dev/stdout", feed)
check(p.returncode == 0 and p.stdout.count(b"\n") == rejected,
      "--errors /dev/stdout: %d error lines on stdout (got %d): %s"
      % (rejected, p.stdout.count(b"\n"), p.stderr))

# ---- a FIFO: with a reader, and without -----------------------------------------------------
fifo = os.path.join(dev, "pipe")
os.mkfifo(fifo)
p = validate_into(fifo, timeout=20)
check(p.returncode == 1 and "no process is reading this FIFO" in p.stderr and
      "start the reader first" in p.stderr, "a FIFO nobody reads: refused at once: %r" % p.stderr)
# a reader that is there before the writer (opened without waiting for one); the error lines
# (a few kB) fit in the pipe's buffer, so they are read once bizoope is done
reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
p = validate_into(fifo, timeout=30)
received = b""
while True:
    try:
        chunk = os.read(reader, 65536)
    except BlockingIOError:
        break
    if not chunk:
        break
    received += chunk
os.close(reader)
check(p.returncode == 0, "validate --errors FIFO with a reader: %s" % p.stderr)
check(received.count(b"\n") == rejected,
      "the reader got the %d error lines" % rejected)
check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO is still a FIFO")
check(leftovers(dev) == [], "no temporary left beside the FIFO: %r" % os.listdir(dev))

# ---- a link to a regular file: written through -------------------------------------------------
real = os.path.join(work, "real")
os.makedirs(real)
target = os.path.join(real, "errors.tsv")
open(target, "w").write("old\n")
link = os.path.join(dev, "errors-link.tsv")
os.symlink(target, link)
p = validate_into(link)
check(p.returncode == 0 and stat.S_ISLNK(os.lstat(link).st_mode),
      "a link to a regular file stays a link: %s" % p.stderr)
check(open(target, "rb").read().count(b"\n") == rejected,
      "the file it points to holds the error lines")

# ---- a socket and a directory are refused ------------------------------------------------------
sock_path = os.path.join(dev, "sock")
sock = socket.socket(socket.AF_UNIX)
sock.bind(sock_path)
p = validate_into(sock_path)
check(p.returncode == 1 and "is a socket" in p.stderr and
      stat.S_ISSOCK(os.lstat(sock_path).st_mode), "a socket is refused: %r" % p.stderr)
sock.close()
p = validate_into(real)
check(p.returncode == 1 and "is a directory" in p.stderr, "a directory is refused: %r" % p.stderr)

# ---- a run's outbox: links placed by a sender are replaced, never followed --------------------
outbox = os.path.join(inst, "outbox", "tokyo")
secret = os.path.join(work, "secret.txt")
open(secret, "w").write("not the sender's\n")
os.symlink(secret, os.path.join(outbox, "items_20261124090000.tsv.errors.tsv"))
os.symlink("/dev/null", os.path.join(outbox, "items_20261124100000.tsv.errors.tsv"))
shutil.copy(feed, os.path.join(inst, "inbox", "tokyo", "items_20261124090000.tsv"))
feed2 = os.path.join(inst, "inbox", "tokyo", "items_20261124100000.tsv")
gen(bizoope, "items", 100, feed2, 8, os.path.join(work, "feed2.exp"), error_rate=0.2)
reports, _ = run_once(bizoope, config)
check(sorted(r["status"] for r in reports) == ["loaded", "loaded"], "both loaded: %r" % reports)
check(open(secret).read() == "not the sender's\n", "the link's target is untouched")
for name in ("items_20261124090000.tsv.errors.tsv", "items_20261124100000.tsv.errors.tsv"):
    path = os.path.join(outbox, name)
    check(stat.S_ISREG(os.lstat(path).st_mode) and os.path.getsize(path) > 0,
          "%s is now the error file, a regular file" % name)
check(stat.S_ISCHR(os.stat("/dev/null").st_mode), "/dev/null is still a device")

check.finish("devices and FIFOs written in place, links handled, nothing replaced but files")
