"""d18_validate_fifo.py BIZOOPE SRC_DIR WORK_DIR - `bizoope validate` never waits on a FIFO
(review D18): it is opened without blocking and refused before anything is read, with exit 1
and a message naming what it is, within seconds - with --no-errors, with an error file, with
--json, with a writer holding the FIFO open, with stderr on a terminal (where the progress
display used to open the file to learn its size), and through a symbolic link. Other files
given with it are still checked, and a character device is refused the same way."""
import os
import pty
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pipeline_lib import Checks, gen  # noqa: E402

bizoope, src, work = sys.argv[1], sys.argv[2], sys.argv[3]
check = Checks("d18_validate_fifo")
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
fifo = os.path.join(work, "journal_20261124090000.tsv")
os.mkfifo(fifo)
feed = os.path.join(work, "items_20261124090000.tsv")
counts = gen(bizoope, "items", 100, feed, 4, feed + ".exp", error_rate=0.1)
REFUSED = "is a FIFO, not a regular file"


def validate(*args, stderr=subprocess.PIPE):
    t0 = time.time()
    try:
        p = subprocess.run([bizoope, "validate"] + list(args), stdout=subprocess.PIPE,
                           stderr=stderr, timeout=20)
    except subprocess.TimeoutExpired:
        return None, "", "", 20.0
    return (p.returncode, p.stdout.decode(errors="replace"),
            (p.stderr or b"").decode(errors="replace"), time.time() - t0)


for args in (["--no-errors"], [], ["--json"], ["--table", "journal", "--threads", "2"]):
    rc, out, err, took = validate(*(args + [fifo]))
    check(rc == 1 and REFUSED in err and took < 10,
          "validate %s FIFO: exit 1 at once with a message (rc %r, %.1f s): %r"
          % (" ".join(args), rc, took, err))
check(sorted(os.listdir(work)) == sorted([os.path.basename(fifo), os.path.basename(feed),
                                          os.path.basename(feed) + ".exp"]),
      "no error file and no temporary left for the FIFO: %r" % os.listdir(work))

# a writer holds the FIFO open: still refused, nothing read from it
writer_r = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
writer = os.open(fifo, os.O_WRONLY)
os.write(writer, b"\n" * 100)
rc, out, err, took = validate("--no-errors", fifo)
check(rc == 1 and REFUSED in err and took < 10, "with a writer: refused (%r): %r" % (rc, err))
check(os.read(writer_r, 1000) == b"\n" * 100, "nothing was read from the FIFO")
os.close(writer)
os.close(writer_r)

# stderr on a terminal: the progress display must not open the FIFO either
master, slave = pty.openpty()
rc, out, err, took = validate("--no-errors", fifo, stderr=slave)
os.close(slave)
text = b""
try:
    while True:
        chunk = os.read(master, 4096)
        if not chunk:
            break
        text += chunk
except OSError:
    pass
os.close(master)
check(rc == 1 and REFUSED.encode() in text and took < 10,
      "stderr on a terminal: refused at once (rc %r, %.1f s): %r" % (rc, took, text))

# through a link; another file given with it is still checked
link = os.path.join(work, "journal_20261124100000.tsv")
os.symlink(fifo, link)
rc, out, err, took = validate("--no-errors", "--json", link, feed)
check(rc == 1 and "journal_20261124100000.tsv " + REFUSED in err and took < 10,
      "a link to the FIFO: refused (%r): %r" % (rc, err))
check('"loaded":%d' % counts["loaded"] in out, "the other file was checked: %r" % out)

# a character device is not a feed either
rc, out, err, took = validate("--no-errors", "--table", "items", "/dev/zero")
check(rc == 1 and "/dev/zero is a character device, not a regular file" in err and took < 10,
      "/dev/zero: refused (%r): %r" % (rc, err))

check.finish("FIFOs and devices refused at once, never read")
